"""Pages run a fixed number of queries whatever the amount of data: measured at two sizes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import ModelAlias
from incidents.services import incidents as services
from tests.factories import (
    AliasMoveFactory,
    DeploymentFactory,
    IncidentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    TimelineEntryFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def grow(team, member, size: int) -> dict:
    """Add ``size`` models, versions, deployments and incidents with links, notes and alias moves."""
    made = {}
    for index in range(size):
        model = RegisteredModelFactory(team=team)
        versions = [ModelVersionFactory(model=model, version_number=index * 10 + n) for n in range(3)]
        for version in versions:
            for environment in ("staging", "production"):
                DeploymentFactory(model_version=version, environment=environment, status="failed")
                DeploymentFactory(model_version=version, environment=environment)
        AliasMoveFactory(to_version=versions[-1], from_version=versions[0], moved_at=T0 + timedelta(minutes=1))
        ModelAlias.objects.create(model=model, alias="champion", version=versions[-1], updated_at=T0)
        incident = IncidentFactory(team=team, model=model, started_at=T0, detected_at=T0, owner=member)
        incident.tags.create(name=f"tag-{model.name}")
        for _ in range(3):
            TimelineEntryFactory(incident=incident, author=member)
        deployment = versions[-1].deployments.first()
        services.incident_set_deployment_role(incident=incident, deployment=deployment, role="cause", actor=member)
        services.incident_set_model_version_role(
            incident=incident, model_version=versions[0], role="suspect", actor=member
        )
        if index:
            services.incident_relate(incident=incident, other=made["incident"], actor=member)
        made = {"incident": incident, "model": model}
    return made


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context)


PAGES = {
    "list": lambda made: "/incidents/",
    "list filtered": lambda made: "/incidents/?status=open&severity=SEV3&team=fraud&q=deploy&sort=severity",
    "detail": lambda made: made["incident"].get_absolute_url(),
    "models": lambda made: "/models/",
    "lineage": lambda made: made["model"].get_absolute_url(),
    "home": lambda made: "/",
    "api list": lambda made: "/api/v1/incidents/",
    "api timeline": lambda made: f"/api/v1/incidents/{made['incident'].pk}/timeline/",
    "api models": lambda made: "/api/v1/models/",
    "api versions": lambda made: f"/api/v1/models/{made['model'].pk}/versions/",
}
LIMITS = {
    # the model names the filter offers are one of them
    "list": 7,
    "list filtered": 8,
    # 13 for the incident, 5 for the post-mortem panel, 9 for follow-ups and related, 1 for who follows it,
    # 2 for rollouts (those it happened in, and those a member may attach it to)
    "detail": 30,
    "models": 7,
    "lineage": 14,  # 12, 1 for the experiments between versions, 1 for the deployments-per-week chart
    "home": 12,  # 9, 2 for a learning from the archive, 1 for what needs you
    "api list": 5,
    "api timeline": 7,
    "api models": 6,
    "api versions": 8,
}


@pytest.mark.parametrize("page", PAGES)
def test_pages_run_a_bounded_number_of_queries(client, team, member, page, django_assert_max_num_queries):
    client.force_login(member)
    small = grow(team, member, 2)
    small_count = count_queries(client, PAGES[page](small))
    big = grow(team, member, 12)
    with django_assert_max_num_queries(LIMITS[page]):
        big_count = count_queries(client, PAGES[page](big))
    assert big_count == small_count, f"{page}: {small_count} queries with little data, {big_count} with more"
