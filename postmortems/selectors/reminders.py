"""When an action item's owner should hear about it, and which reminders are still to send."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from postmortems.models import UNRESOLVED_STATUSES, ActionItem, ReminderKind, ReminderSend

# The latest local date anywhere is UTC+14 (Kiribati).
LATEST_UTC_OFFSET = timedelta(hours=14)


def local_now(*, now: datetime, team_timezone: str) -> datetime:
    """Return ``now`` in the team's time zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(team_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localtime(now, zone)


def reminder_due(*, due_date: date, status: str, team_timezone: str, now: datetime) -> tuple[str, date] | None:
    """Return the (kind, period) of the reminder an item needs at ``now``, or None.

    Nothing is sent for resolved items, nor before ACTION_ITEM_REMINDER_HOUR in
    the team's time zone. "Due soon" covers the ACTION_ITEM_DUE_SOON_DAYS before
    the due date (one reminder per due date); "overdue" repeats every seven
    days from the day after the due date, whatever the incident's status.
    """
    if status not in UNRESOLVED_STATUSES:
        return None
    local = local_now(now=now, team_timezone=team_timezone)
    if local.hour < settings.ACTION_ITEM_REMINDER_HOUR:
        return None
    today = local.date()
    if due_date < today:
        first_late_day = due_date + timedelta(days=1)
        weeks_late = (today - first_late_day).days // 7
        return ReminderKind.OVERDUE, first_late_day + timedelta(weeks=weeks_late)
    window = settings.ACTION_ITEM_DUE_SOON_DAYS
    if (due_date - today).days <= window:
        return ReminderKind.DUE_SOON, due_date - timedelta(days=window)
    return None


def action_item_reminders_pending(*, now: datetime | None = None) -> list[int]:
    """Return ids of the items whose owner needs a reminder now and has not had it yet."""
    now = now or timezone.now()
    # Due within the window of the latest local date anywhere, or overdue.
    until = (now + LATEST_UTC_OFFSET).date() + timedelta(days=settings.ACTION_ITEM_DUE_SOON_DAYS)
    candidates = ActionItem.objects.filter(status__in=UNRESOLVED_STATUSES, due_date__lte=until)
    due = {}
    for item_id, due_date, status, team_timezone in candidates.values_list(
        "id", "due_date", "status", "team__timezone"
    ):
        reminder = reminder_due(due_date=due_date, status=status, team_timezone=team_timezone, now=now)
        if reminder is not None:
            due[item_id] = reminder
    if not due:
        return []
    earliest_period = min(period for _, period in due.values())
    sent = set(
        ReminderSend.objects.filter(
            item__status__in=UNRESOLVED_STATUSES, item__due_date__lte=until, period__gte=earliest_period
        ).values_list("item_id", "kind", "period")
    )
    return sorted(item_id for item_id, (kind, period) in due.items() if (item_id, kind, period) not in sent)
