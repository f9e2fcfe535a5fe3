"""Record events: the one function the domain services call when something people should hear of happens.

``notify_event`` writes one row in the caller's transaction and queues its
dispatch for after the commit, so nothing is sent for a change that rolls
back and nothing is sent on the request's path. The same fact emitted twice
(``dedupe_key``) is stored once; events sharing a coalescing key inside its
window fold into the first one (a pipeline failing twenty times in ten
minutes opens one "incident opened", counted twenty times).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.database import insert_unless_conflict
from notifications.models import Event, EventKind

logger = logging.getLogger(__name__)

# A pipeline (no person) opening or mitigating incidents in one lane folds into one event per window.
LANE_COALESCED = (EventKind.INCIDENT_OPENED, EventKind.INCIDENT_MITIGATED, EventKind.INCIDENT_REOPENED)
# Repeats of these about one subject fold into one event per window.
SUBJECT_COALESCED = (EventKind.INCIDENT_SEVERITY_RAISED, EventKind.SOURCE_DELIVERIES_FAILING)


def _subject(*, incident, postmortem, action_item, source) -> tuple[str, object]:
    for name, value in (
        ("action_item", action_item),
        ("postmortem", postmortem),
        ("incident", incident),
        ("source", source),
    ):
        if value is not None:
            return name, value
    raise ValueError("An event needs an incident, a post-mortem, an action item or a source.")


def _coalesce_key(*, kind: str, incident, subject: str, subject_pk: int, by_pipeline: bool) -> str:
    if kind in LANE_COALESCED and by_pipeline and incident is not None:
        return f"{kind}:lane:{incident.team_id}:{incident.model_id or '-'}:{incident.environment}"[:200]
    if kind in SUBJECT_COALESCED:
        return f"{kind}:{subject}:{subject_pk}"
    return ""


def notify_event(
    *,
    kind: str,
    incident=None,
    postmortem=None,
    action_item=None,
    source=None,
    actor=None,
    recipients=(),
    details: dict | None = None,
    key: object = "",
    at: datetime | None = None,
) -> Event:
    """Record that ``kind`` happened to the given subject and dispatch it after the transaction commits.

    Name the most specific subject (an action item's incident is found from
    it). ``recipients`` are the people asked to act when the caller knows
    them (reviewers); otherwise the dispatch finds them (the owner, the
    author, the leads). ``key`` tells two occurrences of one kind on one
    subject apart (a timeline entry's id, a review's id); the same key twice
    is one event. ``details`` are facts only the caller knows (the old and
    new severity). Return the event, or the earlier one it folded into.
    """
    at = at or timezone.now()
    if postmortem is not None and incident is None:
        incident = postmortem.incident
    if action_item is not None and incident is None:
        incident = action_item.incident
    subject, obj = _subject(incident=incident, postmortem=postmortem, action_item=action_item, source=source)
    team_id = incident.team_id if incident is not None else obj.team_id
    actor = actor if actor is not None and actor.is_authenticated else None
    dedupe_key = f"{kind}:{subject}:{obj.pk}:{key}"[:200]
    coalesce_key = _coalesce_key(
        kind=kind, incident=incident, subject=subject, subject_pk=obj.pk, by_pipeline=actor is None
    )
    if coalesce_key:
        window = timedelta(seconds=settings.KINTSUGI_NOTIFY_COALESCE_SECONDS)
        earlier = (
            Event.objects.select_for_update()
            .filter(coalesce_key=coalesce_key, occurred_at__gte=at - window)
            .exclude(dedupe_key=dedupe_key)
            .order_by("-occurred_at", "-id")
            .first()
        )
        if earlier is not None:
            Event.objects.filter(pk=earlier.pk).update(repeats=earlier.repeats + 1, last_occurred_at=at)
            earlier.repeats += 1
            earlier.last_occurred_at = at
            return earlier
    row = {
        "kind": kind,
        "team_id": team_id,
        "incident_id": incident.pk if incident is not None else None,
        "postmortem_id": postmortem.pk if postmortem is not None else None,
        "action_item_id": action_item.pk if action_item is not None else None,
        "source_id": source.pk if source is not None else None,
        "actor_id": actor.pk if actor is not None else None,
        "restricted": bool(incident is not None and incident.restricted),
        "direct_user_ids": sorted({user.pk for user in recipients}),
        "facts": {"details": details or {}},
        "path": obj.get_absolute_url(),
        "dedupe_key": dedupe_key,
        "coalesce_key": coalesce_key,
        "repeats": 0,
        "occurred_at": at,
        "last_occurred_at": at,
        "dispatched_at": None,
    }
    event = insert_unless_conflict(Event, row, conflict=("dedupe_key",))
    if event is None:  # the same fact, emitted before
        return Event.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: event_dispatch_queue(event_id=event.pk))
    return event


def event_dispatch_queue(*, event_id: int) -> bool:
    """Queue the event's dispatch; return False when the broker cannot take it (the sweeper will). Never raise."""
    from notifications.tasks import event_dispatch_task

    try:
        event_dispatch_task.delay(event_id)
    except Exception:  # a down broker must not fail the change that caused the event
        logger.warning("Could not queue the dispatch of event %s; the sweeper will.", event_id, exc_info=True)
        return False
    return True
