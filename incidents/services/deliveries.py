"""Writes to deliveries: storing them as received, then turning them into deployments, incidents and registry changes.

Receiving commits the raw delivery before the sender is answered and queues
its processing after the commit. Processing runs in one transaction under the
delivery's row lock, so a worker killed half-way leaves nothing behind and the
next attempt starts from scratch; the database constraints (one delivery per
sender id, one timeline entry and one alias move per delivery, one deployment
per run) make a second run harmless.
"""

import hashlib
import logging
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping

from incidents.ingest.adapters import sender_for
from incidents.ingest.discovery import discover_model
from incidents.ingest.errors import IngestError, UnsupportedEvent
from incidents.ingest.events import EventKind, PipelineEvent
from incidents.models import Delivery, Source
from incidents.services.deployments import clip, deployment_event_apply
from incidents.services.registry import registry_change_apply

logger = logging.getLogger(__name__)

NO_STATUS = "Event carries no deployment status: nothing to record."
UNREADABLE = "Stored body can no longer be read: {error}"
RETRY_BACKOFF_CAP = 600.0

WAITING = (Delivery.Status.RECEIVED, Delivery.Status.REPLAYED)
DONE = (Delivery.Status.PROCESSED, Delivery.Status.IGNORED)


def delivery_receive(
    *,
    source: Source,
    delivery_id: str,
    event: str,
    headers: dict[str, str],
    content_type: str,
    body: bytes,
    received_at: datetime | None = None,
) -> tuple[Delivery, bool]:
    """Store a delivery and queue its processing once committed; return it and whether it is new.

    Outside a transaction (as the webhook view calls it) the delivery is
    committed when this returns; inside one, it is stored in a savepoint and
    queued when that transaction commits. A delivery id the source already sent
    returns the stored delivery and queues nothing, also under concurrent
    copies: the unique constraint decides, in the insert itself.
    """
    from incidents.services.delivery_insert import delivery_insert_unless_known

    received_at = received_at or timezone.now()
    delivery_id = clip(delivery_id, 200) or "sha256:" + hashlib.sha256(body).hexdigest()
    fields = {
        "delivery_id": delivery_id,
        "event": clip(event, 120),
        "headers": {clip(name, 200): clip(value, 2000) for name, value in headers.items()},
        "content_type": clip(content_type, 200),
        "body": body,
        "received_at": received_at,
    }
    connection = transaction.get_connection()
    # Inside a transaction the insert runs in a savepoint, so an error only
    # rolls that back; outside one the single INSERT commits (or fails) alone.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with guard:
        delivery = delivery_insert_unless_known(source=source, **fields)
    if delivery is None:
        existing = Delivery.objects.filter(source=source, delivery_id=delivery_id).only("id", "status").first()
        if existing is None:  # the stored copy was deleted in between: the sender retries
            raise IntegrityError(f"Delivery {delivery_id!r} of source {source.pk} conflicted, then vanished.")
        return existing, False
    # Runs at once when no transaction is open (the delivery is committed already).
    transaction.on_commit(lambda: delivery_queue(delivery_id=delivery.pk))
    return delivery, True


def delivery_queue(*, delivery_id: int) -> bool:
    """Publish the delivery's processing task; return False when the broker cannot take it.

    Never raise and never wait long: the sweeper queues whatever was not published.
    """
    from incidents.tasks import delivery_process_task

    try:
        delivery_process_task.delay(delivery_id)
    except Exception:  # a down broker must not fail the request; the sweeper catches up
        logger.warning("Could not queue delivery %s; the sweeper will queue it.", delivery_id, exc_info=True)
        return False
    return True


def _discover(*, event: PipelineEvent, source: Source) -> PipelineEvent:
    default_model = source.default_model.name if source.default_model_id else ""
    return discover_model(
        event,
        pattern=source.model_pattern,
        pattern_field=source.model_pattern_field,
        default_model=default_model,
    )


def _event_time(*, event: PipelineEvent, delivery: Delivery) -> datetime:
    for value in (event.occurred_at, event.finished_at, event.started_at):
        if value is not None and timezone.is_aware(value):
            # Nothing happened after it was received: a sender whose clock runs
            # ahead must not make its events outrank later ones.
            return min(value, delivery.received_at)
    return delivery.received_at


def _json_safe(value):
    """Return the value with NUL characters removed from every string (PostgreSQL's JSON refuses them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _finish(delivery: Delivery, *, status: str, error: str = "", now: datetime) -> Delivery:
    delivery.status = status
    delivery.error = clip(error, 10_000)
    delivery.processed_at = now
    delivery.next_attempt_at = None
    delivery.save(
        update_fields=["status", "error", "processed_at", "next_attempt_at", "normalized", "model_found", "deployment"]
    )
    return delivery


def _commit_without_waiting_for_disk() -> None:
    """Let PostgreSQL acknowledge this transaction's commit before its WAL reaches the disk.

    Safe here, and only here: everything processing writes is derived from
    the stored delivery. A crash may lose the last fraction of a second of
    such commits, never part of one, and a lost one leaves its delivery
    waiting, so the sweeper queues it again. The delivery itself is stored
    with a durable commit before the sender is answered.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@transaction.atomic
