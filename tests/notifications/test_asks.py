"""An ask ends when what it asks is done, by anyone and by any way: the bell, the list and "needs you" say so."""

import pytest

from incidents.services.incidents import incident_acknowledge, incident_open
from notifications.models import EventKind, Notification
from notifications.selectors import notification_list, notification_unread_count, notifications_needing_you
from postmortems.models import ReviewDecision
from postmortems.services.actions import action_item_create, action_item_update
from postmortems.services.postmortems import postmortem_publish, postmortem_review
from tests.notifications.helpers import dispatch_all
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db


def asks(user) -> list[str]:
    return [notice.event.kind for notice in notifications_needing_you(user=user)]


def test_acknowledged_by_someone_else_the_ask_to_lead_ends(client, team, lead, member):
    incident = incident_open(team=team, title="Scores drifted after the v14 retrain")  # a pipeline: nobody leads
    dispatch_all()
    assert asks(lead) == [EventKind.INCIDENT_OPENED]
    assert notification_unread_count(user=lead) == 1
    incident_acknowledge(incident=incident, actor=member)
    assert asks(lead) == []
    assert notification_unread_count(user=lead) == 0  # the bell no longer counts it
    [notice] = notification_list(user=lead)
    assert notice.direct and notice.ask_open is False
    client.force_login(lead)
    html = client.get("/notifications/").content.decode()
    assert "Asks you" not in html and "Done" in html
    assert "Nothing asks for you right now." in client.get("/").content.decode()
    assert client.get("/notifications/unread/").json() == {"unread": 0}


def test_published_the_ask_to_publish_ends(team, lead, member, postmortem, reviewer):
    in_review(postmortem, member, reviewer)
    dispatch_all()
    assert asks(reviewer) == [EventKind.POSTMORTEM_REVIEW_REQUESTED]
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision=ReviewDecision.APPROVE)
    dispatch_all()
    assert asks(reviewer) == []  # reviewed: the request is answered
    assert asks(member) == [EventKind.POSTMORTEM_APPROVED]
    postmortem.refresh_from_db()
    postmortem_publish(postmortem=postmortem, actor=lead)  # another person publishes it
    dispatch_all()
    assert asks(member) == []
    assert not Notification.objects.get(user=member, event__kind=EventKind.POSTMORTEM_APPROVED).read_at


def test_an_action_item_done_is_no_longer_asked(team, lead, member, incident):
    item = action_item_create(
        incident=incident,
        title="Add the newest-week slice to the evaluation report",
        owner=member,
        verification="The report shows the slice.",
        actor=lead,
    )
    dispatch_all()
    assert asks(member) == [EventKind.ACTION_ITEM_ASSIGNED]
    action_item_update(item=item, actor=member, status="done")
    assert asks(member) == []
