from datetime import timedelta

import pytest

from incidents.models import Incident, ModelAlias, TimelineEntry
from incidents.services import incidents as services
from tests.factories import (
    AliasMoveFactory,
    DeploymentFactory,
    IncidentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    TeamFactory,
)
from tests.incidents.conftest import NOW

pytestmark = pytest.mark.django_db

API = "/api/v1/incidents/"


@pytest.fixture
def model(team):
    return RegisteredModelFactory(team=team, name="fraud-detector")


@pytest.fixture
def incident(team, lead, model, frozen):
    return services.incident_open(
        team=team,
        title="fraud-detector v9 failed to deploy to production",
        severity="SEV2",
        environment="production",
        model=model,
        started_at=NOW - timedelta(hours=1),
        detected_at=NOW - timedelta(minutes=30),
        created_by=lead,
    )


def test_api_requires_authentication(api_client):
    response = api_client.get(API)
    assert response.status_code == 401 and response.json()["message"]


def test_list_with_filters(token_client_for, member, team, model, frozen):
    recsys = TeamFactory(slug="recsys", name="Recommendations")
    IncidentFactory(team=team, model=model, severity="SEV1", title="Outage", detected_at=NOW - timedelta(days=1))
    IncidentFactory(team=team, status="resolved", severity="SEV3", title="Drift", detected_at=NOW - timedelta(days=5))
    IncidentFactory(team=recsys, severity="SEV2", kind="data_pipeline", environment="staging", title="Late partition")
    client = token_client_for(member)

    def listed(query: str) -> set[str]:
        response = client.get(f"{API}?{query}")
        assert response.status_code == 200, response.json()
        return {row["title"] for row in response.json()["results"]}

    assert listed("") == {"Outage", "Drift", "Late partition"}
    assert listed("team=recsys") == {"Late partition"}
    assert listed(f"team={team.pk}") == {"Outage", "Drift"}
    assert listed("status=open") == {"Outage", "Late partition"}
    assert listed("status=open&status=resolved&severity=SEV3") == {"Drift"}
    assert listed("kind=data_pipeline") == {"Late partition"}
    assert listed("model=fraud-detector") == {"Outage"}
    assert listed(f"model={model.pk}") == {"Outage"}
    assert listed("environment=staging") == {"Late partition"}
    assert listed("detected_after=2026-03-08&detected_before=2026-03-09") == {"Outage"}
    assert listed("q=partition") == {"Late partition"}
    body = client.get(API).json()
    assert body["count"] == 3 and body["count_capped"] is False
    first = body["results"][0]
    assert {"reference", "severity", "status", "team", "owner", "model", "tags", "web_url"} <= set(first)


