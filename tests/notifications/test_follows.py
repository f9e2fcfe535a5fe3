"""Following an incident: its updates and its post-mortem's publication reach whoever follows it, team or not."""

import pytest

from incidents.models import Severity
from incidents.services.incidents import incident_change_severity, incident_open, incident_resolve, incident_update
from notifications.api.views import UNKNOWN_INCIDENT
from notifications.models import EventKind, Follow, Notification
from notifications.services.follows import NOT_VISIBLE, follow_start, follow_stop
from notifications.views import FOLLOWING, UNFOLLOWED
from postmortems.models import ReviewDecision
from postmortems.services.postmortems import postmortem_publish, postmortem_review
from tests.notifications.helpers import dispatch_all
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db


def noticed(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("event__kind", flat=True))


def declare(team, lead, **options):
    return incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=lead, **options)


def test_an_outsider_following_an_incident_hears_its_updates(team, lead, outsider):
    incident = declare(team, lead)
    dispatch_all()
    follow, created = follow_start(incident=incident, user=outsider)
    assert created
    assert follow_start(incident=incident, user=outsider) == (follow, False)  # twice is once
    incident_change_severity(incident=incident, severity=Severity.SEV1, actor=lead)
    incident_resolve(incident=incident, actor=lead)
    dispatch_all()
    # Not the opening (followed after it), then each update.
    assert noticed(outsider) == [EventKind.INCIDENT_SEVERITY_RAISED, EventKind.INCIDENT_RESOLVED]
    assert not Notification.objects.filter(user=outsider, direct=True).exists()
    assert follow_stop(incident=incident, user=outsider)
    assert not follow_stop(incident=incident, user=outsider)
    incident_change_severity(incident=incident, severity=Severity.SEV2, actor=lead)
    dispatch_all()
    assert len(noticed(outsider)) == 2


def test_a_published_post_mortem_reaches_the_team_and_the_followers(team, lead, member, outsider, postmortem, reviewer):
    follow_start(incident=postmortem.incident, user=outsider)
    in_review(postmortem, member, reviewer)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision=ReviewDecision.APPROVE)
    postmortem.refresh_from_db()
    postmortem_publish(postmortem=postmortem, actor=member)
    dispatch_all()
    assert [kind for kind in noticed(outsider) if kind.startswith("postmortem.")] == [EventKind.POSTMORTEM_PUBLISHED]
    assert EventKind.POSTMORTEM_PUBLISHED in noticed(lead)
    # Asked nothing: a follower is told, not asked.
    assert not Notification.objects.filter(user=outsider, direct=True).exists()


def test_a_restricted_incident_cannot_be_followed_and_stops_telling_its_followers(team, lead, outsider):
    hidden = declare(team, lead, restricted=True)
    with pytest.raises(PermissionError, match=NOT_VISIBLE):
        follow_start(incident=hidden, user=outsider)
    incident = declare(team, lead)
    follow_start(incident=incident, user=outsider)
    incident_update(incident=incident, actor=lead, restricted=True)
    incident_resolve(incident=incident, actor=lead)
    dispatch_all()
    assert noticed(outsider) == []


def test_the_follow_button_follows_and_unfollows(client, team, lead, outsider):
    incident = declare(team, lead)
    client.force_login(outsider)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "0 followers" in page and 'aria-pressed="false"' in page
    answer = client.post(f"/incidents/{incident.pk}/follow/", {"follow": "1"}, follow=True)
    assert FOLLOWING.format(reference=incident.reference) in answer.content.decode()
    assert Follow.objects.filter(user=outsider, incident=incident).exists()
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "1 follower" in page and 'aria-pressed="true"' in page
    answer = client.post(f"/incidents/{incident.pk}/follow/", {"follow": "0"}, follow=True)
    assert UNFOLLOWED.format(reference=incident.reference) in answer.content.decode()
    assert not Follow.objects.exists()


def test_the_follow_button_of_a_hidden_or_missing_incident_is_not_found(client, team, lead, outsider):
    hidden = declare(team, lead, restricted=True)
    client.force_login(outsider)
    assert client.post(f"/incidents/{hidden.pk}/follow/", {"follow": "1"}).status_code == 404
    assert client.post("/incidents/999999/follow/", {"follow": "1"}).status_code == 404
    assert client.get(f"/incidents/{hidden.pk}/follow/").status_code == 405
    assert not Follow.objects.exists()


def test_the_api_follows_lists_and_unfollows(team, lead, outsider, token_client_for):
    incident = declare(team, lead)
    client = token_client_for(outsider)
    created = client.post("/api/v1/follows/", {"incident": incident.pk}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["reference"] == incident.reference and body["url"].endswith(incident.get_absolute_url())
    again = client.post("/api/v1/follows/", {"incident": incident.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert [item["incident"] for item in client.get("/api/v1/follows/").json()["results"]] == [incident.pk]
    assert client.delete(f"/api/v1/follows/{body['id']}/").status_code == 204
    assert client.get("/api/v1/follows/").json()["results"] == []


@pytest.mark.parametrize("incident", ["not a number", -3, None, 10**30])
def test_the_api_refuses_what_is_not_an_incident_id(outsider, token_client_for, incident):
    answer = token_client_for(outsider).post("/api/v1/follows/", {"incident": incident}, format="json")
    assert answer.status_code == 400
    assert "incident" in answer.json()


def test_the_api_answers_a_hidden_incident_as_a_missing_one(team, lead, outsider, member, token_client_for):
    hidden = declare(team, lead, restricted=True)
    answer = token_client_for(outsider).post("/api/v1/follows/", {"incident": hidden.pk}, format="json")
    assert answer.status_code == 400
    assert answer.json()["incident"] == [UNKNOWN_INCIDENT.format(incident=hidden.pk)]
    follow_start(incident=hidden, user=member)
    mine = Follow.objects.get()
    assert token_client_for(outsider).delete(f"/api/v1/follows/{mine.pk}/").status_code == 404
    assert Follow.objects.exists()
