"""Writes to deliveries: storing them as received, waking their processing, counting failures, replaying.

Receiving commits the raw delivery before the sender is answered and wakes a
drain once committed: a task that processes every delivery due, in batches
(``incidents.services.processing``). Retries and the sweeper go through the
same drain, so every way to processing is the same.
"""

import functools
import hashlib
import logging
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.database import insert_unless_conflict
from config.shared_redis import shared_key, shared_redis
from incidents.models import Delivery, Source
from incidents.services.deployments import clip
from incidents.services.drain_lease import PUBLISH, DrainLease, drain_wake_needed
from incidents.services.processing import (
    WAITING,
    BatchFailed,
    delivery_batch_process,
    delivery_failure_count,
)

logger = logging.getLogger(__name__)

# Set while a drain task is queued and not yet started; expires in case that task is lost.
DRAIN_PENDING = "delivery-drain-pending"
DRAIN_PENDING_SECONDS = 30
# A drain holding the lease looks again this often while nothing comes, for this long, before it lets the lease go.
DRAIN_POLL_SECONDS = 0.05
DRAIN_LINGER_SECONDS = 0.5


class SourceChanged(Exception):
    """The source is no longer as the delivery was checked against: it changed, was deactivated or deleted."""


def delivery_receive(
    *,
    source: Source,
    delivery_id: str,
    event: str,
    headers: dict[str, str],
    content_type: str,
    body: bytes,
    received_at: datetime | None = None,
    edge_version: int | None = None,
) -> tuple[Delivery, bool]:
    """Store a delivery and queue its processing once committed; return it and whether it is new.

    Outside a transaction (as the webhook view calls it) the delivery is
    committed when this returns; inside one, it is stored in a savepoint and
    queued when that transaction commits. A delivery id the source already sent
    returns the stored delivery and queues nothing, also under concurrent
    copies: the unique constraint decides, in the insert itself.

    With ``edge_version`` (the version of the source that the delivery's
    signature was checked against), store it only while the source is active
    and still at that version, in the same statement; raise SourceChanged
    otherwise, and store nothing.
    """
    received_at = received_at or timezone.now()
    delivery_id = clip(delivery_id, 200) or "sha256:" + hashlib.sha256(body).hexdigest()
    row = {
        "source_id": source.pk,
        "delivery_id": delivery_id,
        "event": clip(event, 120),
        "headers": {clip(name, 200): clip(value, 2000) for name, value in headers.items()},
        "content_type": clip(content_type, 200),
        "body": body,
        "received_at": received_at,
        "next_attempt_at": received_at,
    }
    connection = transaction.get_connection()
    # Inside a transaction the insert runs in a savepoint, so an error only
    # rolls that back; outside one the single INSERT commits (or fails) alone.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    only_if = None if edge_version is None else (_source_unchanged_sql(), [source.pk, edge_version])
    with guard:
        delivery = insert_unless_conflict(Delivery, row, conflict=("source", "delivery_id"), only_if=only_if)
    if delivery is None:
        stored = Delivery.objects.filter(source=source, delivery_id=delivery_id)
        if edge_version is not None:
            # Answer "duplicate" only to a delivery checked against the source as it is.
            stored = stored.filter(source__edge_version=edge_version, source__is_active=True)
        existing = stored.only("id", "status").first()
        if existing is None and edge_version is not None:
            raise SourceChanged(f"Source {source.pk} is no longer at edge version {edge_version}.")
        if existing is None:  # the stored copy was deleted in between: the sender retries
            raise IntegrityError(f"Delivery {delivery_id!r} of source {source.pk} conflicted, then vanished.")
        return existing, False
    Delivery.source.field.set_cached_value(delivery, source)
    # Runs at once when no transaction is open (the delivery is committed already).
    transaction.on_commit(delivery_processing_wake)
    return delivery, True


@functools.cache
def _source_unchanged_sql() -> str:
    quote = connection.ops.quote_name
    opts = Source._meta
    return (
        f"EXISTS (SELECT 1 FROM {quote(opts.db_table)} WHERE {quote(opts.pk.column)} = %s "  # noqa: S608 - names from the model
        f"AND {quote(opts.get_field('edge_version').column)} = %s AND {quote(opts.get_field('is_active').column)})"
    )


def delivery_processing_wake() -> bool:
    """Make sure a drain looks for deliveries after this moment; return False when the broker cannot take one.

    Call it once the deliveries to process are committed. With a shared
    Redis, a drain that holds its lease (``drain_lease``) will look again:
    nothing to do. Else publish a drain only when none is pending: a drain
    clears the pending flag as it starts, so the one pending serves every
    delivery committed before then. Without a shared Redis (the embedded
    default), publish each time. Never raise and never wait long: the sweeper
    queues whatever was left.
    """
    try:
        if drain_wake_needed(pending_flag=DRAIN_PENDING, pending_seconds=DRAIN_PENDING_SECONDS) != PUBLISH:
            return True
    except Exception:  # the lease and the flag are optimisations: without them, publish
        logger.warning("Could not read the drain lease and flag; publishing a drain.", exc_info=True)
    return _drain_publish()


def _drain_recruit() -> bool:
    """Wake one more drain (a backlog is waiting) unless one is pending already; return False when none could be."""
    client = shared_redis()
    if client is not None:
        try:
            if not client.set(shared_key(DRAIN_PENDING), 1, nx=True, ex=DRAIN_PENDING_SECONDS):
                return True
        except Exception:  # the flag is an optimisation: without it, publish
            logger.warning("Could not set the drain flag; publishing a drain.", exc_info=True)
    return _drain_publish()


