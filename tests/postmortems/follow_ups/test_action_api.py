"""API of action items: filters, creation, updates with validation, bulk changes, hostile input."""

from datetime import date, timedelta

import pytest

from postmortems.models import ActionItem
from postmortems.services.actions import NOT_ALLOWED_TO_CHANGE, VERIFICATION_REQUIRED, WONT_DO_NEEDS_REASON
from tests.factories import ActionItemFactory
from tests.postmortems.follow_ups.conftest import make_postmortem, open_incident

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
URL = "/api/v1/action-items/"


@pytest.fixture
def items(frozen, incident, lead, member, other_team, other_member):
    return {
        "late": ActionItemFactory(incident=incident, owner=member, due_date=TODAY - timedelta(days=2), title="Late"),
        "soon": ActionItemFactory(incident=incident, owner=lead, due_date=TODAY + timedelta(days=2), title="Soon"),
        "other": ActionItemFactory(
            incident=open_incident(other_team, title="GPU canary failed"),
            owner=other_member,
            title="Other team",
            due_date=TODAY + timedelta(days=10),
        ),
    }


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_list_shows_overdue_first(token_client_for, items, member, django_assert_max_num_queries):
    client = token_client_for(member)
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert titles(response) == ["Late", "Soon", "Other team"]
    late = response.json()["results"][0]
    assert late["overdue"] is True and late["owner"]["username"] == "priya" and late["team"] == "fraud"
    assert late["incident_reference"] == f"INC-{items['late'].incident_id}"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"owner": "me"}, ["Late"]),
        ({"owner": "lucia"}, ["Soon"]),
        ({"team": "recsys"}, ["Other team"]),
        ({"status": "open"}, ["Late", "Soon", "Other team"]),
        ({"status": ["done", "wont_do"]}, []),
        ({"overdue": "true"}, ["Late"]),
        ({"overdue": "false"}, ["Soon", "Other team"]),
    ],
)
def test_filters(token_client_for, items, member, query, expected):
    assert titles(token_client_for(member).get(URL, query)) == expected


def test_filters_by_ids(token_client_for, items, member, lead, team):
    client = token_client_for(member)
    assert titles(client.get(URL, {"owner": lead.pk})) == ["Soon"]
    assert titles(client.get(URL, {"team": team.pk})) == ["Late", "Soon"]
    assert titles(client.get(URL, {"incident": items["other"].incident_id})) == ["Other team"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"overdue": "maybe"}, "overdue"),
        ({"status": "finished"}, "status"),
        ({"team": "nope"}, "team"),
        ({"owner": "ghost"}, "owner"),
        ({"owner": "9" * 40}, "owner"),
        ({"incident": "abc"}, "incident"),
        ({"incident": "9" * 40}, "incident"),
        ({"team": "9" * 40}, "team"),
    ],
)
def test_bad_filters_answer_400_with_a_message(token_client_for, items, member, query, field):
    response = token_client_for(member).get(URL, query)
    assert response.status_code == 400
    body = response.json()
    assert field in body and body["message"].startswith(f"{field}: ")


def test_restricted_items_are_hidden_from_outsiders(token_client_for, frozen, team, lead, member, outsider):
    item = ActionItemFactory(incident=open_incident(team, restricted=True, actor=lead), owner=member)
    assert titles(token_client_for(outsider).get(URL)) == []
    assert token_client_for(outsider).get(f"{URL}{item.pk}/").status_code == 404
    assert token_client_for(member).get(f"{URL}{item.pk}/").status_code == 200


