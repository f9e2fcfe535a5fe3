"""A restricted thing and a missing one answer outsiders alike: no answer tells that it exists."""

import json

from incidents.services.incidents import incident_open
from tests.visibility.world import SECRET

MISSING = 10**9


def test_starting_a_postmortem_of_a_restricted_incident_is_a_404_like_a_missing_one(client, world):
    client.force_login(world.outsider)
    restricted = client.get(f"/postmortems/start/{world.restricted.pk}/")
    missing = client.get(f"/postmortems/start/{MISSING}/")
    assert restricted.status_code == missing.status_code == 404
    assert SECRET not in restricted.content.decode()


def test_an_action_item_on_a_restricted_incident_is_refused_like_one_on_a_missing_incident(api_client, world):
    api_client.force_authenticate(world.outsider)
    body = {"title": "Peek", "owner": world.outsider.pk, "verification": "None."}
    restricted = api_client.post("/api/v1/action-items/", body | {"incident": world.restricted.pk}, format="json")
    missing = api_client.post("/api/v1/action-items/", body | {"incident": MISSING}, format="json")
    assert restricted.status_code == missing.status_code == 400
    # The same words, each quoting back only the id it was sent.
    assert restricted.json() == json.loads(missing.content.decode().replace(str(MISSING), str(world.restricted.pk)))
    assert SECRET not in restricted.content.decode()
    restricted = api_client.post(
        "/api/v1/action-items/", body | {"postmortem": world.restricted_postmortem.pk}, format="json"
    )
    assert restricted.status_code == 400 and SECRET not in restricted.content.decode()


def test_the_action_item_page_answers_a_restricted_incident_like_a_missing_one(client, world):
    client.force_login(world.outsider)
    restricted = client.get(f"/actions/new/?incident={world.restricted.pk}")
    missing = client.get(f"/actions/new/?incident={MISSING}")
    assert restricted.status_code == missing.status_code == 404
    assert SECRET not in restricted.content.decode()
    restricted = client.get(f"/actions/new/?postmortem={world.restricted_postmortem.pk}")
    assert restricted.status_code == 404 and SECRET not in restricted.content.decode()


def test_another_teams_template_is_unknown_not_named(api_client, world):
    incident = incident_open(team=world.payments, title="Payments queue stalled", created_by=world.outsider)
    api_client.force_authenticate(world.outsider)
    theirs = api_client.post(
        "/api/v1/postmortems/", {"incident": incident.pk, "template": world.fraud_template.pk}, format="json"
    )
    missing = api_client.post("/api/v1/postmortems/", {"incident": incident.pk, "template": MISSING}, format="json")
    assert theirs.status_code == missing.status_code == 400
    assert world.fraud_template.name not in theirs.content.decode()
    assert list(theirs.json()) == list(missing.json())
