from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from incidents.models import ModelAlias
from incidents.services import incidents as services
from tests.factories import (
    AliasMoveFactory,
    DeploymentFactory,
    IncidentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def fraud_detector(team, member):
    model = RegisteredModelFactory(team=team, name="fraud-detector", description="Scores card payments.")
    v8 = ModelVersionFactory(model=model, version="8", version_number=8)
    v9 = ModelVersionFactory(model=model, version="9", version_number=9)
    DeploymentFactory(model_version=v8, environment="staging", last_event_at=T0 - timedelta(days=3))
    DeploymentFactory(model_version=v8, environment="production", last_event_at=T0 - timedelta(days=2))
    DeploymentFactory(model_version=v9, environment="staging", last_event_at=T0 - timedelta(hours=5))
    DeploymentFactory(
        model_version=v9,
        environment="production",
        status="failed",
        failing_step="canary-analysis",
        run_url="https://ci.example.com/runs/991",
        last_event_at=T0 - timedelta(hours=2),
    )
    AliasMoveFactory(to_version=v9, from_version=v8, moved_at=T0 - timedelta(hours=3))
    AliasMoveFactory(to_version=v8, from_version=v9, kind="rollback", moved_at=T0 - timedelta(hours=1))
    ModelAlias.objects.create(model=model, alias="champion", version=v8, updated_at=T0 - timedelta(hours=1))
    incident = IncidentFactory(team=team, model=model, title="v9 failed in production", severity="SEV2")
    services.incident_set_model_version_role(incident=incident, model_version=v9, role="cause", actor=member)
    return model


def test_models_page_lists_registry(client, member, fraud_detector, team):
    RegisteredModelFactory(team=TeamFactory(slug="recsys", name="Recommendations"), name="home-feed-ranker")
    client.force_login(member)
    response = client.get(reverse("incidents:models"))
    assert response.status_code == 200
    rows = {row["model"].name: row for row in response.context["rows"]}
    assert set(rows) == {"fraud-detector", "home-feed-ranker"}
    fraud = rows["fraud-detector"]
    assert fraud["model"].version_count == 2 and fraud["model"].open_incident_count == 1
    assert [alias.alias for alias in fraud["aliases"]] == ["champion"]
    assert [(d.environment, d.status) for d in fraud["latest"]] == [("staging", "succeeded"), ("production", "failed")]
    content = response.content.decode()
    assert "@champion" in content and "Never deployed" in content
    assert response.context["rows"][0]["model"].name == "fraud-detector"  # by name


def test_models_page_filters(client, member, fraud_detector):
    RegisteredModelFactory(team=TeamFactory(slug="recsys"), name="home-feed-ranker")
    client.force_login(member)
    names = lambda query: [row["model"].name for row in client.get(f"/models/?{query}").context["rows"]]  # noqa: E731 - a one-line helper local to the test
    assert names("team=recsys") == ["home-feed-ranker"]
    assert names("q=fraud") == ["fraud-detector"]
    assert names("team=nope") == []


def test_lineage_page_shows_versions_deployments_moves_and_incidents(client, member, fraud_detector):
    client.force_login(member)
    response = client.get(fraud_detector.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index('id="v9"') < content.index('id="v8"')
    assert "rolled back here from v9" in content
    assert "chip chip-failed" in content and "https://ci.example.com/runs/991" in content
    assert "v9 failed in production" in content and "cause" in content
    assert "Not resolved yet" in content


def test_lineage_hides_restricted_incidents_from_outsiders(client, outsider, member, team, fraud_detector):
    secret = IncidentFactory(team=team, model=fraud_detector, title="Label leak", restricted=True)
    version = fraud_detector.versions.get(version="8")
    services.incident_set_model_version_role(incident=secret, model_version=version, role="suspect", actor=member)
    client.force_login(outsider)
    assert "Label leak" not in client.get(fraud_detector.get_absolute_url()).content.decode()
    client.force_login(member)
    assert "Label leak" in client.get(fraud_detector.get_absolute_url()).content.decode()


def test_lineage_of_an_unknown_model_is_404(client, member):
    client.force_login(member)
    assert client.get("/models/999999/").status_code == 404


def test_lineage_paginates_versions(client, member, team):
    model = RegisteredModelFactory(team=team)
    for number in range(1, 16):
        ModelVersionFactory(model=model, version=str(number), version_number=number)
    client.force_login(member)
    first = client.get(model.get_absolute_url())
    assert [row.version.version for row in first.context["lineage"].rows][:2] == ["15", "14"]
    second = client.get(f"{model.get_absolute_url()}?page=2")
    assert [row.version.version for row in second.context["lineage"].rows] == ["3", "2", "1"]
