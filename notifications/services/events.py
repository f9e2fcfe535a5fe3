"""Record events: the one function the domain services call when something people should hear of happens.

``notify_event`` writes one row in the caller's transaction and queues its
dispatch for after the commit, so nothing is sent for a change that rolls
back and nothing is sent on the request's path. The same fact emitted twice
(``dedupe_key``) is stored once; events sharing a coalescing key inside its
window fold into the first one (a pipeline failing twenty times in ten
minutes opens one "incident opened", counted twenty times).

A batch of deliveries records its events inside ``events_collected``: they
are written together at the batch's end (one query for the events they fold
into, one insert) and dispatched by one task, rather than a row, a lookup
and a task per incident the batch opens or mitigates.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.database import insert_unless_conflict
from notifications.models import Event, EventKind

logger = logging.getLogger(__name__)

# A pipeline (no person) opening or mitigating incidents in one lane folds into one event per window.
LANE_COALESCED = (EventKind.INCIDENT_OPENED, EventKind.INCIDENT_MITIGATED, EventKind.INCIDENT_REOPENED)
# Repeats of these about one subject fold into one event per window.
SUBJECT_COALESCED = (EventKind.INCIDENT_SEVERITY_RAISED, EventKind.SOURCE_DELIVERIES_FAILING)
# The events noted inside an ``events_collected`` block, written at its end (None outside one).
_collected: ContextVar[list[dict] | None] = ContextVar("events_collected", default=None)


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
) -> Event | None:
    """Record that ``kind`` happened to the given subject and dispatch it after the transaction commits.

    Name the most specific subject (an action item's incident is found from
    it). ``recipients`` are the people asked to act when the caller knows
    them (reviewers); otherwise the dispatch finds them (the owner, the
    author, the leads). ``key`` tells two occurrences of one kind on one
    subject apart (a timeline entry's id, a review's id); the same key twice
    is one event. ``details`` are facts only the caller knows (the old and
    new severity). Return the event, or the earlier one it folded into;
    inside ``events_collected``, return None (the event is written at the
    block's end).
    """
    at = at or timezone.now()
    if postmortem is not None and incident is None:
        incident = postmortem.incident
    if action_item is not None and incident is None:
        incident = action_item.incident
    subject, obj = _subject(incident=incident, postmortem=postmortem, action_item=action_item, source=source)
    actor = actor if actor is not None and actor.is_authenticated else None
    dedupe_key = f"{kind}:{subject}:{obj.pk}:{key}"[:200]
    row = {
        "kind": kind,
        "team_id": incident.team_id if incident is not None else obj.team_id,
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
        "coalesce_key": _coalesce_key(
            kind=kind, incident=incident, subject=subject, subject_pk=obj.pk, by_pipeline=actor is None
        ),
        "repeats": 0,
        "occurred_at": at,
        "last_occurred_at": at,
        "dispatched_at": None,
    }
    collected = _collected.get()
    if collected is not None:
        collected.append(row)
        return None
    return _events_write([row])[0]


@contextmanager
def events_collected() -> Iterator[None]:
    """Record the events of the block together when it ends without an error, and dispatch them with one task.

    For work that records many events in one transaction (a batch of
    deliveries): ``notify_event`` only notes each event, and the block's end
    folds, inserts and queues them all at once, still inside the caller's
    transaction. Wrap each savepoint of the block in ``events_savepoint``, so
    the events of a savepoint rolled back are forgotten with it. Nested
    blocks write at the outermost's end.
    """
    if _collected.get() is not None:
        yield
        return
    rows: list[dict] = []
    token = _collected.set(rows)
    try:
        yield
    finally:
        _collected.reset(token)
    if rows:
        _events_write(rows)


@contextmanager
def events_savepoint() -> Iterator[None]:
    """Forget the events noted in the block when it raises; put it inside the savepoint's ``transaction.atomic()``."""
    rows = _collected.get()
    mark = len(rows) if rows is not None else 0
    try:
        yield
    except BaseException:
        if rows is not None:
            del rows[mark:]
        raise


def _events_write(rows: list[dict]) -> list[Event]:
    """Fold, insert and queue the events described by ``rows`` (in the order they happened); return each one's event.

    A row whose coalescing key names an event inside its window (stored, or
    an earlier row) folds into it, counted as a repeat; a row whose
    ``dedupe_key`` is stored already is that event. The rest are inserted
    together and dispatched by one task after the commit. Lock the events
    folded into, so two transactions count their repeats one after the other.
    """
    window = timedelta(seconds=settings.KINTSUGI_NOTIFY_COALESCE_SECONDS)
    keys = {row["coalesce_key"] for row in rows if row["coalesce_key"]}
    latest: dict[str, Event] = {}
    if keys:
        earliest = min(row["occurred_at"] for row in rows if row["coalesce_key"]) - window
        stored = (
            Event.objects.select_for_update()
            .filter(coalesce_key__in=keys, occurred_at__gte=earliest)
            .order_by("occurred_at", "id")
        )
        for event in stored:
            latest[event.coalesce_key] = event  # the newest of each key wins
    folded: dict[int, Event] = {}
    result: list[Event | dict] = []
    kept: list[dict] = []
    for row in rows:
        target = latest.get(row["coalesce_key"]) if row["coalesce_key"] else None
        if target is not None and _occurred_at(target) >= row["occurred_at"] - window:
            if isinstance(target, Event):
                target.repeats += 1
                target.last_occurred_at = max(target.last_occurred_at, row["last_occurred_at"])
                folded[target.pk] = target
            else:
                target["repeats"] += 1
                target["last_occurred_at"] = max(target["last_occurred_at"], row["last_occurred_at"])
            result.append(target)
            continue
        if row["coalesce_key"]:
            latest[row["coalesce_key"]] = row
        kept.append(row)
        result.append(row)
    if folded:
        Event.objects.bulk_update(folded.values(), ["repeats", "last_occurred_at"])
    events, inserted = _events_insert(kept)
    if inserted:
        transaction.on_commit(lambda: events_dispatch_queue(event_ids=inserted))
    written = {id(row): event for row, event in zip(kept, events, strict=True)}
    return [written[id(item)] if isinstance(item, dict) else item for item in result]


def _occurred_at(target: Event | dict) -> datetime:
    return target.occurred_at if isinstance(target, Event) else target["occurred_at"]


def _events_insert(rows: list[dict]) -> tuple[list[Event], list[int]]:
    """Insert the rows; return each one's event (the stored one for a stored ``dedupe_key``) and the new ids.

    Several rows go in one statement; when one of them is stored already
    (a retried task emitting a fact again), each row is inserted on its own,
    yielding to the stored one.
    """
    if len(rows) > 1:
        try:
            with transaction.atomic():
                created = Event.objects.bulk_create([Event(**row) for row in rows])
        except IntegrityError:
            logger.info("An event of this batch was stored already; inserting them one by one.")
        else:
            return created, [event.pk for event in created]
    events, inserted = [], []
    for row in rows:
        event = insert_unless_conflict(Event, row, conflict=("dedupe_key",))
        if event is None:  # the same fact, emitted before
            event = Event.objects.get(dedupe_key=row["dedupe_key"])
        else:
            inserted.append(event.pk)
        events.append(event)
    return events, inserted


def events_dispatch_queue(*, event_ids: list[int]) -> bool:
    """Queue one task dispatching the events; return False when the broker cannot take it (the sweeper will).

    Never raise.
    """
    from notifications.tasks import events_dispatch_task

    try:
        events_dispatch_task.delay(list(event_ids))
    except Exception:  # a down broker must not fail the change that caused the events
        logger.warning("Could not queue the dispatch of events %s; the sweeper will.", event_ids, exc_info=True)
        return False
    return True
