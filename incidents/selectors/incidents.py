"""Reads of incidents: who sees what, lists, counts, the timeline and durations."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from config.validation import id_parse
from incidents.models import (
    AliasMove,
    Deployment,
    Incident,
    IncidentDeployment,
    IncidentModelVersion,
    IncidentStatus,
    ModelVersion,
    Severity,
    TimelineEntry,
)

ACTIVE_STATUSES = (IncidentStatus.OPEN, IncidentStatus.MITIGATED)


def incident_visibility_q(*, user, prefix: str = "") -> Q:
    """Return the condition an incident meets when the user may see it.

    Everyone signed in reads incidents; a restricted one only its team and staff.
    ``prefix`` ("incident__") applies the condition through a relation.
    """
    if user.is_staff:
        return Q()
    from teams.models import Membership

    my_teams = Membership.objects.filter(user_id=user.pk).values("team_id")
    return Q(**{f"{prefix}restricted": False}) | Q(**{f"{prefix}team_id__in": my_teams})


def incident_visible_to_viewer(*, viewer, restricted: bool, team_id: int) -> bool:
    """Return whether the viewer (teams.selectors.Viewer) may see an incident: incident_visibility_q in Python."""
    return viewer.is_staff or not restricted or team_id in viewer.team_ids


def incidents_visible_to(*, user) -> QuerySet[Incident]:
    """Return the incidents the user may see (``incident_visibility_q``), in no particular order."""
    if not user.is_authenticated:
        return Incident.objects.none()
    return Incident.objects.filter(incident_visibility_q(user=user))


def incident_list(*, user) -> QuerySet[Incident]:
    """Return the incidents the user may see, newest detected first, ready for lists."""
    return (
        Incident.objects.filter(incident_visibility_q(user=user))
        .select_related("team", "owner", "model")
        .defer("summary", "impact")
        .order_by("-detected_at", "-id")
    )


def incident_get_visible(*, user, pk: int) -> Incident | None:
    """Return the incident when it exists and the user may see it, else None."""
    return (
        incidents_visible_to(user=user)
        .select_related("team", "owner", "model", "created_by", "source")
        .filter(pk=pk)
        .first()
    )


def user_can_change_incident(*, user, incident: Incident) -> bool:
    """Return whether the user may change the incident: a member of its team, or staff."""
    from teams.selectors import user_is_team_member

    return user_is_team_member(user=user, team=incident.team)


def incident_open_counts(*, user, team_ids: list[int] | None = None) -> dict[str, int]:
    """Return the number of open incidents the user sees per severity (every severity present, SEV1 first)."""
    queryset = Incident.objects.filter(incident_visibility_q(user=user), status=IncidentStatus.OPEN)
    if team_ids is not None:
        queryset = queryset.filter(team_id__in=team_ids)
    # COUNT(*) rather than COUNT(id): the partial index of open incidents then answers alone.
    rows = queryset.order_by().values("severity").annotate(total=Count("*")).values_list("severity", "total")
    counts = dict.fromkeys(Severity.values, 0)
    counts.update(dict(rows))
    return counts


@dataclass(frozen=True)
class Duration:
    label: str
    value: timedelta | None
    running: bool = False
    help: str = ""


def incident_durations(*, incident: Incident, now: datetime | None = None) -> list[Duration]:
    """Return time-to-detect, -acknowledge, -mitigate and -resolve.

    Detect, mitigate and resolve are measured from the start of the impact;
    acknowledge from detection (how fast people responded). A duration still
    running (not mitigated yet) is measured to ``now`` and flagged.
    """
    now = now or timezone.now()
    start = incident.started_at

    def span(end: datetime | None, running: bool, since: datetime = start) -> tuple[timedelta | None, bool]:
        if end is not None:
            return max(end - since, timedelta(0)), False
        if running:
            return max(now - since, timedelta(0)), True
        return None, False

    active = incident.status in ACTIVE_STATUSES
    detect = max(incident.detected_at - start, timedelta(0))
    acknowledge = span(incident.acknowledged_at, False, since=incident.detected_at)
    mitigate = span(incident.mitigated_at, incident.status == IncidentStatus.OPEN)
    resolve = span(incident.resolved_at, active)
    return [
        Duration("Time to detect", detect, help="From started to detected."),
        Duration("Time to acknowledge", *acknowledge, help="From detected to acknowledged."),
        Duration("Time to mitigate", *mitigate, help="From started to mitigated: the impact stopped."),
        Duration("Time to resolve", *resolve, help="From started to resolved."),
    ]


@dataclass(frozen=True)
class TimelineItem:
    """One row of an incident's timeline: a recorded entry, or an alias move of a linked model."""

    occurred_at: datetime
    kind: str
    text: str
    entry: TimelineEntry | None = None
    alias_move: AliasMove | None = None

    @property
    def starred(self) -> bool:
        return bool(self.entry and self.entry.starred)


