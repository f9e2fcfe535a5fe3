from datetime import timedelta

import pytest

from experiments.models import Experiment, GameDay
from experiments.services import game_days as game_day_services
from incidents.models import DeploymentStatus, Incident, IncidentKind, LinkRole
from incidents.services.incidents import incident_link_deployment
from tests.experiments.conftest import NOW
from tests.factories import DeploymentFactory, ModelVersionFactory, TeamFactory

pytestmark = pytest.mark.django_db

EXPERIMENTS = "/api/v1/experiments/"
GAME_DAYS = "/api/v1/game-days/"


def test_api_requires_authentication(api_client):
    assert api_client.get(EXPERIMENTS).status_code == 401
    assert api_client.get(GAME_DAYS).status_code == 401


def test_member_creates_an_experiment_and_steps_it(token_client_for, member, team, model, v8, v9, frozen):
    client = token_client_for(member)
    response = client.post(
        EXPERIMENTS,
        {
            "team": "fraud",
            "model": "fraud-detector",
            "environment": "production",
            "kind": "canary",
            "candidate_version": "9",
            "control_version": "8",
            "traffic_percent": 10,
            "deciding_metric": "precision",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["candidate_version"]["version"] == "9" and body["control_version"]["version"] == "8"
    assert body["traffic_percent"] == 10 and body["outcome"] == "running"
    step = client.post(f"{EXPERIMENTS}{body['id']}/steps/", {"percent": 50}, format="json")
    assert step.status_code == 201 and step.json()["percent"] == 50
    assert client.get(f"{EXPERIMENTS}{body['id']}/").json()["traffic_percent"] == 50


def test_unknown_version_is_a_clear_400(token_client_for, member, team, model, v9):
    response = token_client_for(member).post(
        EXPERIMENTS,
        {"team": "fraud", "model": "fraud-detector", "environment": "production", "candidate_version": "99"},
        format="json",
    )
    assert response.status_code == 400
    assert "No version '99'" in response.json()["candidate_version"][0]


def test_conclude_twice_answers_400_naming_the_allowed(token_client_for, member, experiment):
    client = token_client_for(member)
    url = f"{EXPERIMENTS}{experiment.pk}/conclude/"
    first = client.post(url, {"outcome": "rolled_back", "reason": "Analysis failed."}, format="json")
    assert first.status_code == 200 and first.json()["outcome"] == "rolled_back"
    second = client.post(url, {"outcome": "promoted", "reason": "Changed my mind."}, format="json")
    assert second.status_code == 400
    assert second.json() == {
        "message": "Cannot move an experiment from rolled_back to promoted; allowed: none.",
        "state": "rolled_back",
        "allowed": [],
    }


def test_outsider_reads_but_cannot_change_an_experiment(token_client_for, outsider, experiment):
    client = token_client_for(outsider)
    assert client.get(f"{EXPERIMENTS}{experiment.pk}/").status_code == 200
    assert client.patch(f"{EXPERIMENTS}{experiment.pk}/", {"hypothesis": "x"}, format="json").status_code == 403
    assert client.post(f"{EXPERIMENTS}{experiment.pk}/steps/", {"percent": 50}, format="json").status_code == 403


def test_restricted_experiment_is_hidden_from_outsiders(token_client_for, outsider, member, experiment):
    Experiment.objects.filter(pk=experiment.pk).update(restricted=True)
    assert token_client_for(outsider).get(f"{EXPERIMENTS}{experiment.pk}/").status_code == 404
    assert token_client_for(outsider).get(EXPERIMENTS).json()["count"] == 0
    assert token_client_for(member).get(EXPERIMENTS).json()["count"] == 1


def test_experiment_filters(token_client_for, member, experiment, team):
    client = token_client_for(member)

    def count(query):
        return client.get(f"{EXPERIMENTS}?{query}").json()["count"]

    assert count("team=fraud") == 1 and count("team=recsys") == 0
    assert count("model=fraud-detector") == 1 and count(f"model={experiment.model_id}") == 1
    assert count("environment=production") == 1 and count("environment=staging") == 0
    assert count("state=running") == 1 and count("state=promoted") == 0
    assert client.get(f"{EXPERIMENTS}?state=exploded").status_code == 400


def _plan(client, **extra):
    body = {
        "team": "fraud",
        "title": "Stale features",
        "hypothesis": "Precision stays above 0.9.",
        "injection_kind": "stale_features",
        "model": "fraud-detector",
        "environment": "staging",
        "scheduled_at": (NOW + timedelta(days=1)).isoformat(),
        **extra,
    }
    return client.post(GAME_DAYS, body, format="json")


def test_game_day_started_through_the_api_opens_a_drill_incident(token_client_for, member, model, frozen):
    client = token_client_for(member)
    created = _plan(client, participants=["priya"])
    assert created.status_code == 201, created.json()
    game_day = created.json()
    assert game_day["facilitator"]["username"] == "priya" and game_day["state"] == "planned"
    started = client.post(f"{GAME_DAYS}{game_day['id']}/start/")
    assert started.status_code == 200, started.json()
    assert started.json()["state"] == "running"
    incident = Incident.objects.get(pk=started.json()["incident"])
    assert incident.kind == IncidentKind.GAME_DAY and incident.is_drill
    # DORA and MTTx figures read incidents without drills.
    assert not Incident.objects.excluding_drills().filter(pk=incident.pk).exists()
    incident_body = client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert incident_body["kind"] == "game_day"
    # The insights the API serves count it among drills, never among incidents or in time to restore.
    incidents = client.get("/api/v1/insights/incidents/").json()["overall"]
    assert incidents["total"] == 0 and incidents["mitigate_median"] is None
    assert client.get("/api/v1/insights/game-days/").json()["overall"]["drills"] == 1
    finished = client.post(
        f"{GAME_DAYS}{game_day['id']}/finish/", {"hypothesis_held": False, "observations": "Alert fired late."}
    )
    assert finished.status_code == 200, finished.json()
    assert client.get("/api/v1/insights/incidents/").json()["overall"]["total"] == 0
    # A good deployment the drill names as its cause is no change failure, and the drill no time to restore.
    deployment = DeploymentFactory(
        model_version=ModelVersionFactory(model=model, version="12"),
        environment="staging",
        status=DeploymentStatus.SUCCEEDED,
        started_at=NOW - timedelta(hours=1),
        finished_at=NOW - timedelta(minutes=50),
        last_event_at=NOW - timedelta(minutes=50),
    )
    incident_link_deployment(incident=incident, deployment=deployment, role=LinkRole.CAUSE)
    (team_row,) = client.get("/api/v1/insights/dora/", {"environment": "staging"}).json()["teams"]
    assert (team_row["deployments"], team_row["change_failures"], team_row["restore_count"]) == (1, 0, 0)


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("finish", {"hypothesis_held": True}, "Cannot finish a planned game day; allowed: start, abort."),
    ],
)
def test_invalid_game_day_transition_is_400_naming_the_allowed(
    token_client_for, game_day, facilitator, action, body, message
):
    response = token_client_for(facilitator).post(f"{GAME_DAYS}{game_day.pk}/{action}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": message, "state": "planned", "allowed": ["start", "abort"]}


