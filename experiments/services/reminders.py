"""Reminder emails to the facilitator and participants of a game day before it starts."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from experiments.models import GameDay, GameDayReminder, GameDayState
from experiments.selectors import game_day_get_visible

TEMPLATE = "emails/game_day_reminder"


def _render(*, game_day: GameDay, person, to: str) -> EmailMultiAlternatives:
    context = {
        "game_day": game_day,
        "name": person.first_name or person.get_full_name() or person.username,
        "is_facilitator": game_day.facilitator_id == person.pk,
        "url": f"{settings.SITE_URL}{game_day.get_absolute_url()}",
    }
    subject = " ".join(render_to_string(f"{TEMPLATE}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject=subject, body=render_to_string(f"{TEMPLATE}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"{TEMPLATE}.html", context), "text/html")
    return message


def game_day_remind(*, game_day_id: int, user_id: int, now: datetime | None = None) -> GameDayReminder | None:
    """Remind one person of a planned game day, at most once for each time it is scheduled at.

    Return the GameDayReminder recorded, or None when the game day no longer
    needs it (started, moved out of the window, hidden from the person) or it
    was already sent. The record is inserted and the email sent in one
    transaction: the unique constraint on (game day, person, start) stops a
    concurrent or repeated run before sending, and a failed send rolls the
    record back so that a retry sends it. SMTP errors propagate to the caller.
    """
    now = now or timezone.now()
    game_day = GameDay.objects.select_related("team", "model", "facilitator").filter(pk=game_day_id).first()
    person = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if game_day is None or person is None or not person.email:
        return None
    if game_day.state != GameDayState.PLANNED or game_day.scheduled_at <= now:
        return None
    if game_day.restricted and game_day_get_visible(user=person, pk=game_day.pk) is None:
        return None
    scheduled_for = game_day.scheduled_at
    if GameDayReminder.objects.filter(game_day=game_day, user=person, scheduled_for=scheduled_for).exists():
        return None
    message = _render(game_day=game_day, person=person, to=person.email)
    try:
        with transaction.atomic():
            reminder = GameDayReminder.objects.create(
                game_day=game_day, user=person, scheduled_for=scheduled_for, email=person.email, sent_at=now
            )
            message.send()
    except IntegrityError:
        return None
    return reminder
