"""Celery tasks of notifications. Each takes ids, is safe to run twice, and calls a service."""

from celery import shared_task

from notifications.services.sends import event_dispatch, notifications_sweep, send_deliver


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def events_dispatch_task(event_ids: list[int]) -> None:
    """Write each event's notifications and sends (once), then queue the sends; one task per transaction's events."""
    for event_id in event_ids:
        event_dispatch(event_id=event_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_deliver_task(send_id: int) -> None:
    """Attempt one send if it is due and unclaimed; a failure queues its own retry."""
    send_deliver(send_id=send_id)


@shared_task(ignore_result=True)
def start_notifications_sweep() -> int:
    """Queue the events and sends left waiting (broker down, worker lost)."""
    return notifications_sweep()
