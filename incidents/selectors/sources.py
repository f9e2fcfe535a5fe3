"""Reads of sources and their deliveries."""

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from config.database import server_binding_cursor
from incidents.ingest.adapters import sender_for
from incidents.models import Delivery, Incident, RegisteredModel, Source, SourceSecret
from teams.selectors import user_is_team_member, user_team_ids


def source_valid_secrets(*, source: Source, now: datetime | None = None) -> list[str]:
    """Return the source's secrets that verify deliveries now, newest first."""
    now = now or timezone.now()
    return list(
        source.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
    )


def source_for_webhook(*, public_id: str) -> Source | None:
    """Return the active source behind a webhook URL, or None."""
    return Source.objects.select_related("team").filter(public_id=public_id, is_active=True).first()


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
    # (value, expires_at) of the secrets valid when read, newest first.
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
        """Return the secrets that verify deliveries at ``now``, newest first (``source_valid_secrets``'s rule)."""
        return [value for value, expires_at in self.secrets if expires_at is None or expires_at > now]


_webhook_sources: OrderedDict[str, WebhookSource] = OrderedDict()


@functools.cache
def _webhook_sql(vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(f"source.{quote(name)}" for name in WEBHOOK_SOURCE_FIELDS)
    return (
        f"SELECT {columns}, secret.value, secret.expires_at "  # noqa: S608 - table and column names from the models
        f"FROM {quote(Source._meta.db_table)} source LEFT OUTER JOIN {quote(SourceSecret._meta.db_table)} secret "
        "ON secret.source_id = source.id AND (secret.expires_at IS NULL OR secret.expires_at > %s) "
        "WHERE source.public_id = %s AND source.is_active "
        "ORDER BY secret.created_at DESC, secret.id DESC"
    )


def webhook_source_get(*, public_id: str, now: datetime | None = None, fresh: bool = False) -> WebhookSource | None:
    """Return what the webhook edge needs of the active source behind a webhook URL, or None when there is none.

    A source read in the last ``WEBHOOK_SOURCE_KEPT_SECONDS`` is returned
    from this process's memory (``from_memory`` is then true) unless ``fresh``;
    otherwise one plain query reads it with its secrets valid at ``now``, with
    the same rotation rule as ``source_valid_secrets``. A source kept in memory
    may have changed since: its secrets are filtered by ``now`` when used, and
    the insert of a delivery checks its ``edge_version``
    (``delivery_receive``), so a revoked secret or a deactivated source is
    refused as soon as it changed.
    """
    now = now or timezone.now()
    clock = time.monotonic()
    kept = None if fresh else _webhook_sources.get(public_id)
    if kept is not None and clock - kept.read_at < WEBHOOK_SOURCE_KEPT_SECONDS:
        return kept
    database = connections[DEFAULT_DB_ALIAS]
    # A plain cursor: building models through .raw() cost more than the query's round trip.
    with server_binding_cursor(database) as cursor:
        cursor.execute(_webhook_sql(database.vendor), [database.ops.adapt_datetimefield_value(now), public_id])
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


def source_visible_to(*, user) -> QuerySet[Source]:
    """Return the sources the user may see: those of their teams, or all of them for staff.

    Payloads can hold internal data, so sources are never shown outside their team.
    """
    sources = Source.objects.select_related("team")
    if not user.is_authenticated:
        return sources.none()
    if user.is_staff:
        return sources
    return sources.filter(team_id__in=user_team_ids(user=user))


def source_list_for_user(*, user) -> QuerySet[Source]:
    """Return the user's visible sources, by team and name, each with its newest delivery's time and status.

    ``last_delivery_at`` and ``last_delivery_status`` come from one index lookup per source;
    add the figures of the last day to the sources shown with ``source_recent_figures``.
    """
    latest = Delivery.objects.filter(source=OuterRef("pk")).order_by("-received_at", "-id")
    return (
        source_visible_to(user=user)
        .annotate(
            last_delivery_at=Subquery(latest.values("received_at")[:1]),
            last_delivery_status=Subquery(latest.values("status")[:1]),
        )
        .order_by(Lower("team__name"), Lower("name"), "id")
    )


def source_recent_figures(*, sources: list[Source], now: datetime | None = None) -> list[Source]:
    """Set the delivery figures of the 24 hours before ``now`` on each source, in one query; return the sources.

    Each source gets ``recent`` (a dict of delivery status to count, every status present),
    ``recent_total`` and ``failures_24h``. Only the last day's deliveries of these sources
    are read, through the (source, received_at) index: the cost does not grow with history.
    """
    now = now or timezone.now()
    counts: dict[int, dict[str, int]] = {source.pk: dict.fromkeys(Delivery.Status.values, 0) for source in sources}
    rows = (
        Delivery.objects.filter(source_id__in=counts, received_at__gte=now - timedelta(hours=24))
        .values_list("source_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    for source_id, status, count in rows:
        counts[source_id][status] = count
    for source in sources:
        source.recent = counts[source.pk]
        source.recent_total = sum(source.recent.values())
        source.failures_24h = source.recent[Delivery.Status.FAILED]
    return sources


def user_can_use_source(*, user, source: Source) -> bool:
    """Return whether the user may see the source, its secrets and deliveries, and change it."""
    return user_is_team_member(user=user, team=source.team)


def source_secret_list(*, source: Source) -> QuerySet[SourceSecret]:
    """Return the source's secrets, newest first, without their values."""
    return source.secrets.defer("value").order_by("-created_at", "-id")


def source_default_model_choices(*, team) -> QuerySet[RegisteredModel]:
    """Return the models a source of the team may name as its default model."""
    return RegisteredModel.objects.filter(team=team).order_by("name")


def delivery_log(*, source: Source, status: str = "", event: str = "") -> QuerySet[Delivery]:
    """Return the source's deliveries, newest first, optionally of one status and one event.

    Bodies, headers and normalized events are left out: a log page never needs them.
    """
    deliveries = Delivery.objects.filter(source=source).defer("body", "headers", "normalized")
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries.order_by("-received_at", "-id")


def delivery_event_names(*, source: Source, recent: int = 500) -> list[str]:
    """Return event names worth offering as a filter: the sender's own, and those of recent deliveries.

    Only the newest ``recent`` deliveries are read (through the source's time index), so the
    cost does not grow with the log.
    """
    seen = Delivery.objects.filter(source=source).order_by("-received_at", "-id").values_list("event", flat=True)
    names = {name for name in seen[:recent] if name} | set(sender_for(source.kind).adapters)
    return sorted(names)


def delivery_for_source(*, source: Source, delivery_pk: int) -> Delivery | None:
    """Return one delivery of the source with its deployment and model version, or None."""
    return (
        Delivery.objects.select_related("deployment__model_version__model")
        .filter(source=source, pk=delivery_pk)
        .first()
    )


def delivery_incidents(*, delivery: Delivery) -> QuerySet[Incident]:
    """Return the incidents the delivery opened, joined or touched, newest first."""
    touched = Q(timeline__delivery=delivery)
    if delivery.deployment_id is not None:
        touched |= Q(deployment_links__deployment_id=delivery.deployment_id)
    return Incident.objects.filter(touched).distinct().order_by("-detected_at", "-id")
