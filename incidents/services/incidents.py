"""Writes to incidents. Every change records a timeline entry here, never in signals.

Changes made by people take an ``actor``: the services refuse them with
PermissionDenied unless the actor belongs to the incident's team (or is staff).
Changes made by pipelines pass no actor and a ``source_label`` instead.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from config.database import insert_unless_conflict
from incidents.hooks import incident_changed, incident_close_blocker
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
from incidents.models.incidents import tag_name_from
from notifications.models import EventKind
from notifications.services.events import notify_event
from teams.selectors import user_display_name

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    IncidentStatus.OPEN: (IncidentStatus.MITIGATED, IncidentStatus.RESOLVED),
    # Impact stopped: what remains is to resolve it. Reopening starts from resolved or closed.
    IncidentStatus.MITIGATED: (IncidentStatus.RESOLVED,),
    IncidentStatus.RESOLVED: (IncidentStatus.CLOSED, IncidentStatus.OPEN),
    IncidentStatus.CLOSED: (IncidentStatus.OPEN,),
}

# Acknowledging is a step of an open incident; mitigating or resolving it by hand acknowledges it too.
ACKNOWLEDGEABLE_STATUSES = (IncidentStatus.OPEN,)

# The verb people use for moving an incident into each status.
ACTION_FOR_STATUS = {
    IncidentStatus.MITIGATED: "mitigate",
    IncidentStatus.RESOLVED: "resolve",
    IncidentStatus.CLOSED: "close",
    IncidentStatus.OPEN: "reopen",
}

INVALID_TRANSITION = "Cannot move an incident from {current} to {target}; allowed: {allowed}."
NOT_A_TEAM_MEMBER = "Only members of {team} (and staff) can change this incident."
ALREADY_ACKNOWLEDGED = "This incident was already acknowledged."
CANNOT_ACKNOWLEDGE = "A {status} incident cannot be acknowledged: only an open one is waiting for someone."
SEVERITY_UNKNOWN = "Unknown severity {value!r}; choose one of SEV1, SEV2, SEV3, SEV4."
SEVERITY_UNCHANGED = "The incident is already {severity}."
OWNER_NOT_MEMBER = "{user} is not a member of {team}; an incident's owner must be."
OWNER_UNCHANGED = "{user} already owns this incident."
NOTE_EMPTY = "Write something before adding a note."
NOTE_TOO_LONG = "A note can be at most {limit} characters long."
MILESTONE_REQUIRED = "An incident always has a {name} time."
MILESTONE_ORDER = "{name} cannot be earlier than {earlier} ({earlier_at:%Y-%m-%d %H:%M} UTC)."
MILESTONE_IN_FUTURE = "{name} cannot be in the future."
MILESTONE_NEEDED_FOR_STATUS = "A {status} incident needs a {name} time."
MILESTONE_NOT_YET = "{name} must stay empty while the incident is {status}."
MILESTONE_UNKNOWN = "Unknown milestone {name!r}; editable ones are: {allowed}."
FIELD_UNKNOWN = "Unknown field {name!r}; editable ones are: {allowed}."
TITLE_REQUIRED = "Give the incident a title."
KIND_UNKNOWN = "Unknown kind {value!r}; choose one of: {allowed}."
TAG_INVALID = "Tag {value!r} is not usable: use letters, digits and dashes, at most 60 characters."
TOO_MANY_TAGS = "At most {limit} tags per incident."
ROLE_UNKNOWN = "Unknown role {value!r}; choose one of: related, suspect, cause."
LINK_NOT_FOUND = "That is not linked to this incident."
RELATE_SELF = "An incident cannot be related to itself."
RELATE_EXISTS = "{other} is already related to this incident."
RELATE_UNKNOWN = "{other} is not related to this incident."

NOTE_MAX_LENGTH = 10_000
MAX_TAGS = 20
EDITABLE_FIELDS = ("title", "summary", "impact", "tags", "environment", "kind", "restricted")
MILESTONES = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
MILESTONE_NAMES = {
    "started_at": "Started",
    "detected_at": "Detected",
    "acknowledged_at": "Acknowledged",
    "mitigated_at": "Mitigated",
    "resolved_at": "Resolved",
    "closed_at": "Closed",
}
# Each milestone cannot precede these ones (when both are set).
MILESTONE_AFTER = {
    "detected_at": ("started_at",),
    "acknowledged_at": ("detected_at",),
    "mitigated_at": ("detected_at",),
    "resolved_at": ("mitigated_at", "detected_at"),
}


class InvalidTransition(Exception):
    """A status change the workflow does not allow; ``allowed`` lists what is."""

    def __init__(self, current: str, target: str):
        self.current = current
        self.target = target
        self.allowed = list(ALLOWED_TRANSITIONS.get(current, ()))
        self.allowed_actions = [ACTION_FOR_STATUS[status] for status in self.allowed]
        super().__init__(
            INVALID_TRANSITION.format(current=current, target=target, allowed=", ".join(self.allowed) or "none")
        )


class TransitionBlocked(InvalidTransition):
    """A move the workflow allows in general but a rule forbids now; the message says which rule."""

    def __init__(self, current: str, target: str, reason: str):
        super().__init__(current, target)
        self.reason = reason
        self.args = (reason,)


class IncidentRuleError(Exception):
    """A change that breaks a rule of incidents; the message is meant for people."""


def _ensure_can_change(incident: Incident, actor) -> None:
    """Raise PermissionDenied unless the actor may change the incident (no actor: a pipeline may)."""
    if actor is None:
        return
    from teams.selectors import user_is_team_member

    if not user_is_team_member(user=actor, team=incident.team):
        raise PermissionDenied(NOT_A_TEAM_MEMBER.format(team=incident.team))


def _lock(incident: Incident) -> Incident:
    """Return the incident's row locked for the rest of the transaction."""
    return Incident.objects.select_for_update().select_related("team").get(pk=incident.pk)


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
        old_value=old_value[:200],
        new_value=new_value[:200],
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
    declared_at: datetime | None = None,
) -> Incident:
    """Open an incident and record its first timeline entry.

    Declared by a person (``created_by``) or opened by a pipeline (``source``). A person who declares an
    incident and leads it (``owner`` is ``created_by``) has acknowledged it by declaring it, at ``declared_at``
    (now unless told, for a declaration recorded afterwards; never before it was detected). Raise
    ValidationError (on ``detected_at``) when it would start after it was detected (``detected_at``
    defaults to now).
    """
    detected_at = detected_at or timezone.now()
    if started_at is not None and started_at > detected_at:
        raise ValidationError(
            {"detected_at": MILESTONE_ORDER.format(name="Detected", earlier="started", earlier_at=started_at)}
        )
    leads_it = owner is not None and created_by is not None and owner == created_by
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
        acknowledged_at=max(declared_at or timezone.now(), detected_at) if leads_it else None,
        summary=summary,
        impact=impact,
        restricted=restricted,
        source=source,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    if tags:
        incident_set_tags(incident=incident, tags=tags)
    who = user_display_name(created_by) if created_by else (source_label or "Kintsugi")
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        text=opening_text or f"Incident declared by {who} as {severity}.",
        occurred_at=detected_at,
        author=created_by,
        source_label="" if created_by else source_label,
        new_value=IncidentStatus.OPEN,
    )
    incident_changed(incident=incident)  # its followers (search) see the new incident
    notify_event(kind=EventKind.INCIDENT_OPENED, incident=incident, actor=created_by)
    return incident


