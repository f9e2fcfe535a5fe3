"""Run what the worker would run, in the test's thread: dispatch the events, attempt the sends due."""

from datetime import datetime

from django.utils import timezone

from notifications.models import Event, NotificationSend, SendStatus
from notifications.services.sends import event_dispatch, send_deliver


def dispatch_all(now: datetime | None = None) -> None:
    for event_id in Event.objects.filter(dispatched_at__isnull=True).order_by("pk").values_list("pk", flat=True):
        event_dispatch(event_id=event_id, now=now)


def deliver_due(now: datetime | None = None) -> list[NotificationSend]:
    """Attempt every send due at ``now``; return them as they were recorded."""
    now = now or timezone.now()
    ids = (
        NotificationSend.objects.filter(status__in=[SendStatus.PENDING, SendStatus.RETRYING], next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [send for send in (send_deliver(send_id=send_id, now=now) for send_id in list(ids)) if send is not None]


def run_all(now: datetime | None = None) -> list[NotificationSend]:
    dispatch_all(now)
    return deliver_due(now)
