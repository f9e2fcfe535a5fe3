"""A small organisation whose insights are worked out by hand in the tests.

Today is Wednesday 18 March 2026; the view is the two weeks from Monday 2 to
Sunday 15 March. Team Fraud (two members: a lead and a member) runs
fraud-detector v1 and v2 in production; one of its incidents is restricted.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine

from incidents.models import AliasMove, IncidentDeployment, IncidentModelVersion, LinkRole
from insights.filters import InsightsFilters
from postmortems.models import ContributingFactor, Postmortem
from tests.factories import (
    ActionItemFactory,
    DeploymentFactory,
    IncidentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)

TODAY = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def view():
    return InsightsFilters(start=date(2026, 3, 2), end=date(2026, 3, 15), period="custom")


@pytest.fixture
def org(team, lead, member):
    """Build the organisation; return its objects by name."""
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    v1 = ModelVersionFactory(model=model, version="1")
    v2 = ModelVersionFactory(model=model, version="2")

    def deploy(version, status, when, environment="production", committed=None):
        return DeploymentFactory(
            model_version=version,
            status=status,
            environment=environment,
            started_at=when,
            finished_at=when,
            last_event_at=when,
            committed_at=committed,
        )

    deploy(v1, "succeeded", at(2, 10), committed=at(2, 6))  # lead time 4 h
    deploy(v1, "failed", at(3, 10))
    deploy(v1, "succeeded", at(4, 10), committed=at(3, 10))  # lead time 24 h
    d4 = deploy(v2, "succeeded", at(10, 10), committed=at(9, 22))  # lead time 12 h, causes i1
    d5 = deploy(v2, "succeeded", at(11, 10))  # causes the restricted i3
    deploy(v1, "failed", at(5, 9), environment="staging")  # not production: outside DORA
    deploy(v2, "cancelled", at(6, 9))  # neither a success nor a failure
    deploy(v1, "succeeded", at(20, 10, month=2))  # the previous period

    def incident(**fields):
        return IncidentFactory(team=team, model=model, environment="production", **fields)

    i1 = incident(
        severity="SEV2",
        owner=member,
        started_at=at(10, 10, 30),
        detected_at=at(10, 10, 40),
        acknowledged_at=at(10, 10, 50),
        mitigated_at=at(10, 12, 30),
        resolved_at=at(10, 14, 30),
        status="resolved",
    )
    i2 = incident(
        severity="SEV1",
        owner=lead,
        started_at=at(3, 10),
        detected_at=at(3, 10, 30),
        acknowledged_at=at(3, 11, 30),
        mitigated_at=at(3, 11),
        resolved_at=at(5, 12),
        status="resolved",
    )
    i3 = incident(
        severity="SEV3",
        owner=member,
        restricted=True,
        started_at=at(12, 0),
        detected_at=at(12, 0, 10),
        acknowledged_at=at(12, 0, 20),
        mitigated_at=at(12, 3),
        resolved_at=at(12, 6),
        status="resolved",
    )
    drill = incident(
        severity="SEV4",
        kind="game_day",
        owner=lead,
        started_at=at(5, 9),
        detected_at=at(5, 9),
        acknowledged_at=at(5, 9),
        resolved_at=at(5, 17),
        status="resolved",
    )
    IncidentDeployment.objects.create(incident=i1, deployment=d4, role=LinkRole.CAUSE)
    IncidentDeployment.objects.create(incident=i3, deployment=d5, role=LinkRole.CAUSE)
    IncidentModelVersion.objects.create(incident=i2, model_version=v1, role=LinkRole.SUSPECT)
    AliasMove.objects.create(
        model=model, alias="champion", from_version=v2, to_version=v1, kind="rollback", moved_at=at(11, 12)
    )

    published = Postmortem.objects.create(
        incident=i1,
        title="Postmortem",
        template_name="Standard",
        status="published",
        updated_at=at(13, 14, 30),
        published_at=at(13, 14, 30),  # three days after i1 was resolved
        published_version=1,
    )
    draft = Postmortem.objects.create(incident=i3, title="Draft", template_name="Standard", updated_at=at(12, 8))
    drill_review = Postmortem.objects.create(
        incident=drill, title="Drill", template_name="Standard", updated_at=at(6, 8)
    )
    for postmortem, category in ((published, "data_drift"), (published, "tooling"), (draft, "data_drift")):
        ContributingFactor.objects.create(postmortem=postmortem, category=category, description="A condition.")
    ContributingFactor.objects.create(
        postmortem=drill_review, category="serving_infrastructure", description="Found by the drill."
    )

    def action(incident, created, due, resolved=None, status="open", kind="prevent"):
        return ActionItemFactory(
            incident=incident,
            owner=member,
            created_at=created,
            due_date=due,
            resolved_at=resolved,
            status=status,
            kind=kind,
        )

    action(i1, at(2, 9), date(2026, 3, 9), resolved=at(9, 15), status="done")  # done on time
    action(i1, at(10, 12), date(2026, 3, 11), resolved=at(12, 9), status="done", kind="mitigate")  # late
    action(i2, at(3, 12), date(2026, 3, 6))  # overdue
    action(i3, at(12, 8), date(2026, 3, 20))  # restricted incident's
    action(drill, at(5, 18), date(2026, 3, 20))  # a drill's
    return {"model": model, "v1": v1, "v2": v2, "i1": i1, "i2": i2, "i3": i3, "drill": drill}
