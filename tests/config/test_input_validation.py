"""Ids, numbers, dates and text that Python or the database cannot hold get a 4xx, never a 500.

One row per reproducer of the class: Unicode digits ("²" passes ``str.isdigit``), integers past 64
bits, dates at the edges of the calendar, non-numeric path ids, lone surrogates and NUL bytes.
"""

import json

import pytest

from config.validation import (
    DATE_OUT_OF_RANGE,
    ID_MAX,
    JSON_TEXT_REFUSED,
    TEXT_HAS_SURROGATE,
    id_parse,
    text_repair,
)
from incidents.ingest.payload_preview import payload_preview
from postmortems.services.postmortems import postmortem_start
from tests.factories import (
    ActionItemFactory,
    DeliveryFactory,
    IncidentFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

SUPERSCRIPT = "²"
ARABIC_DIGITS = "١٢"
HUGE = "9" * 30
SURROGATE_BODY = '{"environment_severity":{"prod\\ud800":"SEV1"}}'


@pytest.fixture
def incident(team):
    return IncidentFactory(team=team)


@pytest.fixture
def source(team):
    return SourceFactory(team=team)


def test_ids_are_ascii_digits_within_64_bits():
    assert id_parse("12") == 12
    assert id_parse(" 12 ") == 12
    assert id_parse(str(ID_MAX)) == ID_MAX
    for value in (SUPERSCRIPT, ARABIC_DIGITS, HUGE, str(ID_MAX + 1), "0", "-1", "1e3", "1.0", "", True, 2**64):
        assert id_parse(value) is None, value


def test_text_repair_replaces_lone_surrogates_and_drops_nul():
    assert text_repair("a\x00b\ud800c") == "ab\ufffdc"
    assert text_repair("😀") == "😀"


@pytest.mark.parametrize(
    "query",
    [
        f"incidents/?team={SUPERSCRIPT}",
        f"incidents/?model={SUPERSCRIPT}",
        f"incidents/?team={ARABIC_DIGITS}",
        f"models/?team={SUPERSCRIPT}",
        f"sources/?team={SUPERSCRIPT}",
        f"sources/?team={HUGE}",
        f"deployments/?team={SUPERSCRIPT}",
        f"deployments/?model={SUPERSCRIPT}",
        f"deployments/?team={HUGE}",
        f"deployments/?model={HUGE}",
        f"deployments/?source={HUGE}",
        f"postmortems/?team={SUPERSCRIPT}",
        f"postmortems/?incident={SUPERSCRIPT}",
        f"postmortems/?incident={HUGE}",
        f"action-items/?owner={SUPERSCRIPT}",
        f"action-items/?team={SUPERSCRIPT}",
        f"action-items/?incident={HUGE}",
        "action-items/?owner=%25",
        f"deliveries/?source={HUGE}",
        "deliveries/?source=-1.79e308",
        "incidents/?detected_before=9999-12-31",
        "incidents/?detected_after=0001-01-01",
        "search/?q=x&since=0001-01-01&until=9999-12-31",
        "learnings/?until=9999-12-31",
        "incidents/?detected_after=",
        "incidents/?detected_before=",
    ],
)
def test_api_filters_answer_4xx_or_200_never_500(token_client_for, member, query):
    response = token_client_for(member).get(f"/api/v1/{query}")
    assert response.status_code in (200, 400), response.content[:300]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("incidents/?detected_before=9999-12-31", DATE_OUT_OF_RANGE),
        ("search/?q=x&since=0001-01-01", DATE_OUT_OF_RANGE),
        ("deliveries/?source=-1.79e308", "id"),
    ],
)
def test_api_filters_name_what_is_wrong(token_client_for, member, query, message):
    response = token_client_for(member).get(f"/api/v1/{query}")
    assert response.status_code == 400
    assert message in json.dumps(response.json())


@pytest.mark.parametrize(
    "path", ["postmortems/abc/", "templates/null,null/", f"incidents/{SUPERSCRIPT}/", f"postmortems/{HUGE}/"]
)
def test_api_non_numeric_path_ids_are_not_found(token_client_for, member, path):
    assert token_client_for(member).get(f"/api/v1/{path}").status_code == 404


@pytest.mark.parametrize(
    "path", [f"postmortems/{HUGE}/", f"postmortems/templates/{HUGE}/", f"actions/{HUGE}/", f"learnings/{HUGE}/"]
)
def test_page_path_ids_past_64_bits_are_not_found(client, member, path):
    client.force_login(member)
    assert client.get(f"/{path}").status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"team": SUPERSCRIPT, "title": "x"},
        {"team": "fraud", "title": "x", "owner": SUPERSCRIPT},
        {"team": "fraud", "title": "x", "model": SUPERSCRIPT},
        {"team": "fraud", "title": "x", "started_at": "9999-12-31T00:00:00Z"},
        {"team": "fraud", "title": "x", "detected_at": "0001-01-01T00:00:00Z"},
    ],
)
def test_api_incident_bodies_are_validated(token_client_for, member, payload):
    response = token_client_for(member).post("/api/v1/incidents/", payload, format="json")
    assert response.status_code == 400, response.content[:300]


def test_api_incident_may_not_start_after_it_was_detected(token_client_for, member):
    payload = {"team": "fraud", "title": "x", "started_at": "2099-01-01T00:00:00Z"}
    response = token_client_for(member).post("/api/v1/incidents/", payload, format="json")
    assert response.status_code == 400
    assert "started_at" in response.json() or "detected_at" in response.json()