def test_finished_game_day_refuses_everything(token_client_for, game_day, facilitator):
    client = token_client_for(facilitator)
    assert client.post(f"{GAME_DAYS}{game_day.pk}/start/").status_code == 200
    finished = client.post(
        f"{GAME_DAYS}{game_day.pk}/finish/", {"hypothesis_held": False, "observations": "Slow."}, format="json"
    )
    assert finished.status_code == 200 and finished.json()["hypothesis_held"] is False
    for action, body in (("start", {}), ("finish", {"hypothesis_held": True}), ("abort", {"reason": "x"})):
        response = client.post(f"{GAME_DAYS}{game_day.pk}/{action}/", body, format="json")
        assert response.status_code == 400 and response.json()["allowed"] == []


def test_finish_without_the_verdict_is_400(token_client_for, game_day, facilitator):
    client = token_client_for(facilitator)
    client.post(f"{GAME_DAYS}{game_day.pk}/start/")
    response = client.post(f"{GAME_DAYS}{game_day.pk}/finish/", {"observations": "?"}, format="json")
    assert response.status_code == 400 and "hypothesis_held" in response.json()


def test_permissions_outsider_member_lead(token_client_for, game_day, outsider, member, lead, other_lead):
    url = f"{GAME_DAYS}{game_day.pk}/"
    assert token_client_for(outsider).get(url).status_code == 200
    assert token_client_for(outsider).post(f"{url}start/").status_code == 403
    assert token_client_for(other_lead).post(f"{url}start/").status_code == 403
    assert token_client_for(outsider).patch(url, {"title": "Mine"}, format="json").status_code == 403
    # A member who does not facilitate may edit the plan but not start it.
    assert token_client_for(member).patch(url, {"title": "Renamed"}, format="json").status_code == 200
    refused = token_client_for(member).post(f"{url}start/")
    assert refused.status_code == 403
    assert refused.json()["message"] == game_day_services.NOT_FACILITATOR_OR_LEAD.format(
        team=game_day.team, action="start"
    )
    assert token_client_for(lead).post(f"{url}start/").status_code == 200
    # Anyone in the team may abort.
    assert token_client_for(outsider).post(f"{url}abort/", {"reason": "x"}, format="json").status_code == 403
    assert token_client_for(member).post(f"{url}abort/", {"reason": "Too noisy."}, format="json").status_code == 200


