"""Background work of game days: the reminders fan-out."""

import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from experiments.selectors import game_day_reminders_pending
from experiments.services.reminders import game_day_remind


@shared_task(ignore_result=True)
def start_game_day_reminders() -> int:
    """Queue one reminder task per person to remind of a game day starting soon; return how many."""
    window = timedelta(hours=settings.GAME_DAY_REMINDER_HOURS)
    pending = game_day_reminders_pending(now=timezone.now(), window=window)
    for game_day_id, user_id in pending:
        send_game_day_reminder.delay(game_day_id, user_id)
    return len(pending)


@shared_task(
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_game_day_reminder(game_day_id: int, user_id: int) -> bool:
    """Remind one person of a game day; a retry or a second run sends nothing twice."""
    return game_day_remind(game_day_id=game_day_id, user_id=user_id) is not None
