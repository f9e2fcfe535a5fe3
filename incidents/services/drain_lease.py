"""The lease a running drain holds in Redis, so that deliveries committed meanwhile need no wake of their own.

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
"""

import logging
import secrets
import time

import redis

from config.shared_redis import shared_key, shared_redis, shared_script

logger = logging.getLogger(__name__)

DRAIN_LEASE = "delivery-drain-lease"
DRAIN_LEASE_SECONDS = 1.0
# A web process trusts a lease it saw until this long before the lease's end.
DRAIN_LEASE_MARGIN_SECONDS = 0.25

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


def drain_wake_needed(*, pending_flag: str, pending_seconds: int) -> str:
    """Say what a delivery committed before this call needs: ``LEASED``, ``PENDING`` or ``PUBLISH``.

    ``pending_flag`` names the flag set while a drain is queued and not started.

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
    keys = [shared_key(DRAIN_LEASE), shared_key(pending_flag)]
    answer = shared_script(client, WAKE_SCRIPT)(keys=keys, args=[pending_seconds])
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
    global _leased_until
    _leased_until = 0.0
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
        """Return a lease for a drain starting now (renew it before each look), or None without a shared Redis."""
        client = shared_redis()
        return None if client is None else cls(client)

    def renew(self) -> None:
        """Hold the lease for ``DRAIN_LEASE_SECONDS`` from now. Call it before each look for deliveries."""
        try:
            self.client.set(self.key, self.token, px=int(DRAIN_LEASE_SECONDS * 1000))
        except Exception:  # the lease lapses: deliveries wake drains of their own meanwhile
            logger.warning("Could not renew the drain lease.", exc_info=True)

    def let_go(self) -> bool:
        """Stop renewing and wait until the lease is gone; return True, then look once more before stopping.

        Return False at once when another drain renewed the lease since: that
        drain looks after its own lease is gone, which covers this one's.
        """
        while True:
            try:
                left = shared_script(self.client, HELD_SCRIPT)(keys=[self.key], args=[self.token])
            except Exception:  # cannot tell: look once more, as if it were gone
                logger.warning("Could not read the drain lease.", exc_info=True)
                return True
            if left == -3:
                return False
            if left <= 0:
                return True
            time.sleep(left / 1000 + 0.005)