def test_restricted_game_day_and_its_drill_are_hidden_from_outsiders(token_client_for, game_day, facilitator, outsider):
    GameDay.objects.filter(pk=game_day.pk).update(restricted=True)
    started = token_client_for(facilitator).post(f"{GAME_DAYS}{game_day.pk}/start/").json()
    client = token_client_for(outsider)
    assert client.get(f"{GAME_DAYS}{game_day.pk}/").status_code == 404
    assert client.post(f"{GAME_DAYS}{game_day.pk}/abort/", {"reason": "x"}, format="json").status_code == 404
    assert client.get(f"/api/v1/incidents/{started['incident']}/").status_code == 404


def test_state_and_team_are_not_patched(token_client_for, game_day, member):
    response = token_client_for(member).patch(f"{GAME_DAYS}{game_day.pk}/", {"state": "finished"}, format="json")
    assert (
        response.status_code == 400 and "POST /api/v1/game-days/{id}/start|finish|abort/" in response.json()["state"][0]
    )


def test_plan_in_another_team_is_403(token_client_for, member, frozen):
    TeamFactory(slug="recsys", name="Recommendations")
    assert _plan(token_client_for(member), team="recsys", model="").status_code == 403


def test_game_day_filters(token_client_for, member, game_day):
    client = token_client_for(member)
    assert client.get(f"{GAME_DAYS}?state=planned&team=fraud").json()["count"] == 1
    assert client.get(f"{GAME_DAYS}?state=running").json()["count"] == 0
    assert client.get(f"{GAME_DAYS}?model=fraud-detector&environment=staging").json()["count"] == 1


def test_schema_documents_the_endpoints(token_client_for, member):
    schema = token_client_for(member).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/experiments/",
        "/api/v1/experiments/{id}/conclude/",
        "/api/v1/game-days/",
        "/api/v1/game-days/{id}/start/",
        "/api/v1/game-days/{id}/finish/",
        "/api/v1/game-days/{id}/abort/",
    ):
        assert path in schema["paths"], path


# Every move of both lifecycles through the API: the allowed ones answer 200, the others 400 naming the allowed.
GAME_DAY_ACTIONS = {
    "start": {},
    "finish": {"hypothesis_held": True, "observations": "Held."},
    "abort": {"reason": "Abort condition met."},
}
GAME_DAY_PATHS = {
    "planned": [],
    "running": ["start"],
    "finished": ["start", "finish"],
    "aborted": ["abort"],
    "aborted while running": ["start", "abort"],
}


@pytest.mark.parametrize("state", sorted(GAME_DAY_PATHS))
@pytest.mark.parametrize("action", sorted(GAME_DAY_ACTIONS))
def test_every_game_day_move_through_the_api(token_client_for, game_day, facilitator, state, action):
    client = token_client_for(facilitator)
    for step in GAME_DAY_PATHS[state]:
        assert (
            client.post(f"{GAME_DAYS}{game_day.pk}/{step}/", GAME_DAY_ACTIONS[step], format="json").status_code == 200
        )
    current = GameDay.objects.get(pk=game_day.pk).state
    allowed = game_day_services.game_day_allowed_actions(game_day=GameDay.objects.get(pk=game_day.pk))
    response = client.post(f"{GAME_DAYS}{game_day.pk}/{action}/", GAME_DAY_ACTIONS[action], format="json")
    if action in allowed:
        assert response.status_code == 200, response.json()
        target = {"start": "running", "finish": "finished", "abort": "aborted"}[action]
        assert response.json()["state"] == target
    else:
        assert response.status_code == 400
        assert response.json() == {
            "message": game_day_services.INVALID_TRANSITION.format(
                action=action, current=current, allowed=", ".join(allowed) or "none"
            ),
            "state": current,
            "allowed": allowed,
        }
        assert GameDay.objects.get(pk=game_day.pk).state == current


@pytest.mark.parametrize("first", [None, "promoted", "rolled_back", "aborted"])
@pytest.mark.parametrize("outcome", ["promoted", "rolled_back", "aborted"])
def test_every_experiment_conclusion_through_the_api(token_client_for, member, experiment, first, outcome):
    client = token_client_for(member)
    url = f"{EXPERIMENTS}{experiment.pk}/conclude/"
    if first is not None:
        assert client.post(url, {"outcome": first, "reason": "First."}, format="json").status_code == 200
    response = client.post(url, {"outcome": outcome, "reason": "Decided."}, format="json")
    if first is None:
        assert response.status_code == 200 and response.json()["outcome"] == outcome
        assert response.json()["ended_at"] is not None
    else:
        assert response.status_code == 400
        assert response.json() == {
            "message": f"Cannot move an experiment from {first} to {outcome}; allowed: none.",
            "state": first,
            "allowed": [],
        }
    unknown = client.post(url, {"outcome": "running", "reason": "Again."}, format="json")
    assert unknown.status_code == 400 and "outcome" in unknown.json()