def test_create(token_client_for, frozen, incident, lead, member):
    response = token_client_for(lead).post(
        URL,
        {
            "incident": incident.pk,
            "title": "Validate backfill schemas",
            "owner": "priya",
            "kind": "data_validation",
            "verification": "A renamed column fails CI.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"]["id"] == member.pk
    assert body["due_date"] == str(TODAY + timedelta(weeks=6))
    assert ActionItem.objects.get().created_by == lead


def test_create_from_a_postmortem(token_client_for, frozen, incident, lead):
    postmortem = make_postmortem(incident)
    response = token_client_for(lead).post(
        URL, {"postmortem": postmortem.pk, "title": "T", "owner": lead.pk, "verification": "V"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["postmortem"] == postmortem.pk and response.json()["incident"] == incident.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": "T", "owner": "nobody", "verification": "V"}, "owner"),
        ({"title": "T", "owner": "lucia", "verification": "   "}, "verification"),
        ({"title": "T", "owner": "lucia", "verification": "V", "due_date": "2026-02-30"}, "due_date"),
        ({"title": "T", "owner": "lucia", "verification": "V", "due_date": "2020-01-01"}, "due_date"),
        ({"title": "T", "owner": "lucia", "verification": "V", "kind": "blame"}, "kind"),
        ({"title": "T", "owner": "lucia", "verification": "V", "tracker_url": "javascript:alert(1)"}, "tracker_url"),
        ({"title": "<b>" * 100, "owner": "lucia", "verification": "V"}, "title"),
        ({"title": "T", "owner": "lucia", "verification": "V", "incident": 10**30}, "incident"),
        ({"title": "T", "owner": ["lucia"], "verification": "V"}, "owner"),
    ],
)
def test_create_refuses_bad_input(token_client_for, frozen, incident, lead, payload, field):
    payload = {"incident": incident.pk} | payload
    response = token_client_for(lead).post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ActionItem.objects.exists()


def test_create_without_incident(token_client_for, frozen, lead):
    response = token_client_for(lead).post(URL, {"title": "T", "owner": "lucia", "verification": "V"}, format="json")
    assert response.status_code == 400 and "incident" in response.json()


def test_create_needs_team_membership(token_client_for, frozen, incident, outsider):
    response = token_client_for(outsider).post(
        URL, {"incident": incident.pk, "title": "T", "owner": "outsider", "verification": "V"}, format="json"
    )
    assert response.status_code == 403


def test_malformed_bodies_are_400(token_client_for, frozen, incident, lead):
    client = token_client_for(lead)
    assert client.post(URL, "{not json", content_type="application/json").status_code == 400
    assert client.post(URL, ["a", "list"], format="json").status_code == 400


def test_patch_with_validation(token_client_for, items, member):
    client = token_client_for(member)
    url = f"{URL}{items['late'].pk}/"
    response = client.patch(url, {"status": "wont_do"}, format="json")
    assert response.status_code == 400
    assert response.json()["wont_do_reason"] == [WONT_DO_NEEDS_REASON]
    response = client.patch(url, {"verification": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["verification"] == [VERIFICATION_REQUIRED]
    response = client.patch(url, {"status": "done", "priority": "P1"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["priority"], response.json()["overdue"]) == ("done", "P1", False)
    assert response.json()["resolved_at"] is not None


def test_patch_of_another_teams_item_is_403(token_client_for, items, member):
    response = token_client_for(member).patch(f"{URL}{items['other'].pk}/", {"status": "done"}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == NOT_ALLOWED_TO_CHANGE.format(team="Recommendations")


def test_put_needs_every_field(token_client_for, items, member):
    response = token_client_for(member).put(f"{URL}{items['late'].pk}/", {"title": "Only a title"}, format="json")
    assert response.status_code == 400 and "verification" in response.json()


def test_bulk_status(token_client_for, items, member):
    client = token_client_for(member)
    response = client.post(
        f"{URL}bulk-status/", {"items": [items["late"].pk, items["soon"].pk], "status": "in_progress"}, format="json"
    )
    assert response.status_code == 200
    assert sorted(row["status"] for row in response.json()) == ["in_progress", "in_progress"]
    response = client.post(
        f"{URL}bulk-status/", {"items": [items["late"].pk, items["other"].pk], "status": "done"}, format="json"
    )
    assert response.status_code == 403
    assert ActionItem.objects.filter(status="done").count() == 0
    for payload in ({"items": [], "status": "done"}, {"items": ["x"], "status": "done"}, {"items": [1]}):
        assert client.post(f"{URL}bulk-status/", payload, format="json").status_code == 400


def test_api_needs_authentication(api_client):
    assert api_client.get(URL).status_code in {401, 403}
