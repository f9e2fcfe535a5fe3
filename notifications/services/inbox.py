"""A person's notices in the app: read one, read all; and their email choices."""

from django.db import transaction
from django.utils import timezone

from notifications.models import EmailPreference, EmailWhen, EventKind, Notification


def notification_mark_read(*, notification: Notification, user) -> Notification:
    """Mark one of the user's notifications read (again is harmless); the caller found it among theirs."""
    if notification.user_id != user.pk:
        raise Notification.DoesNotExist
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notification_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; return how many were."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


EMAIL_WHEN_UNKNOWN = "Choose one of: {allowed}."


@transaction.atomic
def email_preferences_set(*, user, choices: dict[str, str]) -> None:
    """Record when the user wants each kind of event by email; raise ValueError for an unknown kind or choice."""
    for kind, when in choices.items():
        if kind not in EventKind.values:
            raise ValueError(f"Unknown event {kind!r}.")
        if when not in EmailWhen.values:
            raise ValueError(EMAIL_WHEN_UNKNOWN.format(allowed=", ".join(EmailWhen.values)))
        EmailPreference.objects.update_or_create(user=user, kind=kind, defaults={"when": when})
