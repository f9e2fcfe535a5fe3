"""What schemathesis found the API answering against its own schema, each kept fixed by a plain test.

Blank URLs answered as "" where the schema promised a URI, team-less rows answered null where the schema
promised a string, two lists answered in another shape than declared, and filters that read a typo as
"no filter" (tests/api/test_schemathesis.py walks the whole schema; these name each case).
"""

import pytest

from config.api import FILTER_MEANINGLESS
from config.validation import NOT_A_BOOLEAN, NOT_TEXT, PARAMETER_EMPTY
from incidents.pagination import PAGE_SIZE_INVALID
from postmortems.services.templates import template_builtins_ensure
from tests.factories import (
    ActionItemFactory,
    DeploymentFactory,
    LearningFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    return api_client.get("/api/schema/?format=json").json()


def component(schema, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_an_action_item_without_post_mortem_or_tracker_answers_null_as_declared(token_client_for, member, team, schema):
    item = ActionItemFactory(team=team, owner=member, tracker_url="")
    client = token_client_for(member)
    body = client.get(f"/api/v1/action-items/{item.pk}/").json()
    assert body["postmortem"] is None
    assert body["tracker_url"] is None
    properties = component(schema, "ActionItem")["properties"]
    assert properties["postmortem"].get("nullable") is True
    assert properties["tracker_url"]["nullable"] is True


def test_an_action_items_tracker_url_is_set_and_cleared_with_null(token_client_for, member, team):
    item = ActionItemFactory(team=team, owner=member)
    client = token_client_for(member)
    url = f"/api/v1/action-items/{item.pk}/"
    answer = client.patch(url, {"tracker_url": "https://tracker.example.com/ML-12"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["tracker_url"] == "https://tracker.example.com/ML-12"
    answer = client.patch(url, {"tracker_url": None}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["tracker_url"] is None
    item.refresh_from_db()
    assert item.tracker_url == ""


def test_a_deployment_without_run_url_answers_null_as_declared(token_client_for, member, team, schema):
    source = SourceFactory(team=team)
    deployment = DeploymentFactory(source=source, run_url="")
    body = token_client_for(member).get(f"/api/v1/deployments/{deployment.pk}/").json()
    assert body["run_url"] is None
    run_url = component(schema, "Deployment")["properties"]["run_url"]
    assert run_url["nullable"] is True


def test_team_less_learnings_and_built_in_templates_answer_null_as_declared(token_client_for, member, schema):
    LearningFactory(team=None)
    template_builtins_ensure()
    client = token_client_for(member)
    assert client.get("/api/v1/learnings/").json()["results"][0]["team"] is None
    assert all(template["team"] is None for template in client.get("/api/v1/templates/").json())
    assert component(schema, "Learning")["properties"]["team"]["nullable"] is True
    assert component(schema, "Template")["properties"]["team"]["nullable"] is True


def test_the_timeline_and_the_findings_are_declared_in_the_shape_they_answer(schema):
    timeline = schema["paths"]["/api/v1/incidents/{id}/timeline/"]["get"]["responses"]["200"]
    reference = timeline["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(component(schema, reference)["required"]) == {"count", "results"}
    findings = schema["paths"]["/api/v1/postmortems/{id}/findings/"]["get"]["responses"]["200"]
    assert findings["content"]["application/json"]["schema"]["type"] == "array"


def test_publishing_an_unreadable_body_answers_the_declared_refusal(token_client_for, member, schema):
    refusal = schema["paths"]["/api/v1/postmortems/{id}/publish/"]["post"]["responses"]["400"]
    reference = refusal["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert component(schema, reference)["required"] == ["message"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("/api/v1/deliveries/?status=", "status", PARAMETER_EMPTY),
        ("/api/v1/incidents/?detected_after=", "detected_after", PARAMETER_EMPTY),
        ("/api/v1/incidents/?detected_before=%20", "detected_before", PARAMETER_EMPTY),
        ("/api/v1/incidents/?team=", "team", PARAMETER_EMPTY),
        ("/api/v1/sources/?is_active=0.12", "is_active", FILTER_MEANINGLESS),
        ("/api/v1/sources/?is_active=", "is_active", PARAMETER_EMPTY),
        ("/api/v1/notifications/?unread=maybe", "unread", None),
        ("/api/v1/insights/dora/?compare=6.6e-237", "compare", NOT_A_BOOLEAN),
        ("/api/v1/models/?page_size=abc", "page_size", PAGE_SIZE_INVALID.format(max=200)),
        ("/api/v1/models/?page_size=0", "page_size", PAGE_SIZE_INVALID.format(max=200)),
        ("/api/v1/postmortems/?status=", "status", PARAMETER_EMPTY),
        ("/api/v1/follows/?page=", "page", PARAMETER_EMPTY),
        ("/api/v1/incidents/?page=%20", "page", PARAMETER_EMPTY),
        ("/api/v1/search/?q=drift&kind=", "kind", PARAMETER_EMPTY),
        ("/api/v1/search/?q=drift&tag=%20", "tag", PARAMETER_EMPTY),
    ],
)
def test_a_query_parameter_that_says_nothing_is_refused_by_name(token_client_for, member, query, field, message):
    answer = token_client_for(member).get(query)
    assert answer.status_code == 400
    body = answer.json()
    assert field in body
    if message:
        assert body[field] == [message]


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/sources/?is_active=true",
        "/api/v1/sources/?is_active=false",
        "/api/v1/incidents/?detected_after=2026-01-01",
        "/api/v1/notifications/?unread=true",
        "/api/v1/insights/dora/?compare=1",
        "/api/v1/insights/dora/?compare=false",
        "/api/v1/models/?page_size=5",
        "/api/v1/follows/?page=1",
        "/api/v1/incidents/",
        "/api/v1/postmortems/?status=draft&q=",
        "/api/v1/search/?q=drift&tag=canary",
        "/api/v1/channels/?team=fraud",
        f"/api/v1/channels/?team={'9' * 30}",
    ],
)
def test_a_query_parameter_that_says_something_is_read(token_client_for, member, query):
    assert token_client_for(member).get(query).status_code == 200


def test_a_page_size_past_the_largest_reads_as_the_largest(token_client_for, member, team):
    model = RegisteredModelFactory(team=team)
    ModelVersionFactory(model=model)
    answer = token_client_for(member).get("/api/v1/models/?page_size=99999999999999999999999")
    assert answer.status_code == 200
    assert answer.json()["count"] == 1


def test_a_number_where_the_schema_says_text_is_refused(token_client_for, member, team):
    item = ActionItemFactory(team=team, owner=member)
    answer = token_client_for(member).patch(f"/api/v1/action-items/{item.pk}/", {"title": 4549}, format="json")
    assert answer.status_code == 400
    assert answer.json()["title"] == [NOT_TEXT]
    item.refresh_from_db()
    assert item.title != "4549"
