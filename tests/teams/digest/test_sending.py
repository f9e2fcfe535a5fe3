"""Sending digests through a real SMTP server: the email as it arrives, unsubscribing, exactly once, failures."""

import re
import smtplib
from urllib.parse import urlsplit

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.test import Client

from teams.digest.models import DigestPreference, DigestSend, DigestSendStatus
from teams.digest.schedule import IsoWeek
from teams.digest.services import DigestOutcome, digest_deliver
from teams.tasks import send_weekly_digest
from tests.factories import IncidentFactory, MembershipFactory, TeamFactory, UserFactory
from tests.teams.digest.conftest import NOW, WEEK, at

SITE = "https://kintsugi.example.com"


def deliver(user, week: str = WEEK) -> DigestOutcome:
    return digest_deliver(user_id=user.pk, week=IsoWeek.parse(week))


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


@pytest.mark.django_db
def test_the_digest_arrives_as_plain_text_and_html_with_absolute_links(org, frozen, inbox):
    assert deliver(org.priya) == DigestOutcome.SENT

    [message] = inbox.to(org.priya.email)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "Priya Raman <priya@example.com>"
    assert message["Subject"] == "Kintsugi week 50: 2 post-mortems to learn from, 3 things need you"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Long header lines are folded; mail programs read the value without the folding space.
    assert re.fullmatch(rf"<{SITE}/digest/unsubscribe/[^/>]+/>", message["List-Unsubscribe"].strip())
    assert message["X-Kintsugi-Digest-Week"] == WEEK
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]

    # The text part is not HTML: titles keep their ampersands; the HTML part escapes them.
    assert "Scores & thresholds: the v14 drift" in text and "&amp;" not in text
    assert "Scores &amp; thresholds: the v14 drift" in html
    for part in (text, html):
        assert "Backfill the drift monitor" in part and "Feature store timeouts under load" in part
        assert "Private listings" not in part  # restricted to Recommendations
    assert "Time to restore" in text and "Change failure rate: 40% of 5 deployments (0%)" in text
    # Every link is absolute, to the site; nothing is loaded from elsewhere, nothing runs.
    assert links(html) and all(link.startswith(f"{SITE}/") for link in links(html))
    assert f"{SITE}/postmortems/{org.drift_pm.pk}/" in links(html)
    assert f"{SITE}/postmortems/{org.drift_pm.pk}/" in text
    assert not re.search(r"<(img|script|link|iframe)\b", html, re.IGNORECASE)
    assert "<style" not in html.lower()
    assert message["List-Unsubscribe"].strip().strip("<>") in text and message["List-Unsubscribe"].strip().strip(
        "<>"
    ) in links(html)

    send = DigestSend.objects.get(recipient=org.priya)
    assert (send.week, send.status, send.team, send.attempts) == (WEEK, DigestSendStatus.SENT, org.fraud, 1)
    assert send.subject == message["Subject"]


@pytest.mark.django_db
def test_subjects_are_not_html_escaped(frozen, inbox):
    quiet = TeamFactory(name="Search & Ads", slug="search-ads", timezone="Europe/London")
    person = UserFactory(username="ada", first_name="Ada")
    MembershipFactory(team=quiet, user=person)
    IncidentFactory(team=quiet, title="Ads ranker timeouts", detected_at=at(2))

    assert deliver(person) == DigestOutcome.SENT
    [message] = inbox.to(person.email)
    assert message["Subject"] == "Kintsugi week 50: your teams' week"
    assert "Search & Ads" in message.get_body(("plain",)).get_content()


@pytest.mark.django_db
def test_nothing_to_say_sends_nothing(frozen, inbox):
    person = UserFactory(username="ada")
    MembershipFactory(user=person)
    assert deliver(person) == DigestOutcome.EMPTY
    assert inbox.messages == [] and not DigestSend.objects.exists()


