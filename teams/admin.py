"""The admin of teams and their memberships."""

from django.contrib import admin

from teams.models import DigestPreference, DigestSend, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "digest_weekday", "digest_hour"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]


@admin.register(DigestSend)
class DigestSendAdmin(admin.ModelAdmin):
    """Who got which week's digest, and why a send failed: for support, read-only."""

    list_display = ["week", "email", "status", "attempts", "claimed_at", "sent_at"]
    list_filter = ["status", "week"]
    search_fields = ["email", "recipient__username"]
    readonly_fields = [field.name for field in DigestSend._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DigestPreference)
class DigestPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "enabled", "unsubscribed_at", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["followed_teams"]
