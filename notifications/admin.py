"""Admin of notifications: read-only, since every write goes through the services (claims, dedupe, secrets)."""

from django.contrib import admin

from notifications.models import Channel, EmailPreference, Event, Follow, Notification, NotificationSend


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "team", "incident", "repeats", "occurred_at", "dispatched_at")
    list_filter = ("kind", "team")
    search_fields = ("dedupe_key",)


@admin.register(NotificationSend)
class NotificationSendAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "channel", "user", "status", "attempts", "response_code", "next_attempt_at")
    list_filter = ("status", "channel__kind")


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "kind", "active", "created_at")
    list_filter = ("kind", "active", "team")
    exclude = ("secret",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "event", "direct", "created_at", "read_at")
    list_filter = ("direct",)


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "when")


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "incident", "created_at")
    raw_id_fields = ("user", "incident")
