"""Shared pieces of the admin."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show records for support and investigation without a way to change them.

    Used for records that only services change: a save or delete here would skip what the service does
    (timeline entries, search index, caches of the webhook edge, notifications), so the admin only reads.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """The rows a read-only record owns (its timeline, its traffic steps), listed under it, never edited."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False
