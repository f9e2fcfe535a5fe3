"""Game-day reminders: once per person and start, through a real SMTP server, fanned out by a real worker."""

import time
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller

from experiments.models import GameDay, GameDayReminder
from experiments.selectors import game_day_reminders_pending
from experiments.services.game_days import game_day_start, game_day_update
from experiments.services.reminders import game_day_remind
from tests.experiments.conftest import NOW
from tests.factories import UserFactory
from tests.mail import Inbox, free_port, use_smtp_server

pytestmark = pytest.mark.django_db

WINDOW = timedelta(hours=24)


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp_server(settings, controller.port)
    handler.port = controller.port
    yield handler
    controller.stop()


def test_facilitator_and_participants_are_pending_only_within_the_window(game_day, facilitator, member):
    assert game_day_reminders_pending(now=NOW, window=WINDOW) == sorted(
        [(game_day.pk, facilitator.pk), (game_day.pk, member.pk)]
    )
    assert game_day_reminders_pending(now=NOW - timedelta(hours=1), window=WINDOW) == []
    assert game_day_reminders_pending(now=game_day.scheduled_at, window=WINDOW) == []  # it has started


def test_reminder_is_sent_once_per_person_and_start(game_day, member, inbox, frozen):
    frozen.move_to(game_day.scheduled_at - timedelta(hours=3))
    assert game_day_remind(game_day_id=game_day.pk, user_id=member.pk) is not None
    assert game_day_remind(game_day_id=game_day.pk, user_id=member.pk) is None
    (recipients, message), *rest = inbox.wait_for(1)
    assert rest == [] and recipients == [member.email]
    assert message["Subject"] == "Game day Wed 11 Mar 12:00 UTC: Stale features in the fraud scorer"
    body = message.get_body(("plain",)).get_content()
    assert "Abort at once if: Precision below 0.8 for 2 minutes." in body
    assert f"/game-days/{game_day.pk}/" in body
    # Moved to another time: everyone hears of the new start.
    game_day_update(game_day=game_day, actor=member, scheduled_at=game_day.scheduled_at + timedelta(hours=2))
    assert game_day_remind(game_day_id=game_day.pk, user_id=member.pk) is not None
    assert GameDayReminder.objects.filter(user=member).count() == 2


def test_a_failed_send_records_nothing_so_the_retry_sends(game_day, member, inbox, settings, frozen):
    frozen.move_to(game_day.scheduled_at - timedelta(hours=3))
    settings.EMAIL_PORT = free_port()  # nobody listens there
    with pytest.raises(OSError):
        game_day_remind(game_day_id=game_day.pk, user_id=member.pk)
    assert not GameDayReminder.objects.exists()
    settings.EMAIL_PORT = inbox.port
    assert game_day_remind(game_day_id=game_day.pk, user_id=member.pk) is not None
    assert len(inbox.wait_for(1)) == 1


def test_started_game_day_and_hidden_restricted_one_send_nothing(game_day, facilitator, inbox, frozen):
    frozen.move_to(game_day.scheduled_at - timedelta(hours=3))
    stranger = UserFactory(username="stranger")
    game_day.participants.add(stranger)
    GameDay.objects.filter(pk=game_day.pk).update(restricted=True)
    assert (game_day.pk, stranger.pk) not in game_day_reminders_pending(now=NOW, window=WINDOW)
    assert game_day_remind(game_day_id=game_day.pk, user_id=stranger.pk) is None
    game_day_start(game_day=game_day, actor=facilitator)
    assert game_day_remind(game_day_id=game_day.pk, user_id=facilitator.pk) is None
    time.sleep(0.3)
    assert inbox.messages == []


@pytest.mark.django_db(transaction=True)
def test_beat_task_fans_out_and_a_second_run_sends_nothing_twice(game_day, facilitator, member, inbox):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from experiments.tasks import start_game_day_reminders

    with time_machine.travel(game_day.scheduled_at - timedelta(hours=2), tick=True):
        app.control.purge()
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
            start_game_day_reminders.delay()
            messages = inbox.wait_for(2, timeout=30)
            assert sorted(recipients[0] for recipients, _ in messages) == sorted([facilitator.email, member.email])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and GameDayReminder.objects.count() < 2:
                time.sleep(0.05)
            # A second run finds everyone reminded of this start: it queues nothing.
            assert start_game_day_reminders() == 0
    assert len(inbox.messages) == 2
    assert GameDayReminder.objects.count() == 2