def delivery_process(*, delivery_id: int) -> Delivery | None:
    """Turn a stored delivery into what it means; return it, or None when it no longer exists.

    Lock the delivery's row for the whole transaction and return early when it
    was already processed or ignored. Unsupported events are marked ignored with
    the reason. Any other exception propagates with nothing written: record it
    with ``delivery_record_failure``.
    """
    _commit_without_waiting_for_disk()
    try:
        delivery = Delivery.objects.select_for_update(of=("self",)).select_related("source").get(pk=delivery_id)
    except Delivery.DoesNotExist:
        return None
    if delivery.status in DONE:
        return delivery
    now = timezone.now()
    source = delivery.source
    sender = sender_for(source.kind)
    # Kept headers win over the stored content type (they carry its parameters, such as the charset).
    headers = CaseInsensitiveMapping({"Content-Type": delivery.content_type, **(delivery.headers or {})})
    try:
        payload = sender.parse(headers, bytes(delivery.body))
    except IngestError as error:
        return _finish(delivery, status=Delivery.Status.FAILED, error=UNREADABLE.format(error=error.message), now=now)
    try:
        event = _discover(event=sender.adapt(delivery.event, payload), source=source)
    except UnsupportedEvent as unsupported:
        return _finish(delivery, status=Delivery.Status.IGNORED, error=str(unsupported), now=now)
    delivery.normalized = _json_safe(event.as_json())
    occurred_at = _event_time(event=event, delivery=delivery)
    if event.kind == EventKind.PING:
        return _finish(delivery, status=Delivery.Status.PROCESSED, error="", now=now)
    if event.kind == EventKind.REGISTRY:
        if event.registry is None or not event.registry.model_name:
            return _finish(delivery, status=Delivery.Status.IGNORED, error=NO_STATUS, now=now)
        model, version, _ = registry_change_apply(
            team=source.team_id, change=event.registry, occurred_at=occurred_at, delivery=delivery
        )
        delivery.model_found = clip(f"{model.name} v{version.version}" if version else model.name, 240)
        return _finish(delivery, status=Delivery.Status.PROCESSED, now=now)
    if event.status is None:
        return _finish(delivery, status=Delivery.Status.IGNORED, error=NO_STATUS, now=now)
    outcome = deployment_event_apply(
        source=source,
        event=event,
        occurred_at=occurred_at,
        delivery=delivery,
        fallback_external_id=f"delivery:{delivery.delivery_id}",
    )
    delivery.deployment = outcome.deployment
    delivery.model_found = outcome.model_found
    return _finish(delivery, status=Delivery.Status.PROCESSED, now=now)


def delivery_retry_delay(*, attempts: int) -> float:
    """Return the seconds to wait before the next attempt after ``attempts`` failed ones."""
    base = settings.KINTSUGI_DELIVERY_RETRY_BACKOFF
    return min(base * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_CAP)


@transaction.atomic
def delivery_record_failure(*, delivery_id: int, error: str) -> float | None:
    """Count a failed processing attempt; return the seconds to wait before retrying, or None to stop.

    After ``KINTSUGI_DELIVERY_MAX_ATTEMPTS`` attempts the delivery is marked
    failed with the error, until someone replays it.
    """
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in WAITING:
        return None
    now = timezone.now()
    delivery.attempts += 1
    delivery.error = clip(error, 10_000)
    if delivery.attempts >= settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
        delivery.processed_at = now
        delivery.next_attempt_at = None
        delay = None
    else:
        delay = delivery_retry_delay(attempts=delivery.attempts)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    delivery.save(update_fields=["attempts", "error", "status", "processed_at", "next_attempt_at"])
    return delay


@transaction.atomic
def delivery_replay(*, delivery: Delivery, actor=None) -> Delivery:
    """Process the delivery again from its stored body: mark it replayed, reset its attempts, queue it.

    Replaying is safe whatever the delivery's state: processing is idempotent.
    """
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    now = timezone.now()
    delivery.status = Delivery.Status.REPLAYED
    delivery.replay_count += 1
    delivery.attempts = 0
    delivery.error = ""
    delivery.processed_at = None
    delivery.next_attempt_at = now
    delivery.save(update_fields=["status", "replay_count", "attempts", "error", "processed_at", "next_attempt_at"])
    if actor is not None and getattr(actor, "is_authenticated", False):
        logger.info("Delivery %s replayed by %s.", delivery.pk, actor)
    pk = delivery.pk
    transaction.on_commit(lambda: delivery_queue(delivery_id=pk))
    return delivery


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Queue the deliveries still waiting ``KINTSUGI_DELIVERY_SWEEP_AFTER`` seconds after their attempt was due.

    Stamp each queued one as due now, so the next sweep leaves it alone while a
    worker gets to it. Stop at the first publish failure (the broker is down;
    the next sweep tries again). Return how many were queued.
    """
    from incidents.selectors.deliveries import delivery_ids_overdue

    now = now or timezone.now()
    queued = []
    for delivery_id in delivery_ids_overdue(before=now - timedelta(seconds=settings.KINTSUGI_DELIVERY_SWEEP_AFTER)):
        if not delivery_queue(delivery_id=delivery_id):
            break
        queued.append(delivery_id)
    if queued:
        Delivery.objects.filter(pk__in=queued, status__in=WAITING).update(next_attempt_at=now)
        logger.info("Sweeper queued %s waiting deliveries.", len(queued))
    return len(queued)
