"""What a digest says to whom: visible post-mortems in order, what needs the person, their teams' week, the archive."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search.services import search_index_refresh
from teams.digest.schedule import IsoWeek
from teams.digest.selectors import digest_build, digest_build_many
from teams.digest.services import digest_preferences_update
from tests.factories import ActionItemFactory, LearningFactory, MembershipFactory, UserFactory
from tests.teams.digest.conftest import NOW, WEEK, at

pytestmark = pytest.mark.django_db


def titles(digest) -> list[str]:
    return [item.postmortem.title for item in digest.learned]


def test_a_member_learns_the_weeks_visible_post_mortems_own_team_first(org, frozen):
    digest = digest_build(user=org.priya, week=IsoWeek.parse(WEEK))

    # The restricted Recommendations post-mortem is not hers to read; last month's is not this week's.
    assert titles(digest) == ["Scores & thresholds: the v14 drift", "Stale cold-start embeddings"]
    first = digest.learned[0]
    assert first.followed and first.postmortem.model_label == "fraud-scorer v14"
    assert first.postmortem.summary == "Approval rates for new merchants dropped by 4% after the retrain."
    assert first.postmortem.lessons == (
        "Compare score distributions before promoting.",
        "Alert on approval-rate shifts per segment.",
    )
    assert first.postmortem.category_labels == ("Data drift",)
    assert first.postmortem.url == f"https://kintsugi.example.com/postmortems/{org.drift_pm.pk}/"
    # The other team's post-mortem shares a failure category with Fraud's: that is why it teaches her.
    assert digest.learned[1].shared_categories == ("Data drift",)
    assert digest.week == IsoWeek(2026, 50)


def test_restricted_post_mortems_reach_their_team_and_staff_only(org, frozen):
    staff = UserFactory(username="admin", is_staff=True)
    digests = digest_build_many(users=[org.oliver, org.priya, staff, org.nobody], week=IsoWeek.parse(WEEK))

    secret = "Private listings in the public feed"
    assert secret in titles(digests[org.oliver.pk])
    assert secret in titles(digests[staff.pk])
    assert secret not in titles(digests[org.priya.pk])
    assert secret not in titles(digests[org.nobody.pk])
    # Her own team's SEV1 comes before another team's, however severe.
    assert titles(digests[org.oliver.pk])[0] == secret


def test_following_a_team_puts_its_post_mortems_first(org, frozen):
    outsider = UserFactory(username="sam")
    MembershipFactory(team=org.fraud, user=outsider)
    assert titles(digest_build(user=outsider))[0] == "Scores & thresholds: the v14 drift"

    digest_preferences_update(user=outsider, enabled=True, followed_teams=[org.recsys])
    followed = digest_build(user=outsider)
    assert [item.followed for item in followed.learned] == [True, True]
    # Among followed teams the more instructive comes first: SEV2 with lessons before SEV3.
    assert titles(followed)[0] == "Scores & thresholds: the v14 drift"


def test_what_needs_a_member_and_what_needs_a_lead(org, frozen):
    digests = digest_build_many(users=[org.priya, org.lucia], week=IsoWeek.parse(WEEK))
    priya, lucia = digests[org.priya.pk].needs, digests[org.lucia.pk].needs

    assert [ask.title for ask in priya.reviews] == ["Feature store timeouts under load"]
    assert priya.reviews[0].waiting_days == 3
    assert [(item.title, item.days_late) for item in priya.overdue_actions] == [("Backfill the drift monitor", 3)]
    assert [item.title for item in priya.open_actions] == ["Add a per-segment alert"]
    assert priya.team_overdue_actions == [] and priya.missing_postmortems == []

    # The lead sees every overdue item of her team, with its owner, and the incident without a post-mortem.
    assert [(item.title, item.owner_name) for item in lucia.team_overdue_actions] == [
        ("Write the rollback runbook", "Tomás Novak"),
        ("Backfill the drift monitor", "Priya Raman"),
    ]
    assert [incident.title for incident in lucia.missing_postmortems] == ["Feature lag on card velocity"]
    assert lucia.missing_postmortems[0].days_since_resolved == 2


def test_reviews_already_given_on_the_current_version_are_not_asked_again(org, frozen):
    from postmortems.models import PostmortemReview

    PostmortemReview.objects.create(
        postmortem=org.review_pm, reviewer=org.priya, decision="approve", revision=1, version=1, created_at=at(1)
    )
    assert digest_build(user=org.priya).needs.reviews == []


def test_the_teams_week_against_the_week_before(org, frozen):
    fraud = next(team for team in digest_build(user=org.priya, week=IsoWeek.parse(WEEK)).teams_week)

    assert fraud.name == "Fraud"
    by_severity = {row.severity: row for row in fraud.rows}
    # Opened: the SEV2 drift this week; the SEV3 feature lag last week. Both were resolved this week.
    assert (by_severity["SEV2"].opened.this_week, by_severity["SEV2"].opened.last_week) == (1, 0)
    assert (by_severity["SEV3"].opened.this_week, by_severity["SEV3"].opened.last_week) == (0, 1)
    assert (fraud.resolved_total.this_week, fraud.resolved_total.last_week) == (2, 0)
    # Bars are this week's counts against the team's largest count.
    assert [(row.opened_bar, row.resolved_bar) for row in fraud.rows] == [(0, 0), (100, 100), (0, 100), (0, 0)]
    # Restored: the drift mitigated 3 h 10 min after it started; the lag resolved 8 days and 10 min after.
    assert fraud.restored_count == 2
    assert fraud.restore_hours.this_week == round(((3 + 10 / 60) + (8 * 24 + 10 / 60)) / 2, 1)
    assert fraud.restore_hours.last_week is None
    # Five deployments this week: one failed, one caused an incident. Two last week, none failed.
    assert fraud.deployments == 5
    assert (fraud.change_failure_percent.this_week, fraud.change_failure_percent.last_week) == (40, 0)
    assert fraud.change_failure_percent.trend == "up"


def test_drills_are_left_out_of_the_teams_figures(org, frozen):
    from tests.factories import IncidentFactory

    IncidentFactory(team=org.fraud, kind="game_day", severity="SEV4", detected_at=at(1))
    fraud = digest_build(user=org.priya, week=IsoWeek.parse(WEEK)).teams_week[0]
    assert {row.severity: row.opened.this_week for row in fraud.rows}["SEV4"] == 0


def test_from_the_archive_matches_the_weeks_failure_categories(org, frozen):
    with time_machine.travel(NOW - timedelta(days=200), tick=False):
        matching = LearningFactory(title="Watch the score distribution, not only AUC", team=org.recsys)
        matching.categories.create(category="data_drift")
        other = LearningFactory(title="Page the owner, not the channel")
        other.categories.create(category="communication")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        # Written this week: not from the archive.
        recent = LearningFactory(title="A lesson of this very week")
        recent.categories.create(category="data_drift")
    search_index_refresh()

    archive = digest_build(user=org.priya, week=IsoWeek.parse(WEEK)).archive
    assert archive.title == "Watch the score distribution, not only AUC"
    assert archive.reason == "The same failure category as your week: Data drift"
    assert archive.url == f"https://kintsugi.example.com/learnings/{matching.pk}/"


def test_an_empty_week_is_an_empty_digest(db, frozen):
    loner = UserFactory(username="loner")
    MembershipFactory(user=loner)
    digest = digest_build(user=loner)
    assert digest.is_empty
    assert digest.learned == [] and digest.needs.count == 0 and digest.teams_week == []


def test_the_digest_of_a_past_week_covers_that_week(org, frozen):
    # A week earlier, the drift post-mortem was not published yet; the review was not asked yet either.
    digest = digest_build(user=org.priya, week=IsoWeek.parse("2026-W49"))
    assert digest.window.end == NOW - timedelta(days=7)
    assert titles(digest) == []


def grow(org, size: int) -> list:
    """Add ``size`` members to Fraud, each reviewing, owning an overdue and an open item."""
    from postmortems.models import PostmortemReviewer

    people = []
    for index in range(size):
        person = UserFactory(username=f"member{size}-{index}")
        MembershipFactory(team=org.fraud, user=person, role="lead" if index % 3 == 0 else "member")
        PostmortemReviewer.objects.create(postmortem=org.review_pm, user=person)
        ActionItemFactory(incident=org.drift, owner=person, due_date=NOW.date() - timedelta(days=index + 1))
        ActionItemFactory(incident=org.drift, owner=person, due_date=NOW.date() + timedelta(days=index + 1))
        people.append(person)
    return people


def count_queries(users) -> int:
    with CaptureQueriesContext(connection) as context:
        digests = digest_build_many(users=users, week=IsoWeek.parse(WEEK))
    assert all(not digest.is_empty for digest in digests.values())
    return len(context)


def test_building_digests_asks_the_database_the_same_number_of_times_for_4_or_40_recipients(org, frozen):
    small = count_queries(grow(org, 4))
    large = count_queries(grow(org, 40))
    assert small == large
    # People: memberships (viewers, home teams), preferences, follows, team names (5). What we learned:
    # post-mortems, published versions, factors, model versions, reviewers of restricted ones, the teams'
    # recent categories (6). Needs: reviews, owned items, lead's team items, incidents without a
    # post-mortem (4). Teams' week: incidents, deployments (2). Archive: facets, the learnings picked, and
    # the anniversary pick's windows (3).
    assert large <= 20


def test_who_gets_a_teams_digest_at_its_hour(org, frozen):
    from teams.digest.models import DigestSend
    from teams.digest.selectors import digest_recipients_due
    from teams.digest.services import digest_unsubscribe

    week = IsoWeek.parse(WEEK)
    follower = UserFactory(username="fay")  # in no team, follows Fraud: Fraud's schedule is hers
    digest_preferences_update(user=follower, enabled=True, followed_teams=[org.fraud])
    elsewhere = UserFactory(username="eli")  # joined Recommendations first: its schedule is his
    MembershipFactory(team=org.recsys, user=elsewhere)
    MembershipFactory(team=org.fraud, user=elsewhere)
    digest_unsubscribe(user=org.tomas)
    DigestSend.objects.create(recipient=org.lucia, week=WEEK, email=org.lucia.email, claimed_at=NOW)
    no_email = UserFactory(username="mute", email="")
    MembershipFactory(team=org.fraud, user=no_email)

    assert digest_recipients_due(team=org.fraud, week=week) == sorted([org.priya.pk, follower.pk])
    assert digest_recipients_due(team=org.recsys, week=week) == sorted([org.oliver.pk, elsewhere.pk])
    # The follower's digest puts the team she follows first.
    assert digest_build(user=follower, week=week).learned[0].postmortem.team_name == "Fraud"
