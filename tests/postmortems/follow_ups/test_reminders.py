"""Reminder emails: when they are due, sent once per period through a real SMTP server, fanned out by a real worker."""

import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection

from incidents.models import IncidentStatus
from incidents.services.incidents import incident_transition
from postmortems.models import ReminderKind, ReminderSend
from postmortems.selectors.reminders import action_item_reminders_pending, reminder_due
from postmortems.services.actions import action_item_set_status
from postmortems.services.postmortems import postmortem_mark_not_needed
from postmortems.services.reminders import action_item_remind
from tests.factories import ActionItemFactory
from tests.postmortems.follow_ups.conftest import NOW, open_incident

DUE = date(2026, 3, 20)  # the Friday after NOW


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.original_content, policy=policy.default))
            )
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        return list(self.messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbox(settings):
    """A real SMTP server on loopback, and Django sending to it."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    handler.port = controller.port
    yield handler
    controller.stop()


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# When a reminder is due -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(DUE - timedelta(days=8)), None),
        (at(DUE - timedelta(days=7)), (ReminderKind.DUE_SOON, DUE - timedelta(days=7))),
        (at(DUE), (ReminderKind.DUE_SOON, DUE - timedelta(days=7))),
        (at(DUE + timedelta(days=1)), (ReminderKind.OVERDUE, DUE + timedelta(days=1))),
        (at(DUE + timedelta(days=7)), (ReminderKind.OVERDUE, DUE + timedelta(days=1))),
        (at(DUE + timedelta(days=8)), (ReminderKind.OVERDUE, DUE + timedelta(days=8))),
        (at(DUE + timedelta(days=60)), (ReminderKind.OVERDUE, DUE + timedelta(days=57))),
        # Before 08:00 in the team's time zone nothing is sent yet.
        (at(DUE + timedelta(days=1), hour=7), None),
    ],
)
def test_reminder_due_per_period(now, expected):
    assert reminder_due(due_date=DUE, status="open", team_timezone="UTC", now=now) == expected


def test_reminders_follow_the_teams_clock():
    # 07:30 UTC is 16:30 in Tokyo, and 02:30 in New York.
    now = datetime(2026, 3, 21, 7, 30, tzinfo=UTC)
    assert reminder_due(due_date=DUE, status="open", team_timezone="Asia/Tokyo", now=now)[0] == ReminderKind.OVERDUE
    assert reminder_due(due_date=DUE, status="open", team_timezone="America/New_York", now=now) is None
    assert reminder_due(due_date=DUE, status="open", team_timezone="Not/AZone", now=now) is None


@pytest.mark.parametrize("status", ["done", "wont_do"])
def test_resolved_items_get_no_reminder(status):
    assert reminder_due(due_date=DUE, status=status, team_timezone="UTC", now=at(DUE + timedelta(days=3))) is None


# Sending through a real SMTP server --------------------------------------------------------------


@pytest.fixture
def item(frozen, team, lead, member):
    incident = open_incident(team, actor=lead)
    return ActionItemFactory(
        incident=incident, owner=member, due_date=DUE, title="Alert on stale merchant features", priority="P1"
    )


@pytest.mark.django_db
def test_due_soon_email_goes_to_the_owner_once(item, member, inbox):
    send = action_item_remind(item_id=item.pk)
    assert (send.kind, send.period, send.recipient) == ("due_soon", DUE - timedelta(days=7), member)
    recipients, message = inbox.wait_for(1)[0]
    assert recipients == [member.email]
    assert message["Subject"] == "Due in 4 days: Alert on stale merchant features"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"/actions/{item.pk}/" in text and f"/actions/{item.pk}/" in html
    assert "The monitor fires in the staging drill" in text
    # Run again (a retry, a second beat): nothing more is sent.
    assert action_item_remind(item_id=item.pk) is None
    time.sleep(0.3)
    assert len(inbox.messages) == 1
    assert ReminderSend.objects.count() == 1


@pytest.mark.django_db
def test_subjects_and_plain_text_show_the_title_as_written(item, inbox, frozen):
    item.title = "Gate the canary's rollout on p99 < 2 s & error rate"
    item.save(update_fields=["title"])
    action_item_remind(item_id=item.pk)
    frozen.move_to(at(DUE + timedelta(days=1)))
    action_item_remind(item_id=item.pk)
    for _, message in inbox.wait_for(2):
        assert message["Subject"].endswith(": Gate the canary's rollout on p99 < 2 s & error rate")
        assert "Gate the canary's rollout on p99 < 2 s & error rate" in message.get_body(("plain",)).get_content()
        assert "canary&#x27;s" in message.get_body(("html",)).get_content()


@pytest.mark.django_db
def test_overdue_reminders_repeat_weekly_even_when_the_incident_is_closed(item, lead, inbox, frozen):
    incident = item.incident
    incident_transition(incident=incident, to_status=IncidentStatus.RESOLVED, actor=lead)
    postmortem_mark_not_needed(incident=incident, actor=lead, reason="Covered by the weekly review.")
    incident_transition(incident=incident, to_status=IncidentStatus.CLOSED, actor=lead)
    sent = []
    for days_late in range(1, 23):
        frozen.move_to(at(DUE + timedelta(days=days_late)))
        if action_item_remind(item_id=item.pk):
            sent.append(days_late)
    assert sent == [1, 8, 15, 22]
    messages = inbox.wait_for(4)
    assert [message["Subject"] for _, message in messages] == [
        f"Overdue by {days} day{'s' if days > 1 else ''}: Alert on stale merchant features" for days in sent
    ]
    assert "The incident is closed" in messages[0][1].get_body(("plain",)).get_content()


@pytest.mark.django_db
def test_resolving_stops_reminders(item, member, inbox, frozen):
    frozen.move_to(at(DUE + timedelta(days=1)))
    assert action_item_remind(item_id=item.pk)
    action_item_set_status(item=item, actor=member, status="done")
    frozen.move_to(at(DUE + timedelta(days=8)))
    assert action_item_remind(item_id=item.pk) is None
    assert len(inbox.wait_for(1)) == 1


@pytest.mark.django_db
def test_a_failed_send_records_nothing_so_the_retry_sends(item, settings, inbox):
    settings.EMAIL_PORT = free_port()  # nobody listens there
    with pytest.raises(OSError):
        action_item_remind(item_id=item.pk)
    assert not ReminderSend.objects.exists()
    settings.EMAIL_PORT = inbox.port
    assert action_item_remind(item_id=item.pk) is not None
    assert len(inbox.wait_for(1)) == 1


@pytest.mark.django_db
def test_a_send_already_recorded_is_never_repeated(item, member, inbox):
    # As when a worker dies after committing the record: the retry finds it and sends nothing.
    ReminderSend.objects.create(
        item=item, kind="due_soon", period=DUE - timedelta(days=7), recipient=member, email=member.email, sent_at=NOW
    )
    assert action_item_remind(item_id=item.pk) is None
    time.sleep(0.3)
    assert inbox.messages == []


@pytest.mark.django_db
def test_missing_item_or_email_sends_nothing(item, member, inbox):
    assert action_item_remind(item_id=10**9) is None
    member.email = ""
    member.save()
    assert action_item_remind(item_id=item.pk) is None


@pytest.mark.django_db
def test_pending_lists_only_items_needing_a_reminder_now(frozen, team, lead, member):
    incident = open_incident(team, actor=lead)
    soon = ActionItemFactory(incident=incident, owner=member, due_date=DUE)
    ActionItemFactory(incident=incident, owner=member, due_date=DUE + timedelta(days=30))
    done = ActionItemFactory(incident=incident, owner=member, due_date=DUE)
    action_item_set_status(item=done, actor=member, status="done")
    reminded = ActionItemFactory(incident=incident, owner=member, due_date=DUE)
    ReminderSend.objects.create(
        item=reminded,
        kind="due_soon",
        period=DUE - timedelta(days=7),
        recipient=member,
        email="x@example.com",
        sent_at=NOW,
    )
    assert action_item_reminders_pending(now=NOW) == [soon.pk]
    # A week after the due date, the reminded item needs its overdue reminder.
    assert action_item_reminders_pending(now=at(DUE + timedelta(days=1))) == sorted([soon.pk, reminded.pk])


# The fan-out, through a real broker and worker ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_start_action_reminders_fans_out_one_task_per_item(team, lead, member, inbox):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from postmortems.tasks import start_action_reminders

    with time_machine.travel(NOW, tick=False):
        incident = open_incident(team, actor=lead)
        items = [
            ActionItemFactory(incident=incident, owner=member, due_date=DUE, title=f"Follow-up {n}") for n in range(3)
        ]
        ActionItemFactory(incident=incident, owner=member, due_date=DUE + timedelta(days=40), title="Later")
    # Two days before the due date: the three items are due soon, the fourth is not.
    with time_machine.travel(at(DUE - timedelta(days=2)), tick=True):
        app.control.purge()
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
            start_action_reminders.delay()
            messages = inbox.wait_for(3, timeout=30)
            assert sorted(message["Subject"] for _, message in messages) == [
                f"Due in 2 days: Follow-up {n}" for n in range(3)
            ]
            assert {recipients[0] for recipients, _ in messages} == {member.email}
            # A second run queues nothing new: every reminder of the period is recorded.
            start_action_reminders.delay()
            time.sleep(3)
    assert len(inbox.messages) == 3
    assert set(ReminderSend.objects.values_list("item_id", flat=True)) == {item.pk for item in items}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="in-memory SQLite test databases refuse a second writer instead of making it wait; runs on PostgreSQL",
)
def test_two_workers_reminding_at_once_send_one_email(item, inbox):
    barrier = threading.Barrier(2)
    outcomes = []

    def remind():
        try:
            barrier.wait()
            outcomes.append(action_item_remind(item_id=item.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=remind) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert ReminderSend.objects.count() == 1
    time.sleep(0.5)
    assert len(inbox.messages) == 1
