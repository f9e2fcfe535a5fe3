"""Writes to deliveries: storing them as received, waking their processing, counting failures, replaying.

Receiving commits the raw delivery before the sender is answered and wakes a
drain once committed: a task that processes every delivery due, in batches
(``incidents.services.processing``). Retries and the sweeper go through the
same drain, so every way to processing is the same.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.shared_redis import shared_key, shared_redis
from incidents.models import Delivery
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
