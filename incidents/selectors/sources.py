"""Reads of sources and their deliveries."""

import re
from datetime import datetime, timedelta

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from incidents.ingest.adapters import sender_for
from incidents.ingest.senders import EXAMPLE_MODEL, EXAMPLE_VERSION
from incidents.models import Delivery, Incident, ModelVersion, RegisteredModel, Source, SourceSecret
from teams.selectors import user_is_team_member, user_team_ids


def source_valid_secrets(*, source: Source, now: datetime | None = None) -> list[str]:
    """Return the source's secrets that verify deliveries now (``SourceSecret.verifies_at``), newest first."""
    now = now or timezone.now()
    secrets = source.secrets.order_by("-created_at", "-id").values_list("value", "expires_at")
    return [value for value, expires_at in secrets if SourceSecret.verifies_at(expires_at, now)]


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
    # Kintsugi's own test deliveries are not calls the source made.
    latest = Delivery.objects.filter(source=OuterRef("pk"), is_test=False).order_by("-received_at", "-id")
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
        Delivery.objects.filter(source_id__in=counts, received_at__gte=now - timedelta(hours=24), is_test=False)
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


# Names safe to paste inside the examples' quotes, in YAML, JSON and shell alike.
_PASTABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def source_example_model(*, source: Source) -> tuple[str, str]:
    """Return the (model, version) the source's setup examples name: its team's own, else a neutral example.

    The source's default model first, else the team's model seen last; its
    newest version, else "1". A team without models (or with names unsafe to
    paste) gets ``EXAMPLE_MODEL``, which no team holds: pasting an example then
    registers nothing of another team's or of the demo's.
    """
    model = source.default_model if source.default_model_id else None
    if model is None or not _PASTABLE.fullmatch(model.name):
        candidates = RegisteredModel.objects.filter(team_id=source.team_id).order_by("-created_at", "-id")
        model = next((found for found in candidates[:20] if _PASTABLE.fullmatch(found.name)), None)
    if model is None:
        return EXAMPLE_MODEL, EXAMPLE_VERSION
    versions = ModelVersion.objects.filter(model=model).order_by(
        F("version_number").desc(nulls_last=True), "-created_at", "-id"
    )
    version = next(
        (found for found in versions.values_list("version", flat=True)[:20] if _PASTABLE.fullmatch(found)), None
    )
    return model.name, version or EXAMPLE_VERSION