def tag_names_clean(tags: list[str]) -> list[str]:
    """Return the tags as sorted unique names (``tag_name_from``); raise ValidationError naming an unusable one."""
    names = set()
    for raw in tags:
        if not raw.strip():
            continue
        name = tag_name_from(raw)
        if name is None:
            raise ValidationError({"tags": TAG_INVALID.format(value=raw.strip()[:80])})
        names.add(name)
    if len(names) > MAX_TAGS:
        raise ValidationError({"tags": TOO_MANY_TAGS.format(limit=MAX_TAGS)})
    return sorted(names)


def incident_set_tags(*, incident: Incident, tags: list[str]) -> None:
    """Replace the incident's tags with the given names (created when new)."""
    names = tag_names_clean(tags)
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    objects = [existing.get(name) or Tag.objects.get_or_create(name=name)[0] for name in names]
    incident.tags.set(objects)


# What people hear when an incident moves into each status (closing is quiet: nothing is left to do).
EVENT_FOR_STATUS = {
    IncidentStatus.MITIGATED: EventKind.INCIDENT_MITIGATED,
    IncidentStatus.RESOLVED: EventKind.INCIDENT_RESOLVED,
    IncidentStatus.OPEN: EventKind.INCIDENT_REOPENED,
}

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
    TransitionBlocked (a kind of InvalidTransition) when closing while the
    post-mortem is unpublished and not marked not needed, and PermissionDenied
    when the actor is not in the incident's team.
    """
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    current = incident.status
    if to_status not in ALLOWED_TRANSITIONS.get(current, ()):
        raise InvalidTransition(current, to_status)
    if to_status == IncidentStatus.CLOSED:
        blocker = incident_close_blocker(incident=incident)  # post-mortems: published or not needed
        if blocker:
            raise TransitionBlocked(current, to_status, blocker)
    at = at or timezone.now()
    incident.status = to_status
    milestone = MILESTONE_FOR_STATUS.get(to_status)
    if milestone:
        setattr(incident, milestone, at)
    if to_status == IncidentStatus.RESOLVED and incident.mitigated_at is None:
        incident.mitigated_at = at
    if to_status in (IncidentStatus.MITIGATED, IncidentStatus.RESOLVED) and actor is not None:
        # Someone worked it: an incident mitigated or resolved by hand was acknowledged by then.
        incident.acknowledged_at = incident.acknowledged_at or at
    if to_status == IncidentStatus.OPEN:
        # Reopened: the earlier milestones no longer describe the current state.
        incident.mitigated_at = incident.resolved_at = incident.closed_at = None
    incident.save(update_fields=["status", "acknowledged_at", *MILESTONE_FOR_STATUS.values(), "updated_at"])
    label = IncidentStatus(to_status).label.lower()
    if not note and actor is not None:
        note = f"{user_display_name(actor)} changed the status from {current} to {label}."
    entry = timeline_entry_add(
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
    if to_status in EVENT_FOR_STATUS:
        notify_event(kind=EVENT_FOR_STATUS[to_status], incident=incident, actor=actor, key=entry.pk)
    return incident


def incident_mitigate(*, incident: Incident, actor, at: datetime | None = None, note: str = "") -> Incident:
    """Mark the incident mitigated (impact stopped, cause maybe not understood yet)."""
    return incident_transition(incident=incident, to_status=IncidentStatus.MITIGATED, actor=actor, at=at, note=note)


def incident_resolve(*, incident: Incident, actor, at: datetime | None = None, note: str = "") -> Incident:
    """Mark the incident resolved; stamp mitigation too when it was skipped."""
    return incident_transition(incident=incident, to_status=IncidentStatus.RESOLVED, actor=actor, at=at, note=note)


def incident_close(*, incident: Incident, actor, at: datetime | None = None, note: str = "") -> Incident:
    """Close a resolved incident: nothing more to do on it."""
    return incident_transition(incident=incident, to_status=IncidentStatus.CLOSED, actor=actor, at=at, note=note)


def incident_reopen(*, incident: Incident, actor, at: datetime | None = None, note: str = "") -> Incident:
    """Reopen the incident, clearing its mitigated, resolved and closed times."""
    return incident_transition(incident=incident, to_status=IncidentStatus.OPEN, actor=actor, at=at, note=note)


@transaction.atomic
def incident_acknowledge(*, incident: Incident, actor, at: datetime | None = None) -> Incident:
    """Stamp the acknowledged time and make the actor owner when nobody owns the incident yet.

    Raise IncidentRuleError when already acknowledged or no longer open.
    """
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    if incident.acknowledged_at is not None:
        raise IncidentRuleError(ALREADY_ACKNOWLEDGED)
    if incident.status not in ACKNOWLEDGEABLE_STATUSES:
        raise IncidentRuleError(CANNOT_ACKNOWLEDGE.format(status=incident.status))
    at = at or timezone.now()
    incident.acknowledged_at = at
    text = f"{user_display_name(actor)} acknowledged the incident."
    took_lead = incident.owner_id is None
    if took_lead:
        incident.owner = actor
        text = f"{user_display_name(actor)} acknowledged the incident and is leading it."
    incident.save()
    entry = timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.MILESTONE,
        text=text,
        occurred_at=at,
        author=actor,
        new_value=at.isoformat(),
    )
    if took_lead:
        notify_event(kind=EventKind.INCIDENT_OWNER_ASSIGNED, incident=incident, actor=actor, key=entry.pk)
    return incident


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, severity: str, actor, at: datetime | None = None, note: str = ""
) -> Incident:
    """Set the severity and record the old and new values; raise IncidentRuleError when unknown or unchanged."""
    if severity not in Severity.values:
        raise IncidentRuleError(SEVERITY_UNKNOWN.format(value=severity))
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    old = incident.severity
    if old == severity:
        raise IncidentRuleError(SEVERITY_UNCHANGED.format(severity=severity))
    incident.severity = severity
    incident.save(update_fields=["severity", "updated_at"])
    direction = "raised" if severity < old else "lowered"
    text = f"{user_display_name(actor)} {direction} the severity from {old} to {severity}."
    entry = timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.SEVERITY,
        text=f"{text} {note}".strip(),
        occurred_at=at,
        author=actor,
        old_value=old,
        new_value=severity,
    )
    if direction == "raised":
        details = {"from": old, "to": severity}
        notify_event(
            kind=EventKind.INCIDENT_SEVERITY_RAISED, incident=incident, actor=actor, details=details, key=entry.pk
        )
    return incident


@transaction.atomic
def incident_assign_owner(*, incident: Incident, owner, actor, at: datetime | None = None) -> Incident:
    """Make ``owner`` (a member of the team, or None) lead the incident and record who handed it over."""
    from teams.selectors import user_is_team_member

    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    if owner is not None and not (owner.is_active and user_is_team_member(user=owner, team=incident.team)):
        raise IncidentRuleError(OWNER_NOT_MEMBER.format(user=owner.username, team=incident.team))
    if owner is not None and incident.owner_id == owner.pk:
        raise IncidentRuleError(OWNER_UNCHANGED.format(user=user_display_name(owner)))
    old = incident.owner
    incident.owner = owner
    incident.save(update_fields=["owner", "updated_at"])
    if owner is None:
        text = f"{user_display_name(actor)} removed {user_display_name(old)} as owner." if old else "Owner cleared."
    elif actor is not None and owner.pk == actor.pk:
        text = f"{user_display_name(actor)} is now leading the incident."
    else:
        text = f"{user_display_name(actor)} made {user_display_name(owner)} the owner."
    entry = timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.OWNER,
        text=text,
        occurred_at=at,
        author=actor,
        old_value=old.username if old else "",
        new_value=owner.username if owner else "",
    )
    if owner is not None:
        notify_event(
            kind=EventKind.INCIDENT_OWNER_ASSIGNED, incident=incident, actor=actor, recipients=[owner], key=entry.pk
        )
    return incident


def milestones_validate(*, incident: Incident, values: dict[str, datetime | None], now: datetime) -> None:
    """Raise ValidationError (by field) unless the milestones are in order and match the status."""
    errors: dict[str, str] = {}
    for name in ("started_at", "detected_at"):
        if values.get(name) is None:
            errors[name] = MILESTONE_REQUIRED.format(name=MILESTONE_NAMES[name].lower())
    for name in MILESTONES:
        value = values.get(name)
        if value is not None and value > now and name not in errors:
            errors[name] = MILESTONE_IN_FUTURE.format(name=MILESTONE_NAMES[name])
    status = incident.status
    needed = {
        IncidentStatus.OPEN: (),
        IncidentStatus.MITIGATED: ("mitigated_at",),
        IncidentStatus.RESOLVED: ("mitigated_at", "resolved_at"),
        IncidentStatus.CLOSED: ("mitigated_at", "resolved_at"),
    }[status]
    for name in ("mitigated_at", "resolved_at"):
        if name in errors:
            continue
        if name in needed and values.get(name) is None:
            errors[name] = MILESTONE_NEEDED_FOR_STATUS.format(status=status, name=MILESTONE_NAMES[name].lower())
        elif name not in needed and values.get(name) is not None:
            errors[name] = MILESTONE_NOT_YET.format(name=MILESTONE_NAMES[name], status=status)
    for name, earlier_names in MILESTONE_AFTER.items():
        value = values.get(name)
        if value is None or name in errors:
            continue
        for earlier in earlier_names:
            earlier_at = values.get(earlier)
            if earlier_at is not None and value < earlier_at:
                errors[name] = MILESTONE_ORDER.format(
                    name=MILESTONE_NAMES[name], earlier=MILESTONE_NAMES[earlier].lower(), earlier_at=earlier_at
                )
                break
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def incident_update_milestones(*, incident: Incident, actor, **milestones: datetime | None) -> Incident:
    """Correct the given milestone times and record one timeline entry per changed milestone.

    Only the milestones passed change. Raise ValidationError by field when the
    times are out of order, in the future, or do not match the status (an open
    incident has no mitigated time; a resolved one needs both).
    """
    unknown = set(milestones) - set(MILESTONES)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError({name: MILESTONE_UNKNOWN.format(name=name, allowed=", ".join(MILESTONES))})
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    now = timezone.now()
    values = {name: getattr(incident, name) for name in MILESTONES}
    values.update(milestones)
    milestones_validate(incident=incident, values=values, now=now)
    changed = [name for name in MILESTONES if name in milestones and getattr(incident, name) != values[name]]
    for name in changed:
        old = getattr(incident, name)
        setattr(incident, name, values[name])
        new = values[name]
        label = MILESTONE_NAMES[name]
        if old is None:
            text = f"{user_display_name(actor)} set the {label.lower()} time to {new:%Y-%m-%d %H:%M} UTC."
        elif new is None:
            text = f"{user_display_name(actor)} cleared the {label.lower()} time (was {old:%Y-%m-%d %H:%M} UTC)."
        else:
            text = (
                f"{user_display_name(actor)} corrected the {label.lower()} time "
                f"from {old:%Y-%m-%d %H:%M} to {new:%Y-%m-%d %H:%M} UTC."
            )
        timeline_entry_add(
            incident=incident,
            kind=TimelineEntry.Kind.MILESTONE,
            text=text,
            occurred_at=now,
            author=actor,
            old_value=old.isoformat() if old else "",
            new_value=new.isoformat() if new else "",
        )
    if changed:
        incident.save(update_fields=[*changed, "updated_at"])
    return incident


def _field_change_text(actor, name: str, old, new) -> tuple[str, str, str]:
    who = user_display_name(actor, nobody="Kintsugi")
    if name == "restricted":
        text = "restricted the incident to its team and staff" if new else "made the incident visible to everyone"
        return f"{who} {text}.", str(old).lower(), str(new).lower()
    if name == "kind":
        return (
            f"{who} changed the kind from {IncidentKind(old).label} to {IncidentKind(new).label}.",
            old,
            new,
        )
    if name == "tags":
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        parts = []
        if added:
            parts.append("added " + ", ".join(f"#{tag}" for tag in added))
        if removed:
            parts.append("removed " + ", ".join(f"#{tag}" for tag in removed))
        return f"{who} {' and '.join(parts)}.", ", ".join(old), ", ".join(new)
    if name in ("summary", "impact"):
        return f"{who} edited the {name}.", "", ""
    if name == "environment":
        return f"{who} changed the environment from {old or 'none'} to {new or 'none'}.", old, new
    return f"{who} renamed the incident.", old, new


@transaction.atomic
def incident_update(*, incident: Incident, actor, **fields) -> Incident:
    """Edit the incident's descriptive fields and record one timeline entry per changed field.

    Editable: title, summary, impact, tags (list of names), environment, kind,
    restricted. Raise ValidationError by field for bad values.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError({name: FIELD_UNKNOWN.format(name=name, allowed=", ".join(EDITABLE_FIELDS))})
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    if "title" in fields:
        fields["title"] = (fields["title"] or "").strip()
        if not fields["title"]:
            raise ValidationError({"title": TITLE_REQUIRED})
    if "kind" in fields and fields["kind"] not in IncidentKind.values:
        raise ValidationError(
            {"kind": KIND_UNKNOWN.format(value=fields["kind"], allowed=", ".join(IncidentKind.values))}
        )
    new_tags = tag_names_clean(fields.pop("tags")) if "tags" in fields else None
    for name in ("summary", "impact", "environment"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    changes: list[tuple[str, object, object]] = []
    for name, value in fields.items():
        old = getattr(incident, name)
        if old != value:
            changes.append((name, old, value))
            setattr(incident, name, value)
    if changes:
        incident.clean_fields(exclude=[f.name for f in Incident._meta.fields if f.name not in fields])
        incident.save(update_fields=[name for name, _, _ in changes] + ["updated_at"])
    if new_tags is not None:
        old_tags = sorted(incident.tags.values_list("name", flat=True))
        if old_tags != new_tags:
            incident_set_tags(incident=incident, tags=new_tags)
            changes.append(("tags", old_tags, new_tags))
    now = timezone.now()
    for name, old, new in changes:
        text, old_value, new_value = _field_change_text(actor, name, old, new)
        timeline_entry_add(
            incident=incident,
            kind=TimelineEntry.Kind.EDIT,
            text=text,
            occurred_at=now,
            author=actor,
            old_value=old_value,
            new_value=new_value,
        )
    if changes:
        incident_changed(incident=incident)  # its followers (search) see the new text and tags
    return incident


def incident_link_deployment(
    *, incident: Incident, deployment: Deployment, role: str = LinkRole.RELATED
) -> IncidentDeployment:
    """Link the deployment (and its model version) to the incident; keep a stronger existing role.

    Pipelines call this and record their own timeline entry; people use
    ``incident_set_deployment_role``.
    """
    link, created = _link_insert_or_get(IncidentDeployment, incident=incident, target=deployment, role=role)
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
    link, created = _link_insert_or_get(IncidentModelVersion, incident=incident, target=model_version, role=role)
    if not created and _role_rank(role) > _role_rank(link.role):
        link.role = role
        link.save(update_fields=["role"])
    return link


def _link_insert_or_get(link_model, *, incident: Incident, target, role: str):
    """Return the incident's link to ``target`` and whether it is new (then made with ``role``).

    The usual case, a new link, is one INSERT that does nothing on a conflict,
    with no savepoint; a link already there (or inserted concurrently and
    committed first) is read back.
    """
    target_field = next(
        field
        for field in link_model._meta.concrete_fields
        if field.is_relation and field.name != "incident" and isinstance(target, field.related_model)
    )
    values = {"incident_id": incident.pk, target_field.attname: target.pk, "role": role}
    link = insert_unless_conflict(link_model, values)
    if link is not None:
        return link, True
    return link_model.objects.get(incident=incident, **{target_field.name: target}), False


def _role_rank(role: str) -> int:
    return [LinkRole.RELATED, LinkRole.SUSPECT, LinkRole.CAUSE].index(role)


def _check_role(role: str) -> None:
    if role not in LinkRole.values:
        raise IncidentRuleError(ROLE_UNKNOWN.format(value=role))


def _deployment_label(deployment: Deployment) -> str:
    what = str(deployment.model_version) if deployment.model_version_id else (deployment.sha[:8] or "a commit")
    return f"the deployment of {what} to {deployment.environment or 'an unknown environment'}"


def _set_link_role(*, incident: Incident, link_model, target: dict, label: str, role: str, actor, at, extra: dict):
    """Create or change one link row to exactly ``role``; record it; return (link, changed)."""
    link = link_model.objects.filter(incident=incident, **target).first()
    old_role = link.role if link else ""
    if link is None:
        link = link_model.objects.create(incident=incident, role=role, **target)
    elif link.role != role:
        link.role = role
        link.save(update_fields=["role"])
    else:
        return link, False
    who = user_display_name(actor, nobody="Kintsugi")
    verb = f"linked {label} as {role}" if not old_role else f"marked {label} as {role} (was {old_role})"
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.LINK,
        text=f"{who} {verb}.",
        occurred_at=at,
        author=actor,
        old_value=old_role,
        new_value=role,
        **extra,
    )
    return link, True


