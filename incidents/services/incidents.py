"""Writes to incidents. Every change records a timeline entry here, never in signals."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from incidents.models import (
    Deployment,
    Incident,
    IncidentDeployment,
    IncidentKind,
    IncidentModelVersion,
    IncidentStatus,
    LinkRole,
    ModelVersion,
    RegisteredModel,
    Severity,
    Tag,
    TimelineEntry,
)
from postmortems.selectors import postmortem_close_blocker

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    IncidentStatus.OPEN: (IncidentStatus.MITIGATED, IncidentStatus.RESOLVED),
    IncidentStatus.MITIGATED: (IncidentStatus.RESOLVED, IncidentStatus.OPEN),
    IncidentStatus.RESOLVED: (IncidentStatus.CLOSED, IncidentStatus.OPEN),
    IncidentStatus.CLOSED: (IncidentStatus.OPEN,),
}

INVALID_TRANSITION = "Cannot move an incident from {current} to {target}; allowed: {allowed}."


class InvalidTransition(Exception):
    """A status change the workflow does not allow; ``allowed`` lists what is."""

    def __init__(self, current: str, target: str):
        self.current = current
        self.target = target
        self.allowed = list(ALLOWED_TRANSITIONS.get(current, ()))
        super().__init__(
            INVALID_TRANSITION.format(current=current, target=target, allowed=", ".join(self.allowed) or "none")
        )


class TransitionBlocked(InvalidTransition):
    """A move the workflow allows in general but a rule forbids now; the message says which rule."""

    def __init__(self, current: str, target: str, reason: str):
        super().__init__(current, target)
        self.reason = reason
        self.args = (reason,)


def timeline_entry_add(
    *,
    incident: Incident,
    kind: str,
    text: str,
    occurred_at: datetime | None = None,
    author=None,
    source_label: str = "",
    old_value: str = "",
    new_value: str = "",
    deployment: Deployment | None = None,
    delivery=None,
    starred: bool = False,
) -> TimelineEntry:
    """Record and return one timeline entry on the incident."""
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        text=text,
        occurred_at=occurred_at or timezone.now(),
        author=author if author is not None and author.is_authenticated else None,
        source_label=source_label,
        old_value=old_value,
        new_value=new_value,
        deployment=deployment,
        delivery=delivery,
        starred=starred,
    )


@transaction.atomic
def incident_open(
    *,
    team,
    title: str,
    kind: str = IncidentKind.OTHER,
    severity: str = Severity.SEV3,
    environment: str = "",
    model: RegisteredModel | None = None,
    model_unknown: bool = False,
    detected_at: datetime | None = None,
    started_at: datetime | None = None,
    owner=None,
    summary: str = "",
    impact: str = "",
    restricted: bool = False,
    tags: list[str] | None = None,
    source=None,
    created_by=None,
    opening_text: str = "",
    source_label: str = "",
) -> Incident:
    """Open an incident and record its first timeline entry.

    Declared by a person (``created_by``) or opened by a pipeline (``source``).
    """
    detected_at = detected_at or timezone.now()
    incident = Incident.objects.create(
        team=team,
        title=title,
        kind=kind,
        severity=severity,
        environment=environment,
        model=model,
        model_unknown=model_unknown,
        detected_at=detected_at,
        started_at=started_at or detected_at,
        owner=owner,
        summary=summary,
        impact=impact,
        restricted=restricted,
        source=source,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    if tags:
        incident_set_tags(incident=incident, tags=tags)
    who = (created_by.get_full_name() or created_by.username) if created_by else (source_label or "Kintsugi")
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        text=opening_text or f"Incident declared by {who} as {severity}.",
        occurred_at=detected_at,
        author=created_by,
        source_label="" if created_by else source_label,
        new_value=IncidentStatus.OPEN,
    )
    return incident


def incident_set_tags(*, incident: Incident, tags: list[str]) -> None:
    """Replace the incident's tags with the given names (created when new)."""
    names = sorted({tag.strip().lower() for tag in tags if tag.strip()})
    objects = [Tag.objects.get_or_create(name=name)[0] for name in names]
    incident.tags.set(objects)


MILESTONE_FOR_STATUS = {
    IncidentStatus.MITIGATED: "mitigated_at",
    IncidentStatus.RESOLVED: "resolved_at",
    IncidentStatus.CLOSED: "closed_at",
}


@transaction.atomic
def incident_transition(
    *,
    incident: Incident,
    to_status: str,
    actor=None,
    at: datetime | None = None,
    source_label: str = "",
    note: str = "",
    deployment: Deployment | None = None,
    delivery=None,
) -> Incident:
    """Move the incident to ``to_status``, stamp the milestone and record the change.

    Lock the row first so concurrent transitions are applied one after the
    other; raise InvalidTransition when the workflow does not allow the move,
    and TransitionBlocked (a kind of InvalidTransition) when closing while the
    post-mortem is unpublished and not marked not needed.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    current = incident.status
    if to_status not in ALLOWED_TRANSITIONS.get(current, ()):
        raise InvalidTransition(current, to_status)
    if to_status == IncidentStatus.CLOSED:
        blocker = postmortem_close_blocker(incident=incident)
        if blocker:
            raise TransitionBlocked(current, to_status, blocker)
    at = at or timezone.now()
    incident.status = to_status
    milestone = MILESTONE_FOR_STATUS.get(to_status)
    if milestone:
        setattr(incident, milestone, at)
    if to_status == IncidentStatus.RESOLVED and incident.mitigated_at is None:
        incident.mitigated_at = at
    if to_status == IncidentStatus.OPEN:
        # Reopened: the earlier milestones no longer describe the current state.
        incident.mitigated_at = incident.resolved_at = incident.closed_at = None
    incident.save()
    label = IncidentStatus(to_status).label.lower()
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        text=note or f"Status changed from {current} to {label}.",
        occurred_at=at,
        author=actor,
        source_label=source_label,
        old_value=current,
        new_value=to_status,
        deployment=deployment,
        delivery=delivery,
    )
    return incident


def incident_link_deployment(
    *, incident: Incident, deployment: Deployment, role: str = LinkRole.RELATED
) -> IncidentDeployment:
    """Link the deployment (and its model version) to the incident; keep a stronger existing role."""
    link, created = IncidentDeployment.objects.get_or_create(
        incident=incident, deployment=deployment, defaults={"role": role}
    )
    if not created and _role_rank(role) > _role_rank(link.role):
        link.role = role
        link.save(update_fields=["role"])
    if deployment.model_version_id:
        incident_link_model_version(incident=incident, model_version=deployment.model_version, role=role)
    return link


def incident_link_model_version(
    *, incident: Incident, model_version: ModelVersion, role: str = LinkRole.RELATED
) -> IncidentModelVersion:
    """Link a model version to the incident; keep a stronger existing role."""
    link, created = IncidentModelVersion.objects.get_or_create(
        incident=incident, model_version=model_version, defaults={"role": role}
    )
    if not created and _role_rank(role) > _role_rank(link.role):
        link.role = role
        link.save(update_fields=["role"])
    return link


def _role_rank(role: str) -> int:
    return [LinkRole.RELATED, LinkRole.SUSPECT, LinkRole.CAUSE].index(role)
