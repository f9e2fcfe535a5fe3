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
