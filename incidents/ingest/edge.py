"""The webhook edge's work, in the order the receive view does it: find the source, check, count, store.

1. **Source lookup**: the source behind a webhook URL, with its secrets, read
   in one plain query and kept in this process's memory for a while
   (``webhook_source_get``). Every change to a source counts in its *edge
   version*, so a source kept in memory is never trusted past a change: the
   insert of a delivery checks the version it was read at.
2. **Signature**: checked on the raw bytes against the source's valid secrets;
   a source kept in memory is read again before refusing, so a secret issued
   since works at once (``webhook_source_verify``).
3. **Rate limit**: one count per authenticated request in a one-minute window
   per source, in the shared Redis when there is one, else in the database
   (``source_rate_limit_hit``). Counted after the signature, so requests
   anyone can send to the URL spend none of the source's budget.
4. **The insert**: one statement stores the raw delivery, yields to a copy
   already stored, and checks the source's edge version, then a drain is woken
   once it is committed (``delivery_store``, ``delivery_receive``).

Everything here runs on every delivery a sender makes, so it is written for
speed: plain cursors and hand-built statements where the ORM's per-call work
would cost more than the round trip. Each such statement names the ORM
behaviour it leaves out.
"""

import functools
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

import redis
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone

from config.database import insert_unless_conflict, server_binding_cursor
from config.shared_redis import redis_failure_log, shared_key, shared_redis, shared_script
from incidents.ingest.drain import delivery_processing_wake
from incidents.ingest.errors import SignatureError
from incidents.ingest.senders import Sender
from incidents.models import Delivery, Source, SourceRateWindow, SourceSecret
from incidents.services.deployments import clip

logger = logging.getLogger(__name__)

T = TypeVar("T")


# -- 1. Source lookup ---------------------------------------------------------------------------------------------

# What the webhook edge reads of a source, in the order of the query's first columns.
WEBHOOK_SOURCE_FIELDS = ("id", "team_id", "kind", "public_id", "rate_limit_per_minute", "edge_version")
# How long a web process trusts a source it read without reading it again. Any
# change to a source counts in its edge version, which the insert of a delivery
# checks, so this only bounds how long a changed rate limit takes to apply when
# every request of the source is refused before reaching that insert.
WEBHOOK_SOURCE_KEPT_SECONDS = 60.0
WEBHOOK_SOURCES_KEPT = 1024


@dataclass(frozen=True)
class WebhookSource:
    """What the webhook edge needs of an active source, as read at one moment, and kept in memory after."""

    row: tuple
    # (value, expires_at) of every secret of the source when read, newest first.
    secrets: tuple[tuple[str, datetime | None], ...]
    read_at: float
    from_memory: bool = False

    @property
    def edge_version(self) -> int:
        return self.row[WEBHOOK_SOURCE_FIELDS.index("edge_version")]

    def source(self) -> Source:
        """Return a Source of its own for this request, with the fields the edge reads (others load on access)."""
        return Source.from_db(DEFAULT_DB_ALIAS, WEBHOOK_SOURCE_FIELDS, self.row)

    def secrets_valid(self, *, now: datetime) -> list[str]:
        """Return the secrets that verify deliveries at ``now``, newest first (``SourceSecret.verifies_at``)."""
        return [value for value, expires_at in self.secrets if SourceSecret.verifies_at(expires_at, now)]


_webhook_sources: OrderedDict[str, WebhookSource] = OrderedDict()


