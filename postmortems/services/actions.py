"""Writes of action items: create, edit, change status one by one or in bulk."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident
from notifications.models import EventKind
from notifications.services.events import notify_event
from postmortems.models import (
    RESOLVED_STATUSES,
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    Postmortem,
)
from postmortems.selectors.actions import (
    action_items_visible_to,
    user_can_add_action_items,
    user_can_change_action_item,
)
from teams.selectors import user_display_name, user_team_ids

TITLE_REQUIRED = "Give the action item a title."
TITLE_TOO_LONG = "Keep the title under {limit} characters; put details in the description."
VERIFICATION_REQUIRED = "Say how everyone will know it is done: a test, a dashboard, an alert that fires, a drill."
WONT_DO_NEEDS_REASON = "Say why it won't be done: the reason stays with the item for everyone to read."
DUE_DATE_IN_PAST = "The due date {due} is in the past; pick today or a later day."
DUE_DATE_BEFORE_CREATION = "The due date {due} is before the item was created ({created})."
OWNER_REQUIRED = "Every action item needs one owner."
OWNER_INACTIVE = "{owner} cannot own action items: their account is deactivated."
TRACKER_URL_INVALID = "The tracker link must be an http:// or https:// URL of at most 500 characters."
UNKNOWN_KIND = "Unknown kind {value!r}; use one of: {allowed}."
UNKNOWN_PRIORITY = "Unknown priority {value!r}; use one of: {allowed}."
UNKNOWN_STATUS = "Unknown status {value!r}; use one of: {allowed}."
POSTMORTEM_OF_OTHER_INCIDENT = "That post-mortem belongs to another incident."
NOT_ALLOWED_TO_ADD = "Only members of {team} can add action items to its incidents."
NOT_ALLOWED_TO_CHANGE = "Only the owner, members of {team} and admins can change this action item."
BULK_NOTHING_SELECTED = "Select at least one action item."
BULK_TOO_MANY = "Change at most {limit} action items at once."
BULK_MISSING = "Some of the selected action items no longer exist; reload the page and try again."
UNKNOWN_FIELD = "Action items have no field {field!r} that can be changed."

TITLE_MAX_LENGTH = 200
BULK_LIMIT = 200
EDITABLE_FIELDS = frozenset(
    {"title", "description", "owner", "kind", "priority", "due_date", "verification", "tracker_url"}
)


class ActionItemError(Exception):
    """A change to an action item that breaks a rule; ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ActionItemPermissionError(ActionItemError):
    """The person may not make this change."""


def action_item_default_due_date(*, severity: str, today: date | None = None) -> date:
    """Return the default due date for an item of an incident with this severity (ACTION_ITEM_DUE_WEEKS)."""
    weeks = settings.ACTION_ITEM_DUE_WEEKS.get(severity, max(settings.ACTION_ITEM_DUE_WEEKS.values()))
    return (today or timezone.localdate()) + timedelta(weeks=weeks)


def _name(user) -> str:
    return user_display_name(user)


def _choice(value: str, choices, message: str, field: str) -> str:
    if value not in choices.values:
        raise ActionItemError(message.format(value=value, allowed=", ".join(choices.values)), field=field)
    return value


