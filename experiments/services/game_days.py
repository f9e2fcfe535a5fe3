"""Writes to game days: plan, edit, start (opening the drill incident), finish, abort.

Any member of the team (or staff) plans and edits a game day and may abort it:
stopping an injected failure must never wait for the right person. Starting
and finishing it is for its facilitator, the team's leads and staff. Each
transition locks the game day's row, so a second click is refused as an
invalid transition rather than opening a second drill.
"""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from experiments.models import GameDay, GameDayState, InjectionKind
from experiments.services.transitions import InvalidTransition, allowed_actions
from incidents.models import IncidentKind, IncidentStatus, RegisteredModel, Severity, TimelineEntry
from incidents.services.incidents import incident_open, incident_transition, timeline_entry_add
from postmortems.models import Postmortem
from postmortems.services.postmortems import postmortem_start
from teams.selectors import user_display_name, user_is_team_lead, user_is_team_member

User = get_user_model()

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    GameDayState.PLANNED: (GameDayState.RUNNING, GameDayState.ABORTED),
    GameDayState.RUNNING: (GameDayState.FINISHED, GameDayState.ABORTED),
    GameDayState.FINISHED: (),
    GameDayState.ABORTED: (),
}
# The verb (and API action) that moves a game day into each state.
ACTION_FOR_STATE = {
    GameDayState.RUNNING: "start",
    GameDayState.FINISHED: "finish",
    GameDayState.ABORTED: "abort",
}

INVALID_TRANSITION = "Cannot {action} a {current} game day; allowed: {allowed}."
NOT_A_TEAM_MEMBER = "Only members of {team} (and staff) can change this game day."
NOT_FACILITATOR_OR_LEAD = "Only the facilitator, a lead of {team} or staff can {action} this game day."
TITLE_REQUIRED = "Give the game day a title."
HYPOTHESIS_REQUIRED = "State the hypothesis: what should the system do while the failure is injected?"
INJECTION_KIND_UNKNOWN = "Unknown injection {value!r}; choose one of: {allowed}."
MODEL_NOT_IN_TEAM = "{model} is not one of {team}'s models."
FACILITATOR_NOT_MEMBER = "{user} is not a member of {team}; the facilitator must be."
PARTICIPANT_INACTIVE = "{user} cannot take part: their account is inactive."
DURATION_RANGE = "A game day lasts from 1 minute to 24 hours."
HELD_REQUIRED = "Say whether the hypothesis held."
ABORT_REASON_REQUIRED = "Say why the game day was aborted: which abort condition was met, or what changed."
FIELD_UNKNOWN = "Unknown field {name!r}; editable ones are: {allowed}."
NOT_EDITABLE_WHEN_OVER = "This game day is {state}: its plan can no longer change."

PLAN_FIELDS = (
    "title",
    "hypothesis",
    "model",
    "environment",
    "component",
    "injection_kind",
    "injection",
    "blast_radius",
    "abort_conditions",
    "scheduled_at",
    "duration_minutes",
    "facilitator",
    "participants",
    "restricted",
)
MAX_DURATION_MINUTES = 24 * 60
TIMELINE_LABEL = "Game day"


class InvalidGameDayTransition(InvalidTransition):
    """A move the game day's lifecycle does not allow; ``allowed_actions`` lists what is."""

    table = ALLOWED_TRANSITIONS
    actions = ACTION_FOR_STATE

    def describe(self) -> str:
        return INVALID_TRANSITION.format(
            action=ACTION_FOR_STATE[self.target],
            current=self.current,
            allowed=", ".join(self.allowed_actions) or "none",
        )


def game_day_allowed_actions(*, game_day: GameDay) -> list[str]:
    """Return the verbs (start, finish, abort) the game day's state allows now."""
    return allowed_actions(table=ALLOWED_TRANSITIONS, actions=ACTION_FOR_STATE, current=game_day.state)


def _ensure_member(team, actor) -> None:
    if not user_is_team_member(user=actor, team=team):
        raise PermissionDenied(NOT_A_TEAM_MEMBER.format(team=team))


def user_can_run_game_day(*, user, game_day: GameDay) -> bool:
    """Return whether the user may start and finish the game day: its facilitator, a team lead, or staff."""
    if not user.is_authenticated:
        return False
    if game_day.facilitator_id == user.pk and user_is_team_member(user=user, team=game_day.team):
        return True
    return user_is_team_lead(user=user, team=game_day.team)


def _ensure_can_run(game_day: GameDay, actor, action: str) -> None:
    _ensure_member(game_day.team, actor)
    if not user_can_run_game_day(user=actor, game_day=game_day):
        raise PermissionDenied(NOT_FACILITATOR_OR_LEAD.format(team=game_day.team, action=action))