@pytest.mark.django_db
def test_one_click_unsubscribe_round_trip(org, frozen, inbox):
    deliver(org.priya)
    [message] = inbox.to(org.priya.email)
    url = message["List-Unsubscribe"].strip().strip("<>")
    path = urlsplit(url).path
    mail_program = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie

    page = mail_program.get(path)
    assert page.status_code == 200 and b"priya@example.com" in page.content
    assert not DigestPreference.objects.filter(user=org.priya, enabled=False).exists()  # a GET changes nothing

    answer = mail_program.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and b"unsubscribed" in answer.content
    preference = DigestPreference.objects.get(user=org.priya)
    assert not preference.enabled and preference.unsubscribed_at == NOW
    assert mail_program.post(path).status_code == 200  # a second click is harmless

    # The next week's digest is not sent.
    with time_machine.travel(NOW.replace(day=14), tick=False):
        assert deliver(org.priya, "2026-W51") == DigestOutcome.UNSUBSCRIBED
    assert len(inbox.to(org.priya.email)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", [lambda token: token[:-3] + "abc", lambda token: "x" + token, lambda token: "nope"])
def test_a_tampered_unsubscribe_link_changes_nothing(org, frozen, inbox, mangle):
    from teams.digest.services import UNSUBSCRIBE_INVALID, digest_unsubscribe_token

    token = mangle(digest_unsubscribe_token(user=org.priya))
    answer = Client(enforce_csrf_checks=True).post(f"/digest/unsubscribe/{token}/")
    assert answer.status_code == 400
    assert UNSUBSCRIBE_INVALID.split(":")[0] in answer.content.decode()
    assert not DigestPreference.objects.exists()


@pytest.mark.django_db
def test_unsubscribe_answers_405_to_other_methods(org):
    from teams.digest.services import digest_unsubscribe_token

    token = digest_unsubscribe_token(user=org.priya)
    assert Client().put(f"/digest/unsubscribe/{token}/").status_code == 405


@pytest.mark.django_db
def test_a_second_run_and_a_retried_task_send_nothing_twice(org, frozen, inbox):
    assert send_weekly_digest.apply(args=[org.priya.pk, WEEK]).get() == "sent"
    assert send_weekly_digest.apply(args=[org.priya.pk, WEEK]).get() == "already_sent"
    assert deliver(org.priya) == DigestOutcome.ALREADY_SENT
    assert len(inbox.to(org.priya.email)) == 1


@pytest.mark.django_db
def test_a_claim_left_by_a_sender_that_died_is_never_sent_again(org, frozen, inbox):
    # The worker claimed, the SMTP server may have accepted, and the worker died before recording it.
    DigestSend.objects.create(
        recipient=org.priya, week=WEEK, email=org.priya.email, status=DigestSendStatus.SENDING, claimed_at=NOW
    )
    assert deliver(org.priya) == DigestOutcome.ALREADY_SENT
    assert inbox.messages == []


@pytest.mark.django_db
def test_one_recipients_smtp_failure_is_recorded_and_retried_for_them_only(org, frozen, inbox):
    inbox.refuse = {org.priya.email}
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        deliver(org.priya)
    assert deliver(org.lucia) == DigestOutcome.SENT
    assert deliver(org.tomas) == DigestOutcome.SENT

    failed = DigestSend.objects.get(recipient=org.priya)
    assert failed.status == DigestSendStatus.FAILED and "550" in failed.last_error and failed.sent_at is None
    assert [rcpt for rcpt, _ in inbox.messages] == [[org.lucia.email], [org.tomas.email]]

    # Its retry claims it again and sends it once; the others' are not sent again.
    inbox.refuse = set()
    assert deliver(org.priya) == DigestOutcome.SENT
    assert deliver(org.lucia) == DigestOutcome.ALREADY_SENT
    retried = DigestSend.objects.get(recipient=org.priya)
    assert (retried.status, retried.attempts, retried.last_error) == (DigestSendStatus.SENT, 2, "")
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == sorted([org.lucia.email, org.tomas.email, org.priya.email])


def test_the_task_retries_smtp_and_network_errors_with_backoff():
    assert set(send_weekly_digest.autoretry_for) == {smtplib.SMTPException, OSError}
    assert send_weekly_digest.retry_backoff == 60 and send_weekly_digest.max_retries == 8


def test_beat_runs_the_fan_out_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["start-weekly-digests"]
    assert entry["task"] == "teams.tasks.start_weekly_digests"
    assert entry["schedule"] == crontab(minute=0)


@pytest.mark.django_db(transaction=True)
def test_a_doubled_beat_through_a_real_worker_sends_each_digest_once(org, inbox):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from teams.tasks import start_weekly_digests

    fraud = {org.lucia.email, org.priya.email, org.tomas.email}
    with time_machine.travel(NOW, tick=True):
        app.control.purge()
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
            # Two beats fire the fan-out at once: Fraud is due (Monday 09:00 in London), New York is not yet.
            start_weekly_digests.delay()
            start_weekly_digests.delay()
            assert len(inbox.wait_for(len(fraud), timeout=60)) == len(fraud)
            # Queued now, Oliver's digest arrives after every task queued before it has run (one solo worker):
            # the second fan-out's tasks for Fraud ran, and sent nothing.
            send_weekly_digest.delay(org.oliver.pk, WEEK)
            messages = inbox.wait_for(len(fraud) + 1, timeout=60)
            assert org.oliver.email in messages[-1][0]
    recipients = [rcpt[0] for rcpt, _ in inbox.messages]
    assert sorted(recipients) == sorted([*fraud, org.oliver.email])
    assert DigestSend.objects.filter(week=WEEK, status=DigestSendStatus.SENT).count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_senders_racing_for_one_digest_send_one_email(org, inbox):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    outcomes = []

    def send():
        try:
            with time_machine.travel(NOW, tick=False):
                barrier.wait()
                outcomes.append(deliver(org.priya))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted([DigestOutcome.SENT, DigestOutcome.ALREADY_SENT])
    assert len(inbox.wait_for(1)) == 1
    assert DigestSend.objects.get(recipient=org.priya).status == DigestSendStatus.SENT