def _unlink(*, incident: Incident, link_model, target: dict, label: str, actor, extra: dict) -> None:
    """Delete one link row and record it; raise IncidentRuleError when there is none."""
    link = link_model.objects.filter(incident=incident, **target).first()
    if link is None:
        raise IncidentRuleError(LINK_NOT_FOUND)
    link.delete()
    who = user_display_name(actor, nobody="Kintsugi")
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.LINK,
        text=f"{who} unlinked {label}.",
        author=actor,
        old_value=link.role,
        **extra,
    )


def _deployment_link(deployment: Deployment) -> dict:
    """Describe a deployment's link for ``_set_link_role`` and ``_unlink``: its timeline entries name it."""
    return {
        "link_model": IncidentDeployment,
        "target": {"deployment": deployment},
        "label": _deployment_label(deployment),
        "extra": {"deployment": deployment},
    }


def _model_version_link(model_version: ModelVersion) -> dict:
    """Describe a model version's link for ``_set_link_role`` and ``_unlink``."""
    return {
        "link_model": IncidentModelVersion,
        "target": {"model_version": model_version},
        "label": str(model_version),
        "extra": {},
    }


@transaction.atomic
def incident_set_deployment_role(
    *, incident: Incident, deployment: Deployment, role: str, actor, at: datetime | None = None
) -> IncidentDeployment:
    """Link the deployment with exactly this role (raising or lowering it) and record the change.

    A deployment marked suspect or cause passes that role on to its model
    version unless the version already has a stronger one.
    """
    _check_role(role)
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    link, changed = _set_link_role(incident=incident, role=role, actor=actor, at=at, **_deployment_link(deployment))
    if changed and deployment.model_version_id:
        incident_link_model_version(incident=incident, model_version=deployment.model_version, role=role)
    return link


