"""Waking and running the drain: the task that processes every delivery due, batch after batch.

Reading order: the lease a running drain holds, how a committed delivery
wakes a drain (or trusts one to look), the drain's loop, the sweeper that
queues what was left, and the Celery task. The batches themselves are
``incidents.ingest.batch``'s.

**The drain lease.**
A drain renews the lease as it works and, before it stops, lets it go: it
stops renewing, waits until the lease is gone, and looks for due deliveries
once more. So a delivery committed while the lease was alive is always seen
by a drain, and the process that committed it needs neither to publish a task
nor to set the pending flag.

The same holds for a while after a web process saw the pending flag (a drain
queued, not started): that drain clears the flag and takes the lease before
it first looks, so until ``DRAIN_LEASE_SECONDS`` after the flag was seen,
either it has not looked yet or its lease is alive. A web process that saw the
lease or the flag remembers until when it may trust them (less a margin for
clocks and scheduling) and asks Redis nothing until then. Without a shared
Redis there is no lease: every delivery wakes a drain of its own.

A drain killed while it holds the lease leaves deliveries committed in its
last second to the sweeper, as a lost task does.

Retries and the sweeper go through the same drain, so every way to
processing is the same.
"""

import logging
import math
import secrets
import time
from datetime import datetime, timedelta

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.shared_redis import (
    redis_failed,
    redis_failure_log,
    redis_server,
    redis_unavailable,
    shared_key,
    shared_redis,
    shared_script,
)
from incidents.ingest.batch import WAITING, delivery_batch_due
from incidents.models import Delivery
from incidents.selectors.deliveries import delivery_ids_overdue, delivery_seconds_to_due

logger = logging.getLogger(__name__)

# Set while a drain task is queued and not yet started; expires in case that task is lost.
DRAIN_PENDING = "delivery-drain-pending"
DRAIN_PENDING_SECONDS = 30
# A drain holding the lease looks again this often while nothing comes, for this long, before it lets the lease go.
DRAIN_POLL_SECONDS = 0.05
DRAIN_LINGER_SECONDS = 0.5
DRAIN_LEASE = "delivery-drain-lease"
# Set while a drain is queued for later (a retry, the end of a claim): others ending meanwhile queue none.
DRAIN_FOLLOW_UP = "delivery-drain-follow-up"
DRAIN_LEASE_SECONDS = 1.0
# A web process trusts a lease it saw until this long before the lease's end.
DRAIN_LEASE_MARGIN_SECONDS = 0.25

# -- The lease ----------------------------------------------------------------------------------------------------

# Until when (time.monotonic()) a drain in this process's view holds the lease.
_leased_until = 0.0

# Tell whether a drain holds the lease (its milliseconds left, > 0); if none does, set the pending
# flag: 1 when this call set it (publish a drain), 0 when a drain is pending already.
WAKE_SCRIPT = """
local left = redis.call('PTTL', KEYS[1])
if left > 0 then
    return left
end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
    return -1
end
return 0
"""

# The lease's milliseconds left while this drain's token holds it; -2 when it is gone, -3 when another drain's is.
HELD_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if not holder then
    return -2
end
if holder ~= ARGV[1] then
    return -3
