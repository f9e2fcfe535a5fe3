"""Background work of follow-up actions: the reminders fan-out."""

import smtplib

from celery import shared_task

from postmortems.selectors.reminders import action_item_reminders_pending
from postmortems.services.reminders import action_item_remind


@shared_task(ignore_result=True)
def start_action_reminders() -> int:
    """Queue one reminder task per action item whose owner needs a reminder now; return how many."""
    item_ids = action_item_reminders_pending()
    for item_id in item_ids:
        send_action_reminder.delay(item_id)
    return len(item_ids)


@shared_task(
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_action_reminder(item_id: int) -> bool:
    """Send the item's owner the reminder it needs now; a retry or a second run sends nothing twice."""
    return action_item_remind(item_id=item_id) is not None