def _lock(game_day: GameDay) -> GameDay:
    return (
        GameDay.objects.select_for_update(of=("self",))
        .select_related("team", "model", "facilitator", "incident")
        .get(pk=game_day.pk)
    )


def _clean_plan(*, team, values: dict) -> dict:
    """Return the plan's values cleaned; raise ValidationError by field."""
    errors: dict[str, str] = {}
    for name in ("title", "hypothesis", "environment", "component", "injection", "blast_radius", "abort_conditions"):
        if name in values:
            values[name] = (values[name] or "").strip()
    if "title" in values and not values["title"]:
        errors["title"] = TITLE_REQUIRED
    if "hypothesis" in values and not values["hypothesis"]:
        errors["hypothesis"] = HYPOTHESIS_REQUIRED
    if "injection_kind" in values and values["injection_kind"] not in InjectionKind.values:
        errors["injection_kind"] = INJECTION_KIND_UNKNOWN.format(
            value=values["injection_kind"], allowed=", ".join(InjectionKind.values)
        )
    model: RegisteredModel | None = values.get("model")
    if model is not None and model.team_id != team.pk:
        errors["model"] = MODEL_NOT_IN_TEAM.format(model=model.name, team=team)
    duration = values.get("duration_minutes")
    if duration is not None and not 1 <= duration <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = DURATION_RANGE
    facilitator = values.get("facilitator")
    if facilitator is not None and not (facilitator.is_active and user_is_team_member(user=facilitator, team=team)):
        errors["facilitator"] = FACILITATOR_NOT_MEMBER.format(user=facilitator.username, team=team)
    for person in values.get("participants") or ():
        if not person.is_active:
            errors["participants"] = PARTICIPANT_INACTIVE.format(user=person.username)
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def game_day_plan(
    *,
    team,
    actor,
    title: str,
    hypothesis: str,
    scheduled_at: datetime,
    injection_kind: str = InjectionKind.OTHER,
    injection: str = "",
    model: RegisteredModel | None = None,
    environment: str = "",
    component: str = "",
    blast_radius: str = "",
    abort_conditions: str = "",
    duration_minutes: int = 60,
    facilitator=None,
    participants=(),
    restricted: bool = False,
) -> GameDay:
    """Plan a game day of the team; the actor facilitates it unless someone else is named.

    Raise PermissionDenied for someone outside the team, ValidationError by field for bad values.
    """
    _ensure_member(team, actor)
    values = _clean_plan(
        team=team,
        values={
            "title": title,
            "hypothesis": hypothesis,
            "injection_kind": injection_kind,
            "injection": injection,
            "model": model,
            "environment": environment,
            "component": component,
            "blast_radius": blast_radius,
            "abort_conditions": abort_conditions,
            "duration_minutes": duration_minutes,
            "facilitator": facilitator or actor,
            "participants": list(participants),
        },
    )
    participants = values.pop("participants")
    game_day = GameDay.objects.create(
        team=team, scheduled_at=scheduled_at, restricted=restricted, created_by=actor, **values
    )
    game_day.participants.set(participants)
    return game_day


@transaction.atomic
def game_day_update(*, game_day: GameDay, actor, **fields) -> GameDay:
    """Change the plan of a game day not over yet; raise ValidationError by field for bad values."""
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError({name: FIELD_UNKNOWN.format(name=name, allowed=", ".join(PLAN_FIELDS))})
    game_day = _lock(game_day)
    _ensure_member(game_day.team, actor)
    if game_day.state in (GameDayState.FINISHED, GameDayState.ABORTED):
        raise ValidationError({"state": NOT_EDITABLE_WHEN_OVER.format(state=game_day.get_state_display().lower())})
    fields = _clean_plan(team=game_day.team, values=dict(fields))
    participants = fields.pop("participants", None)
    changed = [name for name, value in fields.items() if getattr(game_day, name) != value]
    for name in changed:
        setattr(game_day, name, fields[name])
    if changed:
        game_day.save(update_fields=[*changed, "updated_at"])
    if participants is not None:
        game_day.participants.set(participants)
    return game_day