end
return redis.call('PTTL', KEYS[1])
"""

PUBLISH = "publish"
LEASED = "leased"
PENDING = "pending"


def drain_wake_needed() -> str:
    """Say what a delivery committed before this call needs: ``LEASED``, ``PENDING`` or ``PUBLISH``.

    ``LEASED``: a drain holds the lease, and will look after this commit.
    ``PENDING``: no drain holds it, one is queued and not started. ``PUBLISH``:
    neither; the pending flag is now set, so publish a drain. Either of the
    first two answers is remembered for a while (see the module). Raise when
    Redis cannot answer; the caller then publishes. Without a shared Redis,
    always ``PUBLISH``.
    """
    global _leased_until
    if time.monotonic() < _leased_until:
        return LEASED
    client = shared_redis()
    if client is None:
        return PUBLISH
    asked = time.monotonic()
    keys = [shared_key(DRAIN_LEASE), shared_key(DRAIN_PENDING)]
    answer = shared_script(client, WAKE_SCRIPT)(keys=keys, args=[DRAIN_PENDING_SECONDS])
    # Redis answered after ``asked``: a lease lives at least until then plus what it had left; the drain
    # pending takes its lease after then, for DRAIN_LEASE_SECONDS.
    if answer > 0:
        _leased_until = asked + answer / 1000 - DRAIN_LEASE_MARGIN_SECONDS
        return LEASED
    if answer == 0:
        _leased_until = asked + DRAIN_LEASE_SECONDS - DRAIN_LEASE_MARGIN_SECONDS
        return PENDING
    return PUBLISH


def drain_lease_forget(*, in_redis: bool = False) -> None:
    """Forget the lease this process saw, and with ``in_redis`` drop the lease itself (tests, each a fresh start)."""
    global _leased_until, _wake_owed
    _leased_until = 0.0
    _wake_owed = False
    client = shared_redis() if in_redis else None
    if client is not None:
        client.delete(shared_key(DRAIN_LEASE))


class DrainLease:
    """A running drain's hold on the lease; None of it without a shared Redis (see ``take``)."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.key = shared_key(DRAIN_LEASE)
        self.token = secrets.token_hex(8)

    @classmethod
    def take(cls) -> "DrainLease | None":
        """Return a lease for a drain starting now (renew it before each look), or None without a shared Redis.

        None too while Redis is unavailable: without a lease, deliveries wake drains of their own.
        """
        try:
            client = shared_redis()
        except redis.RedisError:
            redis_failure_log(logger, "Redis is unavailable: draining without the lease.")
            return None
        return None if client is None else cls(client)

    def renew(self) -> None:
        """Hold the lease for ``DRAIN_LEASE_SECONDS`` from now. Call it before each look for deliveries."""
        try:
            self.client.set(self.key, self.token, px=int(DRAIN_LEASE_SECONDS * 1000))
        except Exception:  # noqa: BLE001 - logged by redis_failure_log; the lease lapses: deliveries wake drains of their own meanwhile
            redis_failure_log(logger, "Could not renew the drain lease.")

    def let_go(self) -> bool:
        """Stop renewing and wait until the lease is gone; return True, then look once more before stopping.

        Return False at once when another drain renewed the lease since: that
        drain looks after its own lease is gone, which covers this one's.
        """
        while True:
            try:
                left = shared_script(self.client, HELD_SCRIPT)(keys=[self.key], args=[self.token])
            except Exception:  # noqa: BLE001 - logged by redis_failure_log; cannot tell: look once more, as if it were gone
                redis_failure_log(logger, "Could not read the drain lease.")
                return True
            if left == -3:
                return False
            if left <= 0:
                return True
            time.sleep(left / 1000 + 0.005)


# -- Waking -------------------------------------------------------------------------------------------------------


def delivery_processing_wake() -> bool:
    """Make sure a drain looks for deliveries after this moment; return False when the broker cannot take one.

    Call it once the deliveries to process are committed. With a shared
    Redis, a drain that holds the drain lease (above) will look again:
    nothing to do. Else publish a drain only when none is pending: a drain
    clears the pending flag as it starts, so the one pending serves every
    delivery committed before then. Without a shared Redis (the embedded
    default), publish each time. Never raise and never wait long: the sweeper
    queues whatever was left.
    """
    if not _wake_owed:
        try:
            if drain_wake_needed() != PUBLISH:
                return True
        except Exception:  # noqa: BLE001 - logged by redis_failure_log; the lease and the flag are optimisations: without them, publish
            redis_failure_log(logger, "Could not read the drain lease and flag; publishing a drain.")
    return _drain_publish()


def _drain_recruit() -> bool:
    """Wake one more drain (a backlog is waiting) unless one is pending already; return False when none could be."""
    try:
        client = shared_redis()
        if client is not None and not client.set(shared_key(DRAIN_PENDING), 1, nx=True, ex=DRAIN_PENDING_SECONDS):
            return True
    except Exception:  # noqa: BLE001 - logged by redis_failure_log; the flag is an optimisation: without it, publish
        redis_failure_log(logger, "Could not set the drain flag; publishing a drain.")
    return _drain_publish()


# Set when a wake of this process could not publish its drain. A wake whose Redis call timed out may still
# have set the pending flag (the server runs it once it answers again) with no drain behind it, so the
# next wake publishes a drain whatever the flag says; that drain clears the flag as it starts.
_wake_owed = False


def _drain_publish() -> bool:
    global _wake_owed
    if delivery_drain_queue():
        _wake_owed = False
        return True
    _wake_owed = True
    delivery_drain_flag_clear()
    return False


def delivery_drain_queue(*, countdown: float | None = None) -> bool:
    """Publish a drain task (after ``countdown`` seconds); return False when the broker cannot take it. Never raise.

    Never wait on a broker that failed in the last ``KINTSUGI_REDIS_RETRY_SECONDS``
    (``config/shared_redis.py``): publish nothing, the sweeper queues what was
    left. A countdown is cut to ``drain_countdown_most()``.
    """
    broker = _broker_url()
    if redis_unavailable(broker):
        logger.debug("The broker is unavailable; the sweeper will queue a drain.")
        return False
    if countdown is not None:
        countdown = min(countdown, drain_countdown_most())
    try:
        if redis_server(broker):
            delivery_drain_task.apply_async(countdown=countdown, connection=_publisher(broker))
        else:
            delivery_drain_task.apply_async(countdown=countdown)
    except Exception:  # a down broker must not fail the request; the sweeper catches up
        logger.warning("Could not queue a delivery drain; the sweeper will queue one.", exc_info=True)
        redis_failed(broker)
        _publishers.pop(broker, None)
        return False
    return True


