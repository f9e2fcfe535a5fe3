"""Background work of teams: the weekly digest's hourly fan-out and one task per recipient."""

import smtplib

from celery import shared_task
from django.utils import timezone

from teams.digest.schedule import IsoWeek, team_due_week
from teams.digest.selectors import digest_recipients_due
from teams.digest.services import digest_deliver
from teams.models import Team


@shared_task(ignore_result=True)
def start_weekly_digests() -> int:
    """Queue one digest task per recipient of each team whose digest is due now; return how many.

    Run hourly by beat. A team is due from its local weekday and hour for a few
    hours (a missed beat is made up); recipients already claimed for the week
    are not queued again, and a doubled beat's second queueing sends nothing.
    """
    now = timezone.now()
    queued = 0
    for team in Team.objects.only("id", "timezone", "digest_weekday", "digest_hour").order_by("id"):
        week = team_due_week(team=team, now=now)
        if week is None:
            continue
        for user_id in digest_recipients_due(team=team, week=week):
            send_weekly_digest.delay(user_id, str(week))
            queued += 1
    return queued


@shared_task(
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_weekly_digest(user_id: int, week: str) -> str:
    """Send one person's digest of the ISO week; a retry or a second task sends nothing twice."""
    return digest_deliver(user_id=user_id, week=IsoWeek.parse(week)).value