def _drain_publish() -> bool:
    if delivery_drain_queue():
        return True
    delivery_drain_flag_clear()
    return False


def delivery_drain_queue(*, countdown: float | None = None) -> bool:
    """Publish a drain task (after ``countdown`` seconds); return False when the broker cannot take it. Never raise."""
    from incidents.tasks import delivery_drain_task

    try:
        delivery_drain_task.apply_async(countdown=countdown)
    except Exception:  # a down broker must not fail the request; the sweeper catches up
        logger.warning("Could not queue a delivery drain; the sweeper will queue one.", exc_info=True)
        return False
    return True


def delivery_drain_flag_clear() -> None:
    """Forget that a drain is queued: the next delivery committed queues one (its drain clears it as it starts)."""
    client = shared_redis()
    if client is None:
        return
    try:
        client.delete(shared_key(DRAIN_PENDING))
    except Exception:  # the flag expires by itself
        logger.warning("Could not clear the drain flag.", exc_info=True)


def delivery_drain(*, budget_seconds: float | None = None) -> int:
    """Process the deliveries due, batch after batch, until none is left or the time is spent; return how many.

    Clear the drain flag first, so deliveries committed from now on queue a
    drain of their own unless this one holds its lease. With a shared Redis,
    hold the lease while working, keep looking every ``DRAIN_POLL_SECONDS``
    until nothing came for ``DRAIN_LINGER_SECONDS``, then let the lease go and
    look once more. While a full batch comes back there is a backlog: wake
    another worker to share it. When the budget is spent, queue a drain for
    the rest. When an attempt failed, queue a drain for when its retry is due.
    A batch that fails as a whole is processed again one delivery at a time.
    """
    delivery_drain_flag_clear()
    lease = DrainLease.take()
    budget = settings.KINTSUGI_DELIVERY_DRAIN_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    size = settings.KINTSUGI_DELIVERY_BATCH_SIZE
    done = 0
    retry_in: float | None = None
    idle_since: float | None = None
    last_look = False  # the lease is gone: this look is the one that covers it
    while True:
        if lease is not None and not last_look:
            # Before each look, the first one too: a web process that saw the pending flag trusts this lease.
            lease.renew()
        claimed, soonest = _drain_batch(size)
        done += claimed
        retry_in = _sooner(retry_in, soonest)
        if claimed < size and (lease is None or (last_look and not claimed)):
            break
        last_look = False
        if time.monotonic() >= deadline:
            # The next drain takes the lease over: deliveries that trusted this one's are seen.
            delivery_drain_queue()
            break
        if claimed == size:
            idle_since = None
            _drain_recruit()
            continue
        if claimed:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= DRAIN_LINGER_SECONDS:
            if not lease.let_go():
                break  # another drain holds the lease now, and looks last
            last_look = True  # for what was committed while the lease lived
            continue
        time.sleep(DRAIN_POLL_SECONDS)
    if retry_in is not None:
        delivery_drain_queue(countdown=retry_in)
    return done


def _drain_batch(size: int) -> tuple[int, float | None]:
    """Process one batch of due deliveries; return how many were claimed and the seconds to the soonest retry."""
    try:
        result = delivery_batch_process(limit=size)
    except BatchFailed as failed:
        logger.warning("A batch failed as a whole; processing its deliveries one by one.", exc_info=True)
        return len(failed.delivery_ids), delivery_process_each(ids=failed.delivery_ids)
    return result.claimed, result.retry_in


def delivery_process_each(*, ids: list[int]) -> float | None:
    """Process the deliveries one per transaction, counting a failed attempt on any that fails as a whole.

    Return the seconds until the soonest retry is due, or None when none waits.
    """
    retry_in = None
    for delivery_id in ids:
        try:
            soonest = delivery_batch_process(ids=[delivery_id]).retry_in
        except Exception as error:  # recorded on the delivery, then retried or final
            logger.exception("Processing delivery %s failed.", delivery_id)
            cause = error.__cause__ if isinstance(error, BatchFailed) and error.__cause__ else error
            soonest = delivery_record_failure(delivery_id=delivery_id, error=f"{cause.__class__.__name__}: {cause}")
        retry_in = _sooner(retry_in, soonest)
    return retry_in


def _sooner(first: float | None, second: float | None) -> float | None:
    if first is None:
        return second
    return first if second is None else min(first, second)


@transaction.atomic
def delivery_record_failure(*, delivery_id: int, error: str) -> float | None:
    """Count a failed processing attempt; return the seconds to wait before retrying, or None to stop.

    After ``KINTSUGI_DELIVERY_MAX_ATTEMPTS`` attempts the delivery is marked
    failed with the error, until someone replays it.
    """
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in WAITING:
        return None
    delay = delivery_failure_count(delivery, error=error, now=timezone.now())
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
    transaction.on_commit(delivery_processing_wake)
    return delivery


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Queue a drain when deliveries still wait ``KINTSUGI_DELIVERY_SWEEP_AFTER`` seconds after their attempt was due.

    Stamp them as due now, so the next sweep leaves them alone while the drain
    gets to them. Queue nothing when the broker is down (the next sweep tries
    again). Return how many deliveries were overdue and queued.
    """
    from incidents.selectors.deliveries import delivery_ids_overdue

    now = now or timezone.now()
    overdue = delivery_ids_overdue(before=now - timedelta(seconds=settings.KINTSUGI_DELIVERY_SWEEP_AFTER))
    if not overdue or not delivery_drain_queue():
        return 0
    Delivery.objects.filter(pk__in=overdue, status__in=WAITING).update(next_attempt_at=now)
    logger.info("Sweeper queued a drain for %s waiting deliveries.", len(overdue))
    return len(overdue)
