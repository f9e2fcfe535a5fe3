"""Titles of notices read like the rest of the app: its day format, and "post-mortem" said once."""

from datetime import date

import pytest

from notifications.messages import message_for_event
from notifications.models import Event, EventKind
from notifications.services.events import notify_event
from postmortems.services.actions import action_item_create
from tests.notifications.helpers import dispatch_all
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db


def title_of(kind: str) -> str:
    return message_for_event(Event.objects.filter(kind=kind).latest("pk")).title


def test_an_overdue_item_says_its_day_as_the_app_does(lead, member, incident):
    item = action_item_create(
        incident=incident, actor=lead, title="Pin image tags", owner=member, verification="CI refuses :latest."
    )
    item.due_date = date(2026, 12, 1)
    item.save(update_fields=["due_date"])
    notify_event(kind=EventKind.ACTION_ITEM_OVERDUE, action_item=item, key="2026-12-02")
    notify_event(kind=EventKind.ACTION_ITEM_DUE_SOON, action_item=item, key="2026-11-29")
    dispatch_all()
    assert title_of(EventKind.ACTION_ITEM_OVERDUE) == "Action item overdue since 1 Dec 2026: Pin image tags"
    assert title_of(EventKind.ACTION_ITEM_DUE_SOON) == "Action item due 1 Dec 2026: Pin image tags"
    assert "2026-12-01" not in message_for_event(Event.objects.get(kind=EventKind.ACTION_ITEM_OVERDUE)).text


def test_a_post_mortem_title_is_not_prefixed_twice(member, postmortem, reviewer, incident):
    assert postmortem.title == f"Post-mortem: {incident.title}"
    in_review(postmortem, member, reviewer)
    dispatch_all()
    assert title_of(EventKind.POSTMORTEM_REVIEW_REQUESTED) == f"Post-mortem review requested: {incident.title}"