# Broker URL -> this process's connection for publishing drains.
_publishers: dict = {}


def _publisher(url: str):
    """Return this process's connection to a Redis broker for publishing, with ``KINTSUGI_BROKER_TIMEOUT``.

    The workers' own connections wait for a broker that hangs; a publish,
    made by web requests too, gives up after the timeout instead.
    """
    if url not in _publishers:
        app = delivery_drain_task.app
        options = {
            **app.conf.broker_transport_options,
            "socket_timeout": settings.KINTSUGI_BROKER_TIMEOUT,
            "socket_connect_timeout": settings.KINTSUGI_BROKER_TIMEOUT,
        }
        _publishers[url] = app.connection_for_write(url, transport_options=options)
    return _publishers[url]


def drain_countdown_most() -> float:
    """Return the longest countdown a drain is queued with: a task waits for it unacknowledged in its worker.

    Redis gives a task unacknowledged for ``KINTSUGI_BROKER_VISIBILITY_TIMEOUT``
    to another worker, so a drain counted down for longer would run twice or
    more; one counted down for at most half of what the visibility leaves
    after a drain's budget runs once. A retry due later is seen by a later drain.
    """
    if not redis_server(_broker_url()):
        return math.inf  # the embedded broker gives no task to another worker while one holds it
    visibility = settings.KINTSUGI_BROKER_VISIBILITY_TIMEOUT
    return max(1.0, (visibility - settings.KINTSUGI_DELIVERY_DRAIN_SECONDS) / 2)


def _broker_url() -> str:
    conf = delivery_drain_task.app.conf
    return conf.broker_write_url or conf.broker_url or ""


def delivery_drain_flag_clear() -> None:
    """Forget that a drain is queued: the next delivery committed queues one (its drain clears it as it starts)."""
    try:
        client = shared_redis()
        if client is not None:
            client.delete(shared_key(DRAIN_PENDING))
    except Exception:  # noqa: BLE001 - logged by redis_failure_log; the flag expires by itself
        redis_failure_log(logger, "Could not clear the drain flag.")


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
        claimed, soonest = delivery_batch_due(limit=size)
        done += claimed
        retry_in = _sooner(retry_in, soonest)
        # Without a lease, stop once a look finds nothing: a batch cut short by its bytes leaves more due.
        if not claimed and (lease is None or last_look):
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
    if lease is None:
        if retry_in is not None:
            delivery_drain_queue(countdown=retry_in)
        return done
    # With Redis, a countdown is cut short (drain_countdown_most): look for whatever waits to be due later
    # (a retry, a claim of a lost worker), and follow up unless another drain does it sooner.
    if retry_in is None:
        retry_in = delivery_seconds_to_due()
    if retry_in is not None:
        _drain_follow_up(lease.client, seconds=retry_in)
    return done


def _drain_follow_up(client: redis.Redis, *, seconds: float) -> None:
    """Queue a drain in ``seconds`` (at most ``drain_countdown_most()``) unless one is queued so already.

    One flag, set until that drain is due, keeps the drains that end meanwhile
    from queueing one each: one follow-up at a time, however many drains ran.
    """
    countdown = min(seconds, drain_countdown_most())
    try:
        if not client.set(shared_key(DRAIN_FOLLOW_UP), 1, nx=True, px=max(1, int(countdown * 1000))):
            return
    except Exception:  # noqa: BLE001 - logged by redis_failure_log; the flag is an optimisation: without it, queue
        redis_failure_log(logger, "Could not set the drain follow-up flag.")
    delivery_drain_queue(countdown=countdown)


def _sooner(first: float | None, second: float | None) -> float | None:
    if first is None:
        return second
    return first if second is None else min(first, second)


# -- Sweeping ----------------------------------------------------------------------------------------------------


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Queue a drain when deliveries still wait ``KINTSUGI_DELIVERY_SWEEP_AFTER`` seconds after their attempt was due.

    Stamp them as due now, so the next sweep leaves them alone while the drain
    gets to them. Queue nothing when the broker is down (the next sweep tries
    again). Return how many deliveries were overdue and queued.
    """
    now = now or timezone.now()
    overdue = delivery_ids_overdue(before=now - timedelta(seconds=settings.KINTSUGI_DELIVERY_SWEEP_AFTER))
    if not overdue or not delivery_drain_queue():
        return 0
    Delivery.objects.filter(pk__in=overdue, status__in=WAITING).update(next_attempt_at=now)
    logger.info("Sweeper queued a drain for %s waiting deliveries.", len(overdue))
    return len(overdue)


# -- The task -----------------------------------------------------------------------------------------------------


# Named as when it lived in incidents.tasks: drains queued by a release before the move still find it.
@shared_task(name="incidents.tasks.delivery_drain_task", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delivery_drain_task() -> int:
    """Process the deliveries due, in batches; a worker lost half-way leaves them due for the redelivered task."""
    return delivery_drain()