def _check_transition(game_day: GameDay, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[game_day.state]:
        raise InvalidGameDayTransition(game_day.state, target)


@transaction.atomic
def game_day_start(*, game_day: GameDay, actor, at: datetime | None = None) -> GameDay:
    """Start the game day and open its drill incident (kind game day, SEV4) with the plan on its timeline.

    Lock the row; raise InvalidGameDayTransition unless planned, and
    PermissionDenied unless the actor is the facilitator, a lead or staff.
    """
    game_day = _lock(game_day)
    _ensure_can_run(game_day, actor, "start")
    _check_transition(game_day, GameDayState.RUNNING)
    at = at or timezone.now()
    incident = incident_open(
        team=game_day.team,
        title=f"Game day: {game_day.title}"[:300],
        kind=IncidentKind.GAME_DAY,
        severity=Severity.SEV4,
        environment=game_day.environment,
        model=game_day.model,
        detected_at=at,
        started_at=at,
        owner=game_day.facilitator if game_day.facilitator_id else None,
        summary=f"Planned drill ({game_day.get_injection_kind_display().lower()}).\n\n{game_day.hypothesis}",
        restricted=game_day.restricted,
        created_by=actor,
        declared_at=at,
        opening_text=f"{user_display_name(actor)} started the game day {game_day.reference}: a drill, not an outage.",
    )
    injection = game_day.injection or game_day.get_injection_kind_display()
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        text=f"Injecting: {injection}" + (f" into {game_day.component}." if game_day.component else ""),
        occurred_at=at,
        author=actor,
        source_label=TIMELINE_LABEL,
        starred=True,
    )
    game_day.state = GameDayState.RUNNING
    game_day.started_at = at
    game_day.incident = incident
    game_day.save(update_fields=["state", "started_at", "incident", "updated_at"])
    return game_day


def _resolve_drill(game_day: GameDay, *, actor, at: datetime, note: str) -> None:
    incident = game_day.incident
    if incident is None or incident.status not in (IncidentStatus.OPEN, IncidentStatus.MITIGATED):
        return
    incident_transition(incident=incident, to_status=IncidentStatus.RESOLVED, actor=actor, at=at, note=note)


@transaction.atomic
def game_day_finish(
    *, game_day: GameDay, actor, hypothesis_held: bool | None, observations: str = "", at: datetime | None = None
) -> GameDay:
    """Finish a running game day: record whether the hypothesis held and what was observed.

    Resolve the drill incident (its mitigation time stays as people recorded
    it) and start its post-mortem from the game-day template, the hypothesis,
    injection, observations and timeline pre-filled. Raise
    InvalidGameDayTransition unless running, ValidationError when
    ``hypothesis_held`` is missing.
    """
    if hypothesis_held is None:
        raise ValidationError({"hypothesis_held": HELD_REQUIRED})
    game_day = _lock(game_day)
    _ensure_can_run(game_day, actor, "finish")
    _check_transition(game_day, GameDayState.FINISHED)
    at = at or timezone.now()
    game_day.state = GameDayState.FINISHED
    game_day.ended_at = max(at, game_day.started_at)
    game_day.hypothesis_held = hypothesis_held
    game_day.observations = (observations or "").strip()
    game_day.save(update_fields=["state", "ended_at", "hypothesis_held", "observations", "updated_at"])
    verdict = "held" if hypothesis_held else "did not hold"
    if game_day.incident is not None:
        _resolve_drill(
            game_day,
            actor=actor,
            at=game_day.ended_at,
            note=f"{user_display_name(actor)} finished the game day: the hypothesis {verdict}.",
        )
        # Read again: the transition above changed the incident's row, not this copy of it.
        game_day.incident.refresh_from_db()
        if not Postmortem.objects.filter(incident=game_day.incident).exists():
            postmortem_start(incident=game_day.incident, actor=actor)
    return game_day


@transaction.atomic
def game_day_abort(*, game_day: GameDay, actor, reason: str, at: datetime | None = None) -> GameDay:
    """Abort a planned or running game day with the reason; resolve its drill incident if it had one.

    Any member may abort. Raise InvalidGameDayTransition once it is over,
    ValidationError without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ABORT_REASON_REQUIRED})
    game_day = _lock(game_day)
    _ensure_member(game_day.team, actor)
    _check_transition(game_day, GameDayState.ABORTED)
    at = at or timezone.now()
    game_day.state = GameDayState.ABORTED
    game_day.ended_at = max(at, game_day.started_at) if game_day.started_at else at
    game_day.abort_reason = reason
    game_day.save(update_fields=["state", "ended_at", "abort_reason", "updated_at"])
    if game_day.incident is not None:
        _resolve_drill(
            game_day,
            actor=actor,
            at=game_day.ended_at,
            note=f"{user_display_name(actor)} aborted the game day: {reason}",
        )
    return game_day


def game_day_reminder_window() -> timedelta:
    """Return how long before its start a game day's participants are reminded."""
    return timedelta(hours=24)
