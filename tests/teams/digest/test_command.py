"""``manage.py send_digests``: a dry run, a week, a team, some people, and what it prints."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from teams.digest.models import DigestSend
from teams.digest.schedule import WEEK_INVALID
from teams.digest.services import digest_unsubscribe
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send_digests", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_a_dry_run_counts_and_sends_nothing(org, frozen, inbox):
    digest_unsubscribe(user=org.tomas)

    out, _ = run("--dry-run")
    # Lucía, Priya and Oliver have something to read; Tomás unsubscribed.
    # Nadia is in no team and follows none: she is nobody's recipient.
    assert out == "Would send 3, skipped 1 (empty 0, already sent 0, unsubscribed 1), failed 0."
    assert inbox.messages == [] and not DigestSend.objects.exists()


def test_empty_digests_are_skipped(db, frozen, inbox):
    for name in ("quiet", "calm"):
        MembershipFactory(user=UserFactory(username=name))
    assert run()[0] == "Sent 0, skipped 2 (empty 2, already sent 0, unsubscribed 0), failed 0."
    assert inbox.messages == [] and not DigestSend.objects.exists()


def test_a_run_sends_once_and_a_second_run_sends_none(org, frozen, inbox):
    assert run()[0] == "Sent 4, skipped 0 (empty 0, already sent 0, unsubscribed 0), failed 0."
    assert run()[0] == "Sent 0, skipped 4 (empty 0, already sent 4, unsubscribed 0), failed 0."
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == sorted(
        user.email for user in (org.lucia, org.priya, org.tomas, org.oliver)
    )


def test_a_team_and_people_narrow_the_run(org, frozen, inbox):
    assert run("--team", "recsys")[0].startswith("Sent 1,")
    assert run("--to", "priya,lucia@example.com")[0].startswith("Sent 2,")
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == sorted([org.oliver.email, org.priya.email, org.lucia.email])


def test_a_failure_is_counted_and_the_others_are_sent(org, frozen, inbox):
    inbox.refuse = {org.priya.email}
    out, err = run()
    assert out == "Sent 3, skipped 0 (empty 0, already sent 0, unsubscribed 0), failed 1."
    assert "priya@example.com: SMTPRecipientsRefused" in err
    inbox.refuse = set()
    assert run()[0] == "Sent 1, skipped 3 (empty 0, already sent 3, unsubscribed 0), failed 0."


def test_a_past_week_is_keyed_by_that_week(org, frozen, inbox):
    out, _ = run("--week", "2026-W50", "--to", "priya")
    assert out.startswith("Sent 1,")
    assert DigestSend.objects.get().week == "2026-W50"
    [message] = inbox.to(org.priya.email)
    assert message["Subject"].startswith("Kintsugi week 50:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-W54"], WEEK_INVALID),
        (["--team", "nope"], "No team with the slug nope."),
        (["--to", "ghost"], "Nobody to send to among ghost"),
    ],
)
def test_bad_arguments_are_refused_plainly(org, args, message):
    with pytest.raises(CommandError, match=message.split(" (")[0].replace("(", r"\(")):
        run(*args)


def test_long_runs_draw_a_progress_bar(org, frozen, inbox):
    for index in range(25):
        MembershipFactory(team=org.fraud, user=UserFactory(username=f"extra{index}"))
    out, err = run("--dry-run")
    assert out.startswith("Would send 29,")
    assert "\r" in err and "100%" in err and "29/29" in err
    assert "29/29" not in run("--dry-run", "--no-progress")[1]
