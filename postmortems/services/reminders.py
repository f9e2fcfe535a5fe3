"""Reminder emails to the owners of action items that are due soon or overdue."""

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.models import EventKind
from notifications.services.events import notify_event
from notifications.services.sends import email_wanted
from postmortems.models import ActionItem, ReminderKind, ReminderSend
from postmortems.selectors.reminders import local_now, reminder_due

EVENT_FOR_REMINDER = {
    ReminderKind.DUE_SOON: EventKind.ACTION_ITEM_DUE_SOON,
    ReminderKind.OVERDUE: EventKind.ACTION_ITEM_OVERDUE,
}
EMAIL_TEMPLATES = {ReminderKind.DUE_SOON: "emails/action_due_soon", ReminderKind.OVERDUE: "emails/action_overdue"}


def _render_email(*, template: str, context: dict, to: str) -> EmailMultiAlternatives:
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject=subject, body=render_to_string(f"{template}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _context(item: ActionItem, *, kind: str, today) -> dict:
    return {
        "item": item,
        "kind": kind,
        "owner_name": item.owner.first_name or item.owner.get_full_name() or item.owner.username,
        "days_left": (item.due_date - today).days,
        "days_late": (today - item.due_date).days,
        "item_url": f"{settings.SITE_URL}{item.get_absolute_url()}",
        "my_actions_url": f"{settings.SITE_URL}{reverse('postmortems:actions')}",
        "incident_closed": item.incident.status == "closed",
    }


def action_item_remind(*, item_id: int, now: datetime | None = None) -> ReminderSend | None:
    """Send the item's owner the reminder it needs now, at most once per item, kind and period.

    Return the ReminderSend recorded, or None when nothing was due or it was
    already sent. The record is inserted and the email sent in one transaction:
    the unique constraint on (item, kind, period) makes a concurrent or repeated
    run (a task retry) stop before sending, and a failed send rolls the record
    back so that the retry sends it. SMTP errors propagate to the caller.
    """
    now = now or timezone.now()
    item = ActionItem.objects.select_related("owner", "team", "incident").filter(pk=item_id).first()
    if item is None or not item.owner.email:
        return None
    due = reminder_due(due_date=item.due_date, status=item.status, team_timezone=item.team.timezone, now=now)
    if due is None:
        return None
    kind, period = due
    if ReminderSend.objects.filter(item=item, kind=kind, period=period).exists():
        return None
    today = local_now(now=now, team_timezone=item.team.timezone).date()
    message = _render_email(
        template=EMAIL_TEMPLATES[kind], context=_context(item, kind=kind, today=today), to=item.owner.email
    )
    try:
        with transaction.atomic():
            send = ReminderSend.objects.create(
                item=item, kind=kind, period=period, recipient=item.owner, email=item.owner.email, sent_at=now
            )
            # In the app and the team's channels; the email is this reminder (see EMAILED_BY_REMINDERS).
            notify_event(kind=EVENT_FOR_REMINDER[kind], action_item=item, key=period.isoformat(), at=now)
            if email_wanted(user=item.owner, kind=EVENT_FOR_REMINDER[kind], direct=True):
                message.send()
    except IntegrityError:
        return None
    return send
