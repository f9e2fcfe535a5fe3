"""An organisation's week for the digest: two teams, post-mortems published, actions waiting, a real SMTP server."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller

from incidents.models import DeploymentStatus, IncidentStatus, LinkRole, Severity
from postmortems.models import PostmortemReviewer, PostmortemStatus
from teams.models import Membership
from tests.factories import (
    ActionItemFactory,
    DeploymentFactory,
    IncidentFactory,
    MembershipFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    TeamFactory,
    UserFactory,
)
from tests.mail import Inbox, free_port, use_smtp_server
from tests.postmortems.follow_ups.conftest import make_postmortem

# Monday 7 December 2026, 09:00 in London (UTC in winter): the Fraud team's digest hour of ISO week 50.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEEK = "2026-W50"
TODAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SITE_URL = "https://kintsugi.example.com"


@pytest.fixture
def frozen_at():
    return NOW


@pytest.fixture
def inbox(settings):
    """A real SMTP server on loopback, and Django sending to it."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp_server(settings, controller.port)
    yield handler
    controller.stop()


def at(days_before: float) -> datetime:
    return NOW - timedelta(days=days_before)


def published(incident, *, days_before: float, **options):
    """Return a post-mortem of the incident published ``days_before`` NOW."""
    with time_machine.travel(at(days_before), tick=False):
        return make_postmortem(incident, **options)


class Org:
    """The people, teams and things of the scene, by name."""


@pytest.fixture
def org(db):
    """Fraud (London, Mondays 09:00) and Recommendations (New York), a week of incidents and post-mortems.

    - Fraud published a SEV2 post-mortem with a data drift factor two days ago.
    - Recommendations published a restricted SEV1 post-mortem, and an open SEV3 one with a data drift factor.
    - A post-mortem published a month ago is not this week's news.
    - Priya reviews a Recommendations post-mortem in review, owns an overdue and an open action item.
    - Lucía leads Fraud: an item of Tomás is overdue, a resolved incident has no post-mortem yet.
    """
    o = Org()
    o.fraud = TeamFactory(name="Fraud", slug="fraud", timezone="Europe/London", digest_weekday=0, digest_hour=9)
    o.recsys = TeamFactory(
        name="Recommendations", slug="recsys", timezone="America/New_York", digest_weekday=0, digest_hour=9
    )
    o.lucia = UserFactory(username="lucia", first_name="Lucía", last_name="Fernández")
    o.priya = UserFactory(username="priya", first_name="Priya", last_name="Raman")
    o.tomas = UserFactory(username="tomas", first_name="Tomás", last_name="Novak")
    o.oliver = UserFactory(username="oliver", first_name="Oliver", last_name="Grant")
    o.nobody = UserFactory(username="nobody", first_name="Nadia")
    MembershipFactory(team=o.fraud, user=o.lucia, role=Membership.Role.LEAD)
    MembershipFactory(team=o.fraud, user=o.priya)
    MembershipFactory(team=o.fraud, user=o.tomas)
    MembershipFactory(team=o.recsys, user=o.oliver, role=Membership.Role.LEAD)

    o.scorer = RegisteredModelFactory(team=o.fraud, name="fraud-scorer")
    o.v14 = ModelVersionFactory(model=o.scorer, version="14")
    o.ranker = RegisteredModelFactory(team=o.recsys, name="feed-ranker")

    o.drift = IncidentFactory(
        team=o.fraud, title="Card scores drifted after the v14 retrain", severity=Severity.SEV2,
        model=o.scorer, detected_at=at(4), status=IncidentStatus.RESOLVED,
        mitigated_at=at(4) + timedelta(hours=3), resolved_at=at(3),
    )  # fmt: skip
    o.drift.model_version_links.create(model_version=o.v14, role=LinkRole.CAUSE)
    o.drift_pm = published(
        o.drift, days_before=2, title="Scores & thresholds: the v14 drift", factors=[("data_drift", o.v14)],
        summary="Approval rates for new merchants dropped by 4% after the retrain.",
        lessons="- Compare score distributions before promoting.\n- Alert on approval-rate shifts per segment.",
    )  # fmt: skip
    o.secret = IncidentFactory(
        team=o.recsys, title="Ranker leaked private listings", severity=Severity.SEV1, restricted=True,
        detected_at=at(5), status=IncidentStatus.RESOLVED, resolved_at=at(4),
    )  # fmt: skip
    o.secret_pm = published(o.secret, days_before=1, title="Private listings in the public feed")
    o.cold = IncidentFactory(
        team=o.recsys, title="Cold-start embeddings were stale", severity=Severity.SEV3, model=o.ranker,
        detected_at=at(6), status=IncidentStatus.RESOLVED, resolved_at=at(5),
    )  # fmt: skip
    o.cold_pm = published(
        o.cold, days_before=3, title="Stale cold-start embeddings", factors=[("data_drift", None)],
        lessons="- Check embedding freshness before serving.",
    )  # fmt: skip
    o.old = IncidentFactory(team=o.fraud, title="Old outage", detected_at=at(40), status=IncidentStatus.RESOLVED)
    o.old_pm = published(o.old, days_before=30, title="An outage of last month")

    o.review = IncidentFactory(team=o.recsys, title="Feature store timeouts", detected_at=at(9))
    o.review_pm = published(o.review, days_before=6, title="Feature store timeouts under load", published=False)
    o.review_pm.status = PostmortemStatus.IN_REVIEW
    o.review_pm.submitted_at = at(3)
    o.review_pm.save(update_fields=["status", "submitted_at"])
    PostmortemReviewer.objects.create(postmortem=o.review_pm, user=o.priya)

    o.overdue = ActionItemFactory(
        incident=o.drift, owner=o.priya, due_date=TODAY - timedelta(days=3), title="Backfill the drift monitor"
    )
    o.open_item = ActionItemFactory(
        incident=o.drift, owner=o.priya, due_date=TODAY + timedelta(days=10), title="Add a per-segment alert"
    )
    o.tomas_late = ActionItemFactory(
        incident=o.drift, owner=o.tomas, due_date=TODAY - timedelta(days=8), title="Write the rollback runbook"
    )
    o.unwritten = IncidentFactory(
        team=o.fraud, title="Feature lag on card velocity", severity=Severity.SEV3, detected_at=at(10),
        status=IncidentStatus.RESOLVED, resolved_at=at(2),
    )  # fmt: skip

    # Fraud's deployments: 4 this week (one failed, one caused an incident), 2 last week (none failed).
    for days, status in [(1, "failed"), (2, "succeeded"), (3, "succeeded"), (3.5, "succeeded"), (9, "succeeded")]:
        DeploymentFactory(model_version=o.v14, status=status, started_at=at(days), finished_at=at(days))
    DeploymentFactory(model_version=o.v14, status=DeploymentStatus.SUCCEEDED, started_at=at(10), finished_at=at(10))
    cause = DeploymentFactory(model_version=o.v14, status="succeeded", started_at=at(4.1), finished_at=at(4.1))
    o.drift.deployment_links.create(deployment=cause, role=LinkRole.CAUSE)
    return o
