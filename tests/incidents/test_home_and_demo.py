import pytest
from django.core.management import call_command

from incidents.models import AliasMove, Incident, IncidentModelVersion, ModelAlias, TimelineEntry
from tests.factories import DeploymentFactory, IncidentFactory, RegisteredModelFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_home_is_a_dashboard_of_my_teams(client, team, member):
    recsys = TeamFactory(slug="recsys", name="Recommendations")
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    IncidentFactory(team=team, model=model, title="Ours, open", severity="SEV1")
    IncidentFactory(team=team, title="Ours, closed", status="closed")
    IncidentFactory(team=recsys, title="Theirs, open")
    DeploymentFactory(model_version__model=model, status="failed", failing_step="canary-analysis")
    DeploymentFactory(model_version__model__team=recsys, status="failed", failing_step="their-step")
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 200
    assert [incident.title for incident in response.context["active_incidents"]] == ["Ours, open"]
    assert [deployment.failing_step for deployment in response.context["failed_deployments"]] == ["canary-analysis"]
    assert [model.name for model in response.context["troubled_models"]] == ["fraud-detector"]
    assert response.context["open_counts"]["SEV1"] == 1
    assert b"Your teams' active incidents" in response.content


def test_home_without_a_team_shows_the_organisation_but_not_restricted_incidents(client, team, outsider):
    IncidentFactory(team=team, title="Public outage")
    IncidentFactory(team=team, title="Restricted outage", restricted=True)
    client.force_login(outsider)
    response = client.get("/")
    assert [incident.title for incident in response.context["active_incidents"]] == ["Public outage"]
    assert b"You are not in a team yet" in response.content


def test_demo_tells_the_rollback_story_and_covers_every_status():
    call_command("seed_demo", verbosity=0)
    assert set(Incident.objects.values_list("status", flat=True)) == {"open", "mitigated", "resolved", "closed"}
    story = Incident.objects.get(title="fraud-detector v9 failed to deploy to production")
    assert story.status == "mitigated" and story.mitigated_at is not None
    cause = IncidentModelVersion.objects.get(incident=story, role="cause")
    assert cause.model_version.version == "9"
    moves = AliasMove.objects.filter(model__name="fraud-detector", alias="champion").order_by("moved_at")
    assert [(move.from_version.version, move.to_version.version, move.kind) for move in moves][-2:] == [
        ("8", "9", "promotion"),
        ("9", "8", "rollback"),
    ]
    assert ModelAlias.objects.get(model__name="fraud-detector", alias="champion").version.version == "8"
    assert TimelineEntry.objects.filter(incident=story, kind="note").exclude(author=None).count() >= 3
    assert TimelineEntry.objects.filter(incident=story, starred=True).exists()
    entries_before = TimelineEntry.objects.count()
    call_command("seed_demo", verbosity=0)
    assert TimelineEntry.objects.count() == entries_before