def alias_move_text(move: AliasMove) -> str:
    """Return a sentence describing an alias move."""
    name = f"{move.model.name}@{move.alias}"
    to = f"v{move.to_version.version}" if move.to_version_id else None
    was = f"v{move.from_version.version}" if move.from_version_id else None
    if move.kind == AliasMove.Kind.ROLLBACK:
        return f"{name} rolled back to {to}" + (f" from {was}." if was else ".")
    if move.kind == AliasMove.Kind.REMOVAL:
        return f"{name} removed" + (f" (was {was})." if was else ".")
    return f"{name} promoted to {to}" + (f" (was {was})." if was else ".")


def incident_linked_model_ids(*, incident: Incident, version_links=None) -> set[int]:
    """Return the ids of the incident's model and of the models of its linked versions."""
    if version_links is None:
        ids = set(
            IncidentModelVersion.objects.filter(incident=incident).values_list("model_version__model_id", flat=True)
        )
    else:
        ids = {link.model_version.model_id for link in version_links}
    if incident.model_id:
        ids.add(incident.model_id)
    return ids


def incident_timeline(
    *, incident: Incident, model_ids: set[int] | None = None, now: datetime | None = None
) -> list[TimelineItem]:
    """Return the incident's entries merged with the alias moves of its linked models, oldest first.

    Alias moves count when they happened between the start and the resolution
    (or now, while unresolved). Two queries whatever the timeline's length.
    """
    entries = list(
        TimelineEntry.objects.filter(incident=incident)
        .select_related("author", "deployment", "deployment__model_version__model")
        .order_by("occurred_at", "id")
    )
    items = [TimelineItem(entry.occurred_at, entry.kind, entry.text, entry=entry) for entry in entries]
    if model_ids is None:
        model_ids = incident_linked_model_ids(incident=incident)
    if model_ids:
        until = incident.resolved_at or now or timezone.now()
        moves = AliasMove.objects.filter(
            model_id__in=model_ids, moved_at__gte=incident.started_at, moved_at__lte=until
        ).select_related("model", "from_version", "to_version")
        items.extend(
            TimelineItem(move.moved_at, TimelineEntry.Kind.ALIAS_MOVE, alias_move_text(move), alias_move=move)
            for move in moves
        )
    items.sort(key=lambda item: (item.occurred_at, item.alias_move is None))
    return items


def incident_deployment_links(*, incident: Incident) -> list[IncidentDeployment]:
    """Return the incident's deployment links with their deployments and versions, newest first."""
    return list(
        IncidentDeployment.objects.filter(incident=incident)
        .select_related("deployment__model_version__model")
        .order_by("-deployment__last_event_at", "-id")
    )


def incident_model_version_links(*, incident: Incident) -> list[IncidentModelVersion]:
    """Return the incident's model version links, causes first."""
    links = list(IncidentModelVersion.objects.filter(incident=incident).select_related("model_version__model"))
    rank = {"cause": 0, "suspect": 1, "related": 2}
    links.sort(key=lambda link: (rank.get(link.role, 3), link.model_version.model.name, link.model_version.version))
    return links


def incident_related_visible(*, incident: Incident, user) -> list[Incident]:
    """Return the related incidents the user may see."""
    return list(
        incident.related.filter(incident_visibility_q(user=user))
        .select_related("team")
        .only("id", "title", "status", "severity", "team__name", "team__slug", "detected_at")
        .order_by("-detected_at")
    )


def incident_deployment_candidates(*, incident: Incident, limit: int = 30) -> list[Deployment]:
    """Return recent deployments worth linking: of the incident's model, else of its team."""
    queryset = Deployment.objects.select_related("model_version__model").exclude(incident_links__incident=incident)
    if incident.model_id:
        queryset = queryset.filter(model_version__model_id=incident.model_id)
    else:
        queryset = queryset.filter(team_id=incident.team_id)
    return list(queryset.order_by("-last_event_at", "-id")[:limit])


def incident_model_version_candidates(*, incident: Incident, limit: int = 30) -> list[ModelVersion]:
    """Return model versions worth linking: of the incident's model, else of its team's models."""
    queryset = ModelVersion.objects.select_related("model").exclude(incident_links__incident=incident)
    if incident.model_id:
        queryset = queryset.filter(model_id=incident.model_id)
    else:
        queryset = queryset.filter(model__team_id=incident.team_id)
    return list(queryset.order_by("-created_at", "-id")[:limit])


def incident_find_by_reference(*, reference: str, user) -> Incident | None:
    """Return the visible incident named by "INC-12", "#12" or "12", else None."""
    number = id_parse((reference or "").strip().upper().removeprefix("INC-").removeprefix("#"))
    if number is None:
        return None
    return incident_get_visible(user=user, pk=number)


def incident_list_active(*, user, team_ids: list[int] | None = None, limit: int = 8) -> list[Incident]:
    """Return the open and mitigated incidents the user sees (of the given teams), most severe first."""
    queryset = incident_list(user=user).filter(status__in=ACTIVE_STATUSES)
    if team_ids is not None:
        queryset = queryset.filter(team_id__in=team_ids)
    return list(queryset.order_by("severity", "-detected_at", "-id")[:limit])
