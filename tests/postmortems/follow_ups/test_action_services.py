"""Creating, editing and resolving action items through their services, and the rules the database keeps."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction

from incidents.models import Severity
from postmortems.models import ActionItem, ActionItemKind, ActionItemStatus
from postmortems.services import actions as services
from postmortems.services.actions import (
    ActionItemError,
    ActionItemPermissionError,
    action_item_bulk_set_status,
    action_item_create,
    action_item_default_due_date,
    action_item_set_status,
    action_item_update,
)
from tests.factories import ActionItemFactory, UserFactory
from tests.postmortems.follow_ups.conftest import make_postmortem, open_incident

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


def create(incident, actor, **fields):
    values = {
        "title": "Alert on stale merchant features",
        "owner": actor,
        "verification": "The alert fires in a drill.",
    }
    return action_item_create(incident=incident, actor=actor, **(values | fields))


@pytest.mark.parametrize(
    ("severity", "weeks"), [(Severity.SEV1, 4), (Severity.SEV2, 6), (Severity.SEV3, 8), (Severity.SEV4, 12)]
)
def test_default_due_date_follows_severity(severity, weeks):
    assert action_item_default_due_date(severity=severity, today=TODAY) == TODAY + timedelta(weeks=weeks)


def test_default_due_weeks_are_a_setting(settings, frozen, team, lead):
    settings.ACTION_ITEM_DUE_WEEKS = {"SEV1": 1, "SEV2": 2, "SEV3": 3, "SEV4": 5}
    incident = open_incident(team, severity=Severity.SEV4, actor=lead)
    assert create(incident, lead).due_date == TODAY + timedelta(weeks=5)


def test_create_records_everything(frozen, incident, lead, member):
    postmortem = make_postmortem(incident)
    item = create(
        incident,
        lead,
        owner=member,
        postmortem=postmortem,
        kind=ActionItemKind.DRIFT_MONITOR,
        priority="P1",
        description="Watch the **age** of the merchant snapshot.",
        tracker_url="https://tracker.example.com/FRAUD-12",
    )
    item.refresh_from_db()
    assert (item.team, item.incident, item.postmortem, item.owner) == (incident.team, incident, postmortem, member)
    assert (item.kind, item.priority, item.status) == ("drift_monitor", "P1", "open")
    assert item.due_date == TODAY + timedelta(weeks=6)
    assert item.created_by == lead and item.resolved_at is None
    assert item.is_ml_control


def test_outsider_cannot_add_items(frozen, incident, outsider):
    with pytest.raises(ActionItemPermissionError):
        create(incident, outsider)
    assert not ActionItem.objects.exists()


def test_staff_can_add_items_to_any_team(frozen, incident, staff):
    assert create(incident, staff).created_by == staff


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "   "}, "title", services.TITLE_REQUIRED),
        ({"title": "x" * 201}, "title", services.TITLE_TOO_LONG.format(limit=200)),
        ({"verification": " \n "}, "verification", services.VERIFICATION_REQUIRED),
        ({"due_date": TODAY - timedelta(days=1)}, "due_date", None),
        ({"tracker_url": "javascript:alert(1)"}, "tracker_url", services.TRACKER_URL_INVALID),
        ({"tracker_url": "https://x.example.com/a b"}, "tracker_url", services.TRACKER_URL_INVALID),
        ({"kind": "blame"}, "kind", None),
        ({"priority": "P0"}, "priority", None),
        ({"owner": None}, "owner", services.OWNER_REQUIRED),
    ],
)
def test_create_refuses_invalid_fields(frozen, incident, lead, fields, field, message):
    with pytest.raises(ActionItemError) as caught:
        create(incident, lead, **fields)
    assert caught.value.field == field
    if message:
        assert caught.value.message == message
    assert not ActionItem.objects.exists()


def test_inactive_owner_is_refused(frozen, incident, lead):
    gone = UserFactory(username="gone", is_active=False)
    with pytest.raises(ActionItemError, match="deactivated"):
        create(incident, lead, owner=gone)


def test_postmortem_of_another_incident_is_refused(frozen, team, incident, lead):
    elsewhere = make_postmortem(open_incident(team, title="Other", actor=lead))
    with pytest.raises(ActionItemError, match=services.POSTMORTEM_OF_OTHER_INCIDENT):
        create(incident, lead, postmortem=elsewhere)


def test_done_stamps_who_and_when_and_reopening_clears_it(frozen, incident, lead, member):
    item = create(incident, lead, owner=member)
    frozen.shift(timedelta(days=3))
    item = action_item_set_status(item=item, actor=member, status=ActionItemStatus.DONE)
    assert item.resolved_by == member
    assert item.resolved_at.date() == TODAY + timedelta(days=3)
    assert item.done_on_time is True
    item = action_item_set_status(item=item, actor=member, status=ActionItemStatus.OPEN)
    assert (item.resolved_at, item.resolved_by, item.done_on_time) == (None, None, None)


def test_wont_do_needs_a_reason_which_leaves_on_reopen(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(ActionItemError) as caught:
        action_item_set_status(item=item, actor=lead, status=ActionItemStatus.WONT_DO, reason="  ")
    assert caught.value.message == services.WONT_DO_NEEDS_REASON
    item = action_item_set_status(item=item, actor=lead, status=ActionItemStatus.WONT_DO, reason="Superseded.")
    assert (item.status, item.wont_do_reason) == ("wont_do", "Superseded.")
    item = action_item_set_status(item=item, actor=lead, status=ActionItemStatus.IN_PROGRESS)
    assert (item.wont_do_reason, item.resolved_at) == ("", None)


def test_unknown_status_is_refused(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(ActionItemError, match="Unknown status 'finished'"):
        action_item_set_status(item=item, actor=lead, status="finished")


def test_only_owner_team_and_staff_change_an_item(frozen, incident, lead, outsider, staff):
    item = create(incident, lead, owner=outsider)
    # The owner may be from another team and still resolve their item.
    action_item_set_status(item=item, actor=outsider, status=ActionItemStatus.IN_PROGRESS)
    stranger = UserFactory(username="stranger")
    with pytest.raises(ActionItemPermissionError):
        action_item_set_status(item=item, actor=stranger, status=ActionItemStatus.DONE)
    action_item_set_status(item=item, actor=staff, status=ActionItemStatus.DONE)


def test_update_changes_fields_and_refuses_a_new_past_due_date(frozen, incident, lead, member):
    item = create(incident, lead)
    item = action_item_update(item=item, actor=lead, title="  Alert   on stale features ", owner=member)
    assert (item.title, item.owner) == ("Alert on stale features", member)
    with pytest.raises(ActionItemError) as caught:
        action_item_update(item=item, actor=lead, due_date=TODAY - timedelta(days=2))
    assert caught.value.field == "due_date"
    assert ActionItem.objects.get(pk=item.pk).due_date == TODAY + timedelta(weeks=6)


def test_an_overdue_item_can_be_edited_without_moving_its_due_date(frozen, incident, lead):
    item = create(incident, lead, due_date=TODAY + timedelta(days=1))
    frozen.shift(timedelta(days=10))
    item = action_item_update(item=item, actor=lead, due_date=item.due_date, verification="A dashboard shows it.")
    assert item.verification == "A dashboard shows it."
    assert item.is_overdue()


def test_update_refuses_unknown_fields(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(ActionItemError, match="no field 'team'"):
        action_item_update(item=item, actor=lead, team=None)


def test_bulk_change_is_all_or_none(frozen, incident, lead, other_team):
    mine = [create(incident, lead, title=f"Item {n}") for n in range(3)]
    foreign = ActionItemFactory(incident=open_incident(other_team, title="Elsewhere"))
    with pytest.raises(ActionItemPermissionError, match=foreign.title):
        action_item_bulk_set_status(
            item_ids=[item.pk for item in mine] + [foreign.pk], actor=lead, status=ActionItemStatus.DONE
        )
    assert set(ActionItem.objects.values_list("status", flat=True)) == {"open"}
    changed = action_item_bulk_set_status(item_ids=[item.pk for item in mine], actor=lead, status="done")
    assert {item.status for item in changed} == {"done"}
    assert ActionItem.objects.filter(status="done").count() == 3


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], services.BULK_NOTHING_SELECTED),
        ([10**9], services.BULK_MISSING),
        (list(range(1, 202)), services.BULK_TOO_MANY.format(limit=200)),
    ],
)
def test_bulk_refuses_bad_selections(frozen, incident, lead, ids, message):
    with pytest.raises(ActionItemError) as caught:
        action_item_bulk_set_status(item_ids=ids, actor=lead, status="done")
    assert caught.value.message == message


def test_bulk_wont_do_needs_a_reason(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(ActionItemError, match="won't be done"):
        action_item_bulk_set_status(item_ids=[item.pk], actor=lead, status="wont_do")


def test_database_refuses_wont_do_without_reason(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionItem.objects.filter(pk=item.pk).update(status="wont_do", resolved_at=item.created_at)


def test_database_refuses_done_without_resolution_time(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionItem.objects.filter(pk=item.pk).update(status="done")


def test_database_refuses_an_item_without_verification(frozen, incident, lead):
    item = create(incident, lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionItem.objects.filter(pk=item.pk).update(verification="")