def _clean_fields(fields: dict, *, created_on: date, today: date, due_date_changed: bool) -> dict:
    """Return the fields checked and tidied; raise ActionItemError naming the first one at fault."""
    cleaned = dict(fields)
    if "title" in cleaned:
        cleaned["title"] = " ".join((cleaned["title"] or "").split())
        if not cleaned["title"]:
            raise ActionItemError(TITLE_REQUIRED, field="title")
        if len(cleaned["title"]) > TITLE_MAX_LENGTH:
            raise ActionItemError(TITLE_TOO_LONG.format(limit=TITLE_MAX_LENGTH), field="title")
    if "description" in cleaned:
        cleaned["description"] = (cleaned["description"] or "").strip()
    if "verification" in cleaned:
        cleaned["verification"] = (cleaned["verification"] or "").strip()
        if not cleaned["verification"]:
            raise ActionItemError(VERIFICATION_REQUIRED, field="verification")
    if "owner" in cleaned:
        owner = cleaned["owner"]
        if owner is None:
            raise ActionItemError(OWNER_REQUIRED, field="owner")
        if not owner.is_active:
            raise ActionItemError(OWNER_INACTIVE.format(owner=_name(owner)), field="owner")
    if "kind" in cleaned:
        _choice(cleaned["kind"], ActionItemKind, UNKNOWN_KIND, "kind")
    if "priority" in cleaned:
        _choice(cleaned["priority"], ActionItemPriority, UNKNOWN_PRIORITY, "priority")
    if "tracker_url" in cleaned:
        url = (cleaned["tracker_url"] or "").strip()
        if url and (
            not url.lower().startswith(("http://", "https://")) or len(url) > 500 or any(c.isspace() for c in url)
        ):
            raise ActionItemError(TRACKER_URL_INVALID, field="tracker_url")
        cleaned["tracker_url"] = url
    if due_date_changed and "due_date" in cleaned:
        due = cleaned["due_date"]
        if due < created_on:
            raise ActionItemError(DUE_DATE_BEFORE_CREATION.format(due=due, created=created_on), field="due_date")
        if due < today:
            raise ActionItemError(DUE_DATE_IN_PAST.format(due=due), field="due_date")
    return cleaned


@transaction.atomic
def action_item_create(
    *,
    incident: Incident,
    actor,
    title: str,
    owner,
    verification: str,
    postmortem: Postmortem | None = None,
    description: str = "",
    kind: str = ActionItemKind.PREVENT,
    priority: str = ActionItemPriority.P3,
    due_date: date | None = None,
    tracker_url: str = "",
) -> ActionItem:
    """Create and return an open action item on the incident (and its post-mortem, when given).

    The due date defaults from the incident's severity. Raise
    ActionItemPermissionError unless the actor is a member of the incident's
    team (or staff), and ActionItemError for any invalid field.
    """
    if not user_can_add_action_items(user=actor, incident=incident):
        raise ActionItemPermissionError(NOT_ALLOWED_TO_ADD.format(team=incident.team))
    if postmortem is not None and postmortem.incident_id != incident.pk:
        raise ActionItemError(POSTMORTEM_OF_OTHER_INCIDENT, field="postmortem")
    now = timezone.now()
    today = timezone.localdate(now)
    fields = _clean_fields(
        {
            "title": title,
            "description": description,
            "owner": owner,
            "kind": kind,
            "priority": priority,
            "verification": verification,
            "tracker_url": tracker_url,
            "due_date": due_date or action_item_default_due_date(severity=incident.severity, today=today),
        },
        created_on=today,
        today=today,
        due_date_changed=True,
    )
    item = ActionItem.objects.create(
        team_id=incident.team_id,
        incident=incident,
        postmortem=postmortem,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **fields,
    )
    if item.owner_id != actor.pk:
        notify_event(kind=EventKind.ACTION_ITEM_ASSIGNED, action_item=item, actor=actor, key=f"owner-{item.owner_id}")
    return item


def _lock(item: ActionItem) -> ActionItem:
    return ActionItem.objects.select_for_update().select_related("team", "owner").get(pk=item.pk)


def _apply_status(item: ActionItem, *, status: str, reason: str, actor, now) -> bool:
    """Set the status on the locked item in memory; return whether anything changed."""
    _choice(status, ActionItemStatus, UNKNOWN_STATUS, "status")
    reason = (reason or "").strip()
    if status == ActionItemStatus.WONT_DO and not reason:
        raise ActionItemError(WONT_DO_NEEDS_REASON, field="wont_do_reason")
    new_reason = reason if status == ActionItemStatus.WONT_DO else ""
    if item.status == status and item.wont_do_reason == new_reason:
        return False
    was_resolved = item.status in RESOLVED_STATUSES
    item.status = status
    item.wont_do_reason = new_reason
    if status in RESOLVED_STATUSES:
        if not was_resolved:
            item.resolved_at = now
            item.resolved_by = actor
    else:
        item.resolved_at = None
        item.resolved_by = None
    return True