@functools.cache
def _webhook_sql(vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(f"source.{quote(name)}" for name in WEBHOOK_SOURCE_FIELDS)
    # Every secret, expired ones too: which are valid is decided in one place (SourceSecret.verifies_at).
    return (
        f"SELECT {columns}, secret.value, secret.expires_at "  # noqa: S608 - table and column names from the models
        f"FROM {quote(Source._meta.db_table)} source LEFT OUTER JOIN {quote(SourceSecret._meta.db_table)} secret "
        "ON secret.source_id = source.id "
        "WHERE source.public_id = %s AND source.is_active "
        "ORDER BY secret.created_at DESC, secret.id DESC"
    )


def webhook_source_get(*, public_id: str, now: datetime | None = None, fresh: bool = False) -> WebhookSource | None:
    """Return what the webhook edge needs of the active source behind a webhook URL, or None when there is none.

    A source read in the last ``WEBHOOK_SOURCE_KEPT_SECONDS`` is returned
    from this process's memory (``from_memory`` is then true) unless ``fresh``;
    otherwise one plain query reads it with its secrets. A source kept in
    memory may have changed since: its secrets are filtered by the time they
    are used at, and the insert of a delivery checks its ``edge_version``
    (``delivery_receive``), so a revoked secret or a deactivated source is
    refused as soon as it changed.
    """
    clock = time.monotonic()
    kept = None if fresh else _webhook_sources.get(public_id)
    if kept is not None and clock - kept.read_at < WEBHOOK_SOURCE_KEPT_SECONDS:
        return kept
    database = connections[DEFAULT_DB_ALIAS]
    # A plain cursor: building models through .raw() cost more than the query's round trip.
    with server_binding_cursor(database) as cursor:
        cursor.execute(_webhook_sql(database.vendor), [public_id])
        rows = cursor.fetchall()
    if not rows:
        _webhook_sources.pop(public_id, None)
        return None
    width = len(WEBHOOK_SOURCE_FIELDS)
    expires_at = SourceSecret._meta.get_field("expires_at").cached_col
    secrets = tuple(
        (row[width], _converted(expires_at, row[width + 1], database)) for row in rows if row[width] is not None
    )
    found = WebhookSource(row=tuple(rows[0][:width]), secrets=secrets, read_at=clock)
    _webhook_sources[public_id] = replace(found, from_memory=True)
    _webhook_sources.move_to_end(public_id)
    while len(_webhook_sources) > WEBHOOK_SOURCES_KEPT:
        _webhook_sources.popitem(last=False)
    return found


def _converted(column, value, database):
    """Return a column's value as a query of the ORM would (SQLite gives a datetime as text, for one)."""
    for converter in database.ops.get_db_converters(column) + column.get_db_converters(database):
        value = converter(value, column, database)
    return value


def webhook_sources_forget() -> None:
    """Forget every source this process keeps in memory (tests that change sources behind the services' back)."""
    _webhook_sources.clear()


# -- 2. Signature -------------------------------------------------------------------------------------------------


def webhook_source_verify(
    *, sender: Sender, webhook_source: WebhookSource, public_id: str, headers, body: bytes, now: datetime
) -> WebhookSource | None:
    """Check the signature against the source's secrets; return the source as checked, or None when it is gone.

    Raise SignatureError when no valid secret verifies it. A source kept in
    memory is read again before refusing, so a secret issued since works at once.
    """
    try:
        sender.verify(headers, body, webhook_source.secrets_valid(now=now), now)
    except SignatureError:
        if not webhook_source.from_memory:
            raise
        return _verified_again(sender=sender, public_id=public_id, headers=headers, body=body, now=now)
    return webhook_source


def _verified_again(*, sender: Sender, public_id: str, headers, body: bytes, now: datetime) -> WebhookSource | None:
    """Read the source from the database and check the signature against it; return it, or None when it is gone."""
    webhook_source = webhook_source_get(public_id=public_id, now=now, fresh=True)
    if webhook_source is not None:
        sender.verify(headers, body, webhook_source.secrets_valid(now=now), now)
    return webhook_source


# -- 3. Rate limit ------------------------------------------------------------------------------------------------

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
    except Exception:  # noqa: BLE001 - logged by redis_failure_log; fail open: see the docstring
        redis_failure_log(logger, "Rate limit counter unavailable for source %s.", source.pk)
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
    # deleted since this process read it counts nothing: the delivery's insert refuses it. SourceRateWindow
    # has no default, signal or save() logic for it to leave out.
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


# -- 4. The insert ------------------------------------------------------------------------------------------------


class SourceChanged(Exception):
    """The source is no longer as the delivery was checked against: it changed, was deactivated or deleted."""


def delivery_store(
    *,
    sender: Sender,
    webhook_source: WebhookSource,
    source: Source,
    public_id: str,
    headers,
    body: bytes,
    now: datetime,
    delivery_id: str,
    event: str,
    kept_headers: dict[str, str],
    content_type: str,
    test: bool = False,
) -> tuple[Delivery, bool] | None:
    """Commit a delivery checked against ``webhook_source``; return it and whether it is new, or None: source gone.

    Run outside a transaction. The insert is the connection's first statement
    and its health check at once (``_run_checked_by_use``). When the source
    changed since it was read, check the signature against the source as it
    is now (raise SignatureError when no valid secret verifies it any more) and
    store the delivery against that. Raise DatabaseError or SourceChanged when
    it cannot be stored.
    """
    received = {
        "delivery_id": delivery_id,
        "event": event,
        "headers": kept_headers,
        "content_type": content_type,
        "body": body,
        "received_at": now,
        "test": test,
    }
    try:
        return _run_checked_by_use(
            lambda: delivery_receive(source=source, edge_version=webhook_source.edge_version, **received)
        )
    except SourceChanged:
        # Changed since this process read it: check the delivery against the source as it is now.
        webhook_source = _verified_again(sender=sender, public_id=public_id, headers=headers, body=body, now=now)
        if webhook_source is None:
            return None
        return delivery_receive(source=webhook_source.source(), edge_version=webhook_source.edge_version, **received)


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
    test: bool = False,
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

    The insert is ``insert_unless_conflict``'s statement, not ``Model.save()``:
    no ``pre_save``/``post_save`` signal is sent (none is connected to
    Delivery) and ``full_clean`` is not run, so every text is clipped here to
    its column's length; the fields not given take their model defaults
    (status received, no attempts, no replay, empty error, nothing normalized).
    ``test`` marks Kintsugi's own test delivery, which processing applies to nothing.
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
        "is_test": test,
    }
    database = transaction.get_connection()
    # Inside a transaction the insert runs in a savepoint, so an error only
    # rolls that back; outside one the single INSERT commits (or fails) alone.
    guard = transaction.atomic() if database.in_atomic_block else nullcontext()
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


def _run_checked_by_use(function: Callable[[], T]) -> T:
    """Run ``function`` with its first statement as the connection's health check; run it again if that found it dead.

    With ``CONN_HEALTH_CHECKS``, Django sends a query on a persistent
    connection before its first use in each request: a round trip on every
    webhook delivery. Here the function's first statement goes out at once;
    if it fails and the connection turns out unusable, the connection is
    closed and the function runs once more, on a new one. So ``function`` must
    be safe to run twice (an insert that yields to a duplicate is). Inside a
    transaction, or where Django would not check, it just runs.
    """
    database = connections[DEFAULT_DB_ALIAS]
    if (
        database.in_atomic_block
        or database.connection is None
        or not database.health_check_enabled
        or database.health_check_done
    ):
        return function()
    database.health_check_done = True
    try:
        return function()
    except DatabaseError:
        if database.is_usable():
            raise
        logger.warning("The database connection was unusable; running again on a new one.", exc_info=True)
        database.close()
        return function()
