"""Malformed and hostile input gets a 4xx with a reason, never a 500."""

import pytest

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

HUGE = "9" * 25


@pytest.fixture
def incident(team):
    return IncidentFactory(team=team)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/incidents/?team={HUGE}", 200),
        (f"/incidents/?model={HUGE}", 200),
        (f"/incidents/?page={HUGE}", 200),
        (f"/incidents/{HUGE}/", 404),
        (f"/models/{HUGE}/", 404),
        (f"/models/?team={HUGE}", 200),
        ("/incidents/?q=a%00b", 400),
        ("/incidents/?detected_after=2026-13-45", 400),
        ("/incidents/?environment=" + "x" * 500, 400),
    ],
)
def test_pages_answer_odd_queries_without_error(client, member, url, status):
    client.force_login(member)
    assert client.get(url).status_code == status


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/api/v1/incidents/?team={HUGE}", 200),
        (f"/api/v1/incidents/{HUGE}/", 404),
        (f"/api/v1/models/{HUGE}/versions/", 404),
        (f"/api/v1/models/?team={HUGE}", 200),
        ("/api/v1/incidents/?q=a%00b", 400),
        ("/api/v1/incidents/?page=0", 404),
        ("/api/v1/incidents/?page_size=abc", 400),
    ],
)
def test_api_answers_odd_queries_without_error(token_client_for, member, url, status):
    response = token_client_for(member).get(url)
    assert response.status_code == status
    if status != 200:
        assert response.json()["message"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("deployments/", {"deployment": HUGE, "role": "cause"}),
        ("versions/", {"model_version": HUGE, "role": "cause"}),
        ("versions/", {"model_version": "-1", "role": "cause"}),
        ("related/", {"reference": HUGE}),
        ("owner/", {"owner": HUGE}),
        ("notes/", {"text": "a\x00b"}),
        ("severity/", {"severity": "<script>"}),
        ("milestones/", {"started_at": "2026-02-30T10:00", "detected_at": "tomorrow"}),
    ],
)
def test_page_forms_refuse_hostile_values(client, member, incident, path, data):
    client.force_login(member)
    assert client.post(f"{incident.get_absolute_url()}{path}", data).status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"team": HUGE, "title": "x"},
        {"team": "fraud", "title": "x", "owner": HUGE},
        {"team": "fraud", "title": "x", "model": HUGE},
        {"team": "fraud", "title": "a\x00b"},
        {"team": ["fraud"], "title": "x"},
        {"team": "fraud", "title": "x", "tags": [{"nested": True}]},
        {"team": "fraud", "title": "x" * 301},
        ["not", "an", "object"],
    ],
)
def test_api_create_refuses_hostile_payloads(token_client_for, member, payload):
    response = token_client_for(member).post("/api/v1/incidents/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["message"]


def test_api_actions_refuse_hostile_payloads(token_client_for, member, incident):
    client = token_client_for(member)
    url = f"/api/v1/incidents/{incident.pk}/"
    assert client.post(f"{url}assign/", {"owner": HUGE}, format="json").status_code == 400
    assert client.post(f"{url}severity/", {"severity": ["SEV1"]}, format="json").status_code == 400
    assert client.post(f"{url}timeline/", {"text": "x" * 10_001}, format="json").status_code == 400
    assert client.patch(url, {"title": "a\x00b"}, format="json").status_code == 400
    assert client.patch(url, {"restricted": "perhaps"}, format="json").status_code == 400
    assert client.patch(url, "[]", content_type="application/json").status_code == 400