@transaction.atomic
def action_item_update(*, item: ActionItem, actor, **fields) -> ActionItem:
    """Change the given fields (any of EDITABLE_FIELDS, plus ``status`` and ``wont_do_reason``) and return the item.

    Lock the row first. A new due date may not be in the past nor before the
    item was created; an unchanged one is kept even when it has passed. Raise
    ActionItemPermissionError unless the actor is the owner, a team member or
    staff, and ActionItemError for any invalid field.
    """
    unknown = set(fields) - EDITABLE_FIELDS - {"status", "wont_do_reason"}
    if unknown:
        raise ActionItemError(UNKNOWN_FIELD.format(field=sorted(unknown)[0]), field=sorted(unknown)[0])
    item = _lock(item)
    if not user_can_change_action_item(user=actor, item=item):
        raise ActionItemPermissionError(NOT_ALLOWED_TO_CHANGE.format(team=item.team))
    now = timezone.now()
    status = fields.pop("status", None)
    reason = fields.pop("wont_do_reason", None)
    cleaned = _clean_fields(
        fields,
        created_on=timezone.localdate(item.created_at),
        today=timezone.localdate(now),
        due_date_changed="due_date" in fields and fields["due_date"] != item.due_date,
    )
    changed = False
    previous_owner_id = item.owner_id
    for field, value in cleaned.items():
        if getattr(item, field) != value:
            setattr(item, field, value)
            changed = True
    if status is not None or reason is not None:
        target = status if status is not None else item.status
        changed |= _apply_status(
            item, status=target, reason=reason if reason is not None else item.wont_do_reason, actor=actor, now=now
        )
    if changed:
        item.updated_at = now
        item.save()
    if item.owner_id != previous_owner_id and item.owner_id != actor.pk:
        notify_event(kind=EventKind.ACTION_ITEM_ASSIGNED, action_item=item, actor=actor, key=now.isoformat())
    return item


@transaction.atomic
def action_item_set_status(*, item: ActionItem, actor, status: str, reason: str = "") -> ActionItem:
    """Move the item to ``status`` (a reason is required for won't do) and return it.

    Resolving stamps who and when; reopening clears both. Lock the row first.
    """
    item = _lock(item)
    if not user_can_change_action_item(user=actor, item=item):
        raise ActionItemPermissionError(NOT_ALLOWED_TO_CHANGE.format(team=item.team))
    now = timezone.now()
    if _apply_status(item, status=status, reason=reason, actor=actor, now=now):
        item.updated_at = now
        item.save()
    return item


@transaction.atomic
def action_item_bulk_set_status(*, item_ids: Iterable[int], actor, status: str, reason: str = "") -> list[ActionItem]:
    """Move every given item to ``status``, all or none, and return them.

    Raise ActionItemPermissionError naming the first item the actor may see but
    not change, and ActionItemError when none is selected, too many are, or the
    status (or missing reason) is invalid. Unknown ids are an error too, and so
    are items the actor may not see: they are answered as missing, never named.
    """
    ids = sorted({int(item_id) for item_id in item_ids})
    if not ids:
        raise ActionItemError(BULK_NOTHING_SELECTED, field="items")
    if len(ids) > BULK_LIMIT:
        raise ActionItemError(BULK_TOO_MANY.format(limit=BULK_LIMIT), field="items")
    _choice(status, ActionItemStatus, UNKNOWN_STATUS, "status")
    visible = action_items_visible_to(user=actor).filter(pk__in=ids).values("pk")
    items = list(ActionItem.objects.select_for_update().select_related("team", "owner").filter(pk__in=visible))
    if len(items) != len(ids):
        raise ActionItemError(BULK_MISSING, field="items")
    now = timezone.now()
    team_ids = user_team_ids(user=actor)
    for item in items:
        if not user_can_change_action_item(user=actor, item=item, team_ids=team_ids):
            raise ActionItemPermissionError(f"{item.title}: " + NOT_ALLOWED_TO_CHANGE.format(team=item.team))
        if _apply_status(item, status=status, reason=reason, actor=actor, now=now):
            item.updated_at = now
            item.save()
    return items