@transaction.atomic
def incident_unlink_deployment(*, incident: Incident, deployment: Deployment, actor) -> None:
    """Remove the deployment's link (its model version stays linked) and record it."""
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    _unlink(incident=incident, actor=actor, **_deployment_link(deployment))


@transaction.atomic
def incident_set_model_version_role(
    *, incident: Incident, model_version: ModelVersion, role: str, actor, at: datetime | None = None
) -> IncidentModelVersion:
    """Link the model version with exactly this role (raising or lowering it) and record the change."""
    _check_role(role)
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    link, _ = _set_link_role(incident=incident, role=role, actor=actor, at=at, **_model_version_link(model_version))
    return link


@transaction.atomic
def incident_unlink_model_version(*, incident: Incident, model_version: ModelVersion, actor) -> None:
    """Remove the model version's link and record it."""
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    _unlink(incident=incident, actor=actor, **_model_version_link(model_version))


@transaction.atomic
def incident_relate(*, incident: Incident, other: Incident, actor) -> None:
    """Relate two incidents (both ways) and record it on both timelines.

    The caller checks that the actor may see ``other``. Each entry names the
    other incident by reference only: a timeline is read by everyone who sees
    its incident, and the other one may be (or become) restricted.
    """
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    if other.pk == incident.pk:
        raise IncidentRuleError(RELATE_SELF)
    if incident.related.filter(pk=other.pk).exists():
        raise IncidentRuleError(RELATE_EXISTS.format(other=other.reference))
    incident.related.add(other)
    who = user_display_name(actor, nobody="Kintsugi")
    now = timezone.now()
    for here, there in ((incident, other), (other, incident)):
        timeline_entry_add(
            incident=here,
            kind=TimelineEntry.Kind.LINK,
            text=f"{who} related this incident to {there.reference}.",
            occurred_at=now,
            author=actor,
            new_value=there.reference,
        )


