"""Per-source request counting at the webhook edge: one-minute windows, never over the limit across web workers."""

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import redis
from django.db import connection

from config.shared_redis import shared_key, shared_redis, shared_script
from incidents.models import Source, SourceRateWindow

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def source_rate_limit_hit(*, source: Source, now: datetime) -> int:
    """Count one request of the source in the current minute; return the seconds to wait when over its limit, else 0.

    Count in the shared Redis cache when one is configured, else in the
    database with one atomic upsert. A limit of 0 disables the check. When the
    counter store fails the request is let through (and logged): a delivery
    lost to a counter outage would be worse than one request too many.

    In Redis, a web process takes requests from the source's count a chunk at a
    time (a hundredth of the limit, at least one) and admits them without
    asking again. Together the processes never admit more than the limit; near
    it, a process may refuse while another still holds part of a chunk, so up
    to a hundredth of the limit per process goes unused in a minute the source
    reaches its limit.
    """
    limit = source.rate_limit_per_minute
    if not limit:
        return 0
    timestamp = now.timestamp()
    minute = int(timestamp // WINDOW_SECONDS)
    try:
        client = shared_redis()
        if client is not None:
            admitted = _admit_from_cache(client=client, source=source, minute=minute, limit=limit)
        else:
            admitted = _count_in_database(source=source, minute=minute) <= limit
    except Exception:  # fail open: see the docstring
        logger.warning("Rate limit counter unavailable for source %s.", source.pk, exc_info=True)
        return 0
    if admitted:
        return 0
    return max(1, math.ceil((minute + 1) * WINDOW_SECONDS - timestamp))


# Count, and let the first count of a minute set when the counter expires: one command, atomic on the server.
INCREMENT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
CHUNKS_PER_LIMIT = 100
MAX_CHUNK = 100


@dataclass
class _Grant:
    """The requests of a source this process may still admit in one minute, and whether the minute's are all taken."""

    minute: int
    limit: int
    left: int = 0
    spent: bool = False


_grants: dict[str, _Grant] = {}


def _admit_from_cache(*, client: redis.Redis, source: Source, minute: int, limit: int) -> bool:
    grant = _grants.get(source.public_id)
    if grant is None or (grant.minute, grant.limit) != (minute, limit):  # a new minute, or a changed limit
        if len(_grants) >= 4096:  # sources of minutes gone by: forget them
            _grants.clear()
        grant = _grants[source.public_id] = _Grant(minute=minute, limit=limit)
    if grant.left:
        grant.left -= 1
        return True
    if grant.spent:
        return False
    chunk = max(1, min(limit // CHUNKS_PER_LIMIT, MAX_CHUNK))
    # The public id is unique for ever, so counters never mix sources (even across databases).
    key = shared_key(f"webhook-rate:{source.public_id}:{minute}")
    taken = shared_script(client, INCREMENT_SCRIPT)(keys=[key], args=[WINDOW_SECONDS * 2, chunk])
    granted = min(chunk, limit - (taken - chunk))
    if granted <= 0:
        grant.spent = True
        return False
    grant.left = granted - 1
    return True


def rate_grants_forget() -> None:
    """Forget the requests this process holds (tests, which start each as a fresh web process)."""
    _grants.clear()


def _count_in_database(*, source: Source, minute: int) -> int:
    table = connection.ops.quote_name(SourceRateWindow._meta.db_table)
    sources = connection.ops.quote_name(Source._meta.db_table)
    # One statement, atomic in PostgreSQL and SQLite alike (both know ON CONFLICT … RETURNING). A source
    # deleted since this process read it counts nothing: the delivery's insert refuses it.
    sql = (
        f"INSERT INTO {table} (source_id, minute, count) "  # noqa: S608 - table names from the models
        f"SELECT %s, %s, 1 WHERE EXISTS (SELECT 1 FROM {sources} WHERE id = %s) "
        f"ON CONFLICT (source_id, minute) DO UPDATE SET count = {table}.count + 1 RETURNING count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [source.pk, minute, source.pk])
        row = cursor.fetchone()
    return row[0] if row else 0


def rate_windows_prune(*, before: datetime) -> int:
    """Delete database counters of minutes before ``before``; return how many."""
    deleted, _ = SourceRateWindow.objects.filter(minute__lt=int(before.timestamp() // WINDOW_SECONDS)).delete()
    return deleted