def test_api_assign_and_source_bodies_are_validated(token_client_for, member, incident):
    client = token_client_for(member)
    response = client.post(f"/api/v1/incidents/{incident.pk}/assign/", {"owner": SUPERSCRIPT}, format="json")
    assert response.status_code == 400
    for team in (SUPERSCRIPT, HUGE):
        response = client.post("/api/v1/sources/", {"team": team, "kind": "generic", "name": "x"}, format="json")
        assert response.status_code == 400
    response = client.post(
        "/api/v1/sources/", {"team": "fraud", "kind": "generic", "name": "x", "default_model": HUGE}, format="json"
    )
    assert response.status_code == 400


def test_api_action_item_bodies_are_validated(token_client_for, member, incident):
    client = token_client_for(member)
    body = {"title": "x", "owner": SUPERSCRIPT, "incident": incident.pk, "verification": "v"}
    assert client.post("/api/v1/action-items/", body, format="json").status_code == 400
    body = {"title": "x", "owner": member.pk, "incident": HUGE, "verification": "v"}
    assert client.post("/api/v1/action-items/", body, format="json").status_code == 400
    body = {"title": "x", "owner": member.pk, "incident": int(HUGE), "verification": "v", "due_date": "9999-12-31"}
    assert client.post("/api/v1/action-items/", body, format="json").status_code == 400


def test_api_learning_refuses_models_past_64_bits(token_client_for, member):
    body = {"title": "t", "body": "b", "models": [int(HUGE)]}
    response = token_client_for(member).post("/api/v1/learnings/", body, format="json")
    assert response.status_code == 400
    assert "models" in response.json()


def test_api_refuses_lone_surrogates_in_json_keys(token_client_for, member, source):
    response = token_client_for(member).patch(
        f"/api/v1/sources/{source.pk}/", SURROGATE_BODY, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == JSON_TEXT_REFUSED.format(problem=TEXT_HAS_SURROGATE)
    source.refresh_from_db()
    assert not any("\ud800" in key for key in source.environment_severity)
    assert token_client_for(member).get("/api/v1/sources/").status_code == 200


@pytest.mark.parametrize(
    "body",
    ['{"title": "x\\ud800"}', '{"title": "ok", "summary": "a\\u0000b"}', '{"tags": ["\\udfff"]}'],
)
def test_api_refuses_bad_text_in_any_field(token_client_for, member, incident, body):
    client = token_client_for(member)
    response = client.patch(f"/api/v1/incidents/{incident.pk}/", body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        f"/incidents/?team={SUPERSCRIPT}",
        f"/incidents/?model={SUPERSCRIPT}",
        "/incidents/?detected_before=9999-12-31",
        "/learnings/?until=9999-12-31",
        "/search/?q=x&until=9999-12-31",
        f"/search/?q=x&page={SUPERSCRIPT}",
        f"/actions/?owner={SUPERSCRIPT}",
        "/actions/?owner=%25",
    ],
)
def test_pages_answer_odd_queries_without_error(client, member, query):
    client.force_login(member)
    assert client.get(query).status_code in (200, 400)


def test_insights_refuse_a_period_at_the_calendars_edge(client, member):
    client.force_login(member)
    response = client.get("/insights/?period=custom&start=0001-01-01&end=0001-01-07&compare=on")
    assert response.status_code in (200, 400)
    assert DATE_OUT_OF_RANGE in response.content.decode()


def test_digest_preferences_refuse_teams_past_64_bits(client, member):
    client.force_login(member)
    response = client.post("/digest/preferences/", {"subscribed": "on", "followed_teams": [HUGE]})
    assert response.status_code in (200, 400)


def test_new_action_page_with_a_unicode_digit_incident_is_not_found(client, member):
    client.force_login(member)
    assert client.get(f"/actions/new/?incident={SUPERSCRIPT}").status_code == 404


def test_bulk_action_form_refuses_unicode_digits(client, member, incident):
    ActionItemFactory(incident=incident, owner=member)
    client.force_login(member)
    response = client.post("/actions/bulk/", {"items": [SUPERSCRIPT], "status": "done"})
    assert response.status_code in (302, 400)


def test_relating_incidents_by_a_unicode_digit_reference_is_refused(client, member, incident):
    client.force_login(member)
    response = client.post(f"/incidents/{incident.pk}/related/", {"reference": SUPERSCRIPT})
    assert response.status_code == 400


def test_learning_form_refuses_models_past_64_bits(client, member, team):
    client.force_login(member)
    response = client.post(
        "/learnings/new/", {"title": "t", "body": "b", "team": team.pk, "registered_models": [HUGE, SUPERSCRIPT]}
    )
    assert response.status_code in (200, 400)


def test_autosave_refuses_a_version_past_64_bits(client, lead, incident):
    postmortem = postmortem_start(incident=incident, actor=lead)
    client.force_login(lead)
    for based_on in (HUGE, SUPERSCRIPT):
        response = client.post(f"/postmortems/{postmortem.pk}/autosave/", {"based_on": based_on, "title": "t"})
        assert response.status_code == 400


def test_delivery_page_shows_a_signed_body_with_a_lone_surrogate(client, member, source):
    delivery = DeliveryFactory(source=source, body=b'{"title": "deploy \\ud800 failed"}')
    client.force_login(member)
    response = client.get(f"/sources/{source.pk}/deliveries/{delivery.pk}/")
    assert response.status_code == 200
    assert "deploy \ufffd failed" in response.content.decode()


def test_payload_preview_never_yields_unencodable_text():
    preview = payload_preview(body=b'{"a\\ud800": "\\udfff"}', content_type="application/json")
    preview.text.encode("utf-8")


def test_pipeline_event_text_from_a_sender_is_repaired():
    from incidents.ingest.events import EventKind, PipelineEvent

    event = PipelineEvent(kind=EventKind.PIPELINE, title="deploy \ud800 failed", environment="prod\x00")
    assert event.title == "deploy \ufffd failed"
    assert event.environment == "prod"