@transaction.atomic
def incident_unrelate(*, incident: Incident, other: Incident, actor) -> None:
    """Remove the relation between two incidents and record it on both timelines."""
    incident = _lock(incident)
    _ensure_can_change(incident, actor)
    if not incident.related.filter(pk=other.pk).exists():
        raise IncidentRuleError(RELATE_UNKNOWN.format(other=other.reference))
    incident.related.remove(other)
    who = user_display_name(actor, nobody="Kintsugi")
    now = timezone.now()
    for here, there in ((incident, other), (other, incident)):
        timeline_entry_add(
            incident=here,
            kind=TimelineEntry.Kind.LINK,
            text=f"{who} removed the relation to {there.reference}.",
            occurred_at=now,
            author=actor,
            old_value=there.reference,
        )


def timeline_note_add(*, incident: Incident, author, text: str, at: datetime | None = None) -> TimelineEntry:
    """Add a person's note (Markdown) to the timeline; raise ValidationError when empty or too long."""
    _ensure_can_change(incident, author)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": NOTE_EMPTY})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError({"text": NOTE_TOO_LONG.format(limit=NOTE_MAX_LENGTH)})
    return timeline_entry_add(incident=incident, kind=TimelineEntry.Kind.NOTE, text=text, occurred_at=at, author=author)


def timeline_entry_star(*, entry: TimelineEntry, starred: bool, actor) -> TimelineEntry:
    """Star or unstar a timeline entry (the highlights a post-mortem starts from).

    A star marks an existing entry, so it adds no entry of its own.
    """
    _ensure_can_change(entry.incident, actor)
    if entry.starred != starred:
        entry.starred = starred
        entry.save(update_fields=["starred"])
    return entry