@pytest.mark.parametrize(
    ("query", "field"),
    [("severity=SEV9", "severity"), ("status=on-fire", "status"), ("detected_after=soon", "detected_after")],
)
def test_list_refuses_bad_filters(token_client_for, member, query, field):
    response = token_client_for(member).get(f"{API}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert field in body and body["message"].startswith(field)


def test_restricted_incidents_are_invisible_to_outsiders(token_client_for, team, outsider, member):
    secret = IncidentFactory(team=team, restricted=True)
    client = token_client_for(outsider)
    assert client.get(API).json()["count"] == 0
    assert client.get(f"{API}{secret.pk}/").status_code == 404
    assert client.get(f"{API}{secret.pk}/timeline/").status_code == 404
    assert client.post(f"{API}{secret.pk}/resolve/").status_code == 404
    assert token_client_for(member).get(f"{API}{secret.pk}/").status_code == 200


def test_create_declares_an_incident(token_client_for, member, team, model, frozen):
    response = token_client_for(member).post(
        API,
        {
            "team": "fraud",
            "title": "Scores stuck at zero",
            "severity": "SEV1",
            "kind": "model_regression",
            "model": "fraud-detector",
            "environment": "production",
            "tags": ["skew", "Card Not Present"],
            "owner": "priya",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == f"INC-{body['id']}"
    assert (body["severity"], body["status"], body["owner"]["username"]) == ("SEV1", "open", "priya")
    assert body["model"] == {"id": model.pk, "name": "fraud-detector"}
    assert body["tags"] == ["card-not-present", "skew"]
    incident = Incident.objects.get(pk=body["id"])
    assert incident.created_by == member and incident.detected_at == NOW
    assert TimelineEntry.objects.filter(incident=incident, kind="status").count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "text"),
    [
        ({"team": "nowhere", "title": "x"}, "team", "No team 'nowhere'"),
        ({"team": "fraud", "title": ""}, "title", "may not be blank"),
        ({"team": "fraud", "title": "x", "severity": "SEV0"}, "severity", "not a valid choice"),
        ({"team": "fraud", "title": "x", "model": "ghost"}, "model", "No registered model 'ghost'"),
        ({"team": "fraud", "title": "x", "owner": "outsider"}, "owner", "is not a member of Fraud"),
        ({"team": "fraud", "title": "x", "tags": ["!!!"]}, "tags", "is not usable"),
        ({"team": "fraud", "title": "x", "tags": "skew"}, "tags", "Expected a list"),
        (
            {"team": "fraud", "title": "x", "started_at": "2026-03-10T11:00:00Z", "detected_at": "2026-03-10T10:00Z"},
            "detected_at",
            "Detected cannot be earlier than started",
        ),
        ({"team": "fraud", "title": "x", "detected_at": "last tuesday"}, "detected_at", "wrong format"),
    ],
)
def test_create_refuses_bad_input_precisely(token_client_for, member, outsider, payload, field, text):
    response = token_client_for(member).post(API, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert text in " ".join(body[field]) and body["message"]
    assert not Incident.objects.exists()


def test_create_refuses_malformed_json(token_client_for, member):
    response = token_client_for(member).post(API, "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["message"]


def test_create_in_another_team_is_forbidden(token_client_for, outsider, team):
    response = token_client_for(outsider).post(API, {"team": "fraud", "title": "x"}, format="json")
    assert response.status_code == 403
    assert "Only members of Fraud" in response.json()["message"]


def test_partial_update_edits_fields_and_milestones(token_client_for, member, incident):
    response = token_client_for(member).patch(
        f"{API}{incident.pk}/",
        {"title": "v9 canary failed", "tags": ["canary"], "started_at": "2026-03-10T10:30:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["title"] == "v9 canary failed" and body["tags"] == ["canary"]
    assert body["started_at"] == "2026-03-10T10:30:00Z"
    kinds = set(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))
    assert {"edit", "milestone"} <= kinds


@pytest.mark.parametrize(
    ("payload", "field", "text"),
    [
        ({"status": "resolved"}, "status", "use POST /api/v1/incidents/{id}/mitigate|resolve|close|reopen/"),
        ({"severity": "SEV1"}, "severity", "/severity/"),
        ({"owner": "priya"}, "owner", "/assign/"),
        ({"team": "recsys"}, "team", "cannot be changed"),
        ({"detected_at": "2026-03-10T09:00:00Z"}, "detected_at", "cannot be earlier than started"),
        ({"mitigated_at": "2026-03-10T11:50:00Z"}, "mitigated_at", "must stay empty while the incident is open"),
        ({"kind": "volcano"}, "kind", "not a valid choice"),
        ({"title": "   "}, "title", "may not be blank"),
    ],
)
def test_partial_update_refuses_bad_input(token_client_for, member, incident, payload, field, text):
    response = token_client_for(member).patch(f"{API}{incident.pk}/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert text in " ".join(response.json()[field])


def test_put_and_delete_are_not_offered(token_client_for, member, incident):
    client = token_client_for(member)
    assert client.put(f"{API}{incident.pk}/", {"title": "x"}, format="json").status_code == 405
    assert client.delete(f"{API}{incident.pk}/").status_code == 405


def test_status_actions(token_client_for, member, incident, postmortem_not_needed):
    client = token_client_for(member)
    acknowledged = client.post(f"{API}{incident.pk}/acknowledge/")
    assert acknowledged.status_code == 200 and acknowledged.json()["owner"]["username"] == "priya"
    assert client.post(f"{API}{incident.pk}/acknowledge/").status_code == 400
    assert client.post(f"{API}{incident.pk}/mitigate/", {"note": "Rolled back."}, format="json").json()["status"] == (
        "mitigated"
    )
    assert client.post(f"{API}{incident.pk}/resolve/").json()["status"] == "resolved"
    blocked = client.post(f"{API}{incident.pk}/close/")
    assert blocked.status_code == 400
    assert blocked.json()["message"].startswith("Publish a post-mortem before closing this incident")
    postmortem_not_needed(incident, member)
    closed = client.post(f"{API}{incident.pk}/close/").json()
    assert closed["status"] == "closed" and closed["closed_at"] == "2026-03-10T12:00:00Z"
    assert client.post(f"{API}{incident.pk}/reopen/").json()["status"] == "open"
    assert TimelineEntry.objects.get(incident=incident, new_value="mitigated").text == "Rolled back."


def test_invalid_transition_answers_400_naming_the_allowed_ones(
    token_client_for, member, incident, postmortem_not_needed
):
    postmortem_not_needed(incident, member)
    client = token_client_for(member)
    client.post(f"{API}{incident.pk}/resolve/")
    client.post(f"{API}{incident.pk}/close/")
    response = client.post(f"{API}{incident.pk}/resolve/")
    assert response.status_code == 400
    body = response.json()
    assert body["allowed"] == ["open"] and body["allowed_actions"] == ["reopen"] and body["status"] == "closed"
    assert body["message"] == "Cannot move an incident from closed to resolved; allowed: open."


def test_severity_and_assign_actions(token_client_for, member, lead, outsider, incident):
    client = token_client_for(member)
    response = client.post(f"{API}{incident.pk}/severity/", {"severity": "SEV1", "note": "Declines"}, format="json")
    assert response.status_code == 200 and response.json()["severity"] == "SEV1"
    entry = TimelineEntry.objects.filter(incident=incident, kind="severity").get()
    assert (entry.old_value, entry.new_value) == ("SEV2", "SEV1")
    assert client.post(f"{API}{incident.pk}/severity/", {"severity": "SEV1"}, format="json").status_code == 400
    assert client.post(f"{API}{incident.pk}/severity/", {"severity": "HIGH"}, format="json").status_code == 400
    assert (
        client.post(f"{API}{incident.pk}/assign/", {"owner": lead.pk}, format="json").json()["owner"]["id"] == lead.pk
    )
    refused = client.post(f"{API}{incident.pk}/assign/", {"owner": "outsider"}, format="json")
    assert refused.status_code == 400 and "not a member" in refused.json()["message"]
    assert client.post(f"{API}{incident.pk}/assign/", {"owner": "ghost"}, format="json").status_code == 400
    assert client.post(f"{API}{incident.pk}/assign/", {"owner": None}, format="json").json()["owner"] is None


def test_outsiders_read_but_cannot_act(token_client_for, outsider, incident):
    client = token_client_for(outsider)
    assert client.get(f"{API}{incident.pk}/").status_code == 200
    for action in ("acknowledge", "mitigate", "resolve", "severity", "assign", "timeline"):
        response = client.post(
            f"{API}{incident.pk}/{action}/", {"severity": "SEV1", "owner": None, "text": "hi"}, format="json"
        )
        assert response.status_code == 403, action
        assert "Only members of Fraud" in response.json()["message"]
    assert client.patch(f"{API}{incident.pk}/", {"title": "mine"}, format="json").status_code == 403


def test_timeline_lists_entries_and_alias_moves_and_takes_notes(token_client_for, member, outsider, incident, model):
    v8 = ModelVersionFactory(model=model, version="8")
    v9 = ModelVersionFactory(model=model, version="9")
    AliasMoveFactory(to_version=v8, from_version=v9, kind="rollback", moved_at=NOW - timedelta(minutes=10))
    client = token_client_for(member)
    response = client.post(f"{API}{incident.pk}/timeline/", {"text": "Rolled **back** to v8."}, format="json")
    assert response.status_code == 201
    assert response.json()["author"]["username"] == "priya" and response.json()["kind"] == "note"
    assert client.post(f"{API}{incident.pk}/timeline/", {"text": "   "}, format="json").status_code == 400
    listing = token_client_for(outsider).get(f"{API}{incident.pk}/timeline/").json()
    assert listing["count"] == 3
    kinds = [item["kind"] for item in listing["results"]]
    assert kinds == ["status", "alias_move", "note"]
    move = listing["results"][1]
    assert move["id"] is None and move["source"] == "Model registry"
    assert move["alias_move"] == {
        "model": "fraud-detector",
        "alias": "champion",
        "kind": "rollback",
        "from_version": "9",
        "to_version": "8",
    }


def test_models_api_lists_registry_with_counts(token_client_for, outsider, member, team, model):
    v1 = ModelVersionFactory(model=model, version="1", version_number=1)
    v2 = ModelVersionFactory(model=model, version="2", version_number=2)
    ModelAlias.objects.create(model=model, alias="champion", version=v2, updated_at=NOW)
    IncidentFactory(team=team, model=model)
    secret = IncidentFactory(team=team, model=model, restricted=True)
    services.incident_set_model_version_role(incident=secret, model_version=v2, role="cause", actor=member)
    DeploymentFactory(model_version=v2, environment="production", status="failed")
    DeploymentFactory(model_version=v1, environment="staging")
    RegisteredModelFactory(team=TeamFactory(slug="recsys"), name="home-feed-ranker")

    body = token_client_for(outsider).get("/api/v1/models/?team=fraud").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["name"], row["version_count"], row["open_incident_count"]) == ("fraud-detector", 2, 1)
    assert row["aliases"] == {"champion": "2"}
    assert token_client_for(member).get(f"/api/v1/models/{model.pk}/").json()["open_incident_count"] == 2
    assert token_client_for(member).get("/api/v1/models/?q=ranker").json()["count"] == 1

    versions = token_client_for(outsider).get(f"/api/v1/models/{model.pk}/versions/").json()
    assert [version["version"] for version in versions["results"]] == ["2", "1"]
    assert versions["results"][0]["aliases"] == ["champion"]
    assert versions["results"][0]["latest_deployments"][0]["status"] == "failed"
    assert versions["results"][0]["incidents"] == []  # restricted, hidden from an outsider
    mine = token_client_for(member).get(f"/api/v1/models/{model.pk}/versions/").json()
    assert mine["results"][0]["incidents"] == [{"id": secret.pk, "role": "cause"}]
    assert token_client_for(member).get("/api/v1/models/999999/versions/").status_code == 404
