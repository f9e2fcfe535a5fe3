"""Text derived from a restricted thing never carries its content to people outside its team."""

from incidents.services.incidents import incident_open, incident_relate, incident_update
from postmortems.selectors.learnings import learning_proposal_defaults
from postmortems.services.follow_ups import postmortem_published
from postmortems.services.postmortems import postmortem_start
from search.selectors import SearchFilters, search
from search.services import search_index_rebuild, search_index_refresh
from tests.visibility.world import SECRET, published_postmortem


def test_relating_to_a_restricted_incident_leaves_its_title_off_the_other_timeline(client, api_client, world):
    client.force_login(world.outsider)
    page = client.get(f"/incidents/{world.open_incident.pk}/")
    assert page.status_code == 200
    assert f"INC-{world.restricted.pk}" in page.content.decode()
    assert SECRET not in page.content.decode()
    api_client.force_authenticate(world.outsider)
    timeline = api_client.get(f"/api/v1/incidents/{world.open_incident.pk}/timeline/")
    assert timeline.status_code == 200
    assert SECRET not in timeline.content.decode()


def test_a_postmortem_prefilled_from_a_timeline_carries_no_restricted_title(world):
    incident = incident_open(team=world.fraud, title="Scores late again", created_by=world.lead)
    incident_relate(incident=incident, other=world.restricted, actor=world.lead)
    postmortem = postmortem_start(incident=incident, actor=world.lead)
    assert f"INC-{world.restricted.pk}" in str(postmortem.content)
    assert SECRET not in str(postmortem.content) + str(postmortem.facts)


def _found(user, words: str) -> list[str]:
    return [hit.reference for hit in search(user=user, query=words, filters=SearchFilters()).hits]


def test_restricting_an_incident_takes_its_postmortem_out_of_search_for_outsiders(world):
    incident = incident_open(team=world.fraud, title="Quokka feature store outage", created_by=world.lead)
    postmortem = published_postmortem(incident, summary="Quokka snapshots lagged.", lessons="")
    postmortem_published(postmortem=postmortem)
    assert _found(world.outsider, "quokka")  # found while the incident is open to all
    incident_update(incident=incident, actor=world.lead, restricted=True)
    assert _found(world.outsider, "quokka") == []
    search_index_refresh()
    assert _found(world.outsider, "quokka") == []
    search_index_rebuild()
    assert _found(world.outsider, "quokka") == []
    assert len(_found(world.member, "quokka")) == 2  # the incident and its post-mortem, for the team


def test_a_learning_from_a_restricted_postmortem_hides_where_it_came_from(client, world):
    client.force_login(world.outsider)
    page = client.get(f"/learnings/{world.restricted_learning.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert SECRET not in body
    assert f"/postmortems/{world.restricted_postmortem.pk}/" not in body
    assert f"INC-{world.restricted.pk}" not in body
    client.force_login(world.member)
    assert SECRET in client.get(f"/learnings/{world.restricted_learning.pk}/").content.decode()


def test_accepting_a_lesson_prefills_no_title_of_a_restricted_incident(client, world):
    defaults = learning_proposal_defaults(proposal=world.restricted_proposal)
    assert SECRET not in defaults["body"].replace(world.restricted_proposal.text, "")
    assert f"INC-{world.restricted.pk}" in defaults["body"]


def test_bulk_status_answers_a_restricted_item_as_missing(api_client, client, world):
    api_client.force_authenticate(world.outsider)
    restricted = api_client.post(
        "/api/v1/action-items/bulk-status/", {"items": [world.restricted_action.pk], "status": "done"}, format="json"
    )
    missing = api_client.post("/api/v1/action-items/bulk-status/", {"items": [10**9], "status": "done"}, format="json")
    assert SECRET not in restricted.content.decode()
    assert (restricted.status_code, restricted.json()) == (missing.status_code, missing.json())
    client.force_login(world.outsider)
    page = client.post("/actions/bulk/", {"items": [world.restricted_action.pk], "status": "done"}, follow=True)
    assert SECRET not in page.content.decode()
    world.restricted_action.refresh_from_db()
    assert world.restricted_action.status != "done"
