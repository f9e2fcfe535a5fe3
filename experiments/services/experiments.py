"""Writes to experiments: start, traffic steps, conclusion, and the failures attached to an arm.

Changes made by people take an ``actor`` and are refused with PermissionDenied
unless the actor belongs to the experiment's team (or is staff). Pipelines pass
no actor. Concluding locks the experiment's row, so two conclusions are applied
one after the other and the second is refused as an invalid transition.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.database import insert_unless_conflict
from experiments.models import (
    SHARE_PLACES,
    Arm,
    Experiment,
    ExperimentDeployment,
    ExperimentIncident,
    ExperimentKind,
    ExperimentOutcome,
    TrafficStep,
)
from experiments.selectors import experiment_context
from experiments.services.transitions import InvalidTransition
from incidents.models import Deployment, Incident, ModelVersion, RegisteredModel, TimelineEntry
from incidents.services.incidents import timeline_entry_add
from teams.selectors import user_display_name, user_is_team_member

ALLOWED_OUTCOMES: dict[str, tuple[str, ...]] = {
    ExperimentOutcome.RUNNING: (ExperimentOutcome.PROMOTED, ExperimentOutcome.ROLLED_BACK, ExperimentOutcome.ABORTED),
    ExperimentOutcome.PROMOTED: (),
    ExperimentOutcome.ROLLED_BACK: (),
    ExperimentOutcome.ABORTED: (),
}
# The verb people use for concluding an experiment with each outcome.
ACTION_FOR_OUTCOME = {
    ExperimentOutcome.PROMOTED: "promote",
    ExperimentOutcome.ROLLED_BACK: "roll_back",
    ExperimentOutcome.ABORTED: "abort",
}

NOT_A_TEAM_MEMBER = "Only members of {team} (and staff) can change this experiment."
INVALID_OUTCOME_CHANGE = "Cannot move an experiment from {current} to {target}; allowed: {allowed}."
OUTCOME_UNKNOWN = "Unknown outcome {value!r}; choose one of: promoted, rolled_back, aborted."
REASON_REQUIRED = "Say why the experiment ended: the reason is what others will learn from."
KIND_UNKNOWN = "Unknown kind {value!r}; choose one of: {allowed}."
ENVIRONMENT_REQUIRED = "Name the environment the experiment runs in."
MODEL_NOT_IN_TEAM = "{model} is not one of {team}'s models."
VERSION_NOT_OF_MODEL = "{version} is not a version of {model}."
ARMS_SAME_VERSION = "The candidate and the control must be different versions."
ALREADY_RUNNING = "{model} already has a running experiment in {environment}: {reference}. Conclude it first."
STEP_NOT_RUNNING = "Traffic steps are recorded while the experiment runs; this one is {outcome}."
STEP_PERCENT_RANGE = "A traffic share is a percent from 0 to 100, to a hundredth at most (0.5, 2.5 or 10)."
STEP_BEFORE_START = "A traffic step cannot be earlier than the experiment's start ({started:%Y-%m-%d %H:%M} UTC)."
IN_FUTURE = "{name} cannot be in the future."
ENDED_BEFORE_START = "The end cannot be earlier than the start ({started:%Y-%m-%d %H:%M} UTC)."
FIELD_UNKNOWN = "Unknown field {name!r}; editable ones are: {allowed}."
ARM_UNKNOWN = "Unknown arm {value!r}; choose one of: candidate, control."
ARM_WITHOUT_VERSION = "{reference} names no control version: the incident can only be on its candidate."
INCIDENT_OF_OTHER_TEAM = "{incident} belongs to {incident_team}, {reference} to {team}: attach incidents of its team."
INCIDENT_OF_OTHER_MODEL = "{incident} concerns {model}; {reference} rolls out {experiment_model}."
INCIDENT_OUTSIDE_RUN = "{incident} started at {started:%Y-%m-%d %H:%M} UTC, while {reference} was not running."
INCIDENT_ALREADY_ATTACHED = "{incident} is already attached to {reference}, on its {arm}."

EDITABLE_FIELDS = ("hypothesis", "deciding_metric", "restricted", "kind")
TIMELINE_LABEL = "Experiment"


class InvalidOutcomeChange(InvalidTransition):
    """A conclusion the experiment's state does not allow; ``allowed`` lists the outcomes that are."""

    table = ALLOWED_OUTCOMES
    actions = ACTION_FOR_OUTCOME

    def describe(self) -> str:
        return INVALID_OUTCOME_CHANGE.format(
            current=self.current, target=self.target, allowed=", ".join(self.allowed) or "none"
        )


def _ensure_member(experiment_team, actor) -> None:
    if actor is None:
        return
    if not user_is_team_member(user=actor, team=experiment_team):
        raise PermissionDenied(NOT_A_TEAM_MEMBER.format(team=experiment_team))


def _lock(experiment: Experiment) -> Experiment:
    return (
        Experiment.objects.select_for_update(of=("self",))
        .select_related("team", "model", "candidate_version", "control_version")
        .get(pk=experiment.pk)
    )


def _check_versions(*, model: RegisteredModel, candidate: ModelVersion, control: ModelVersion | None) -> None:
    errors = {}
    for name, version in (("candidate_version", candidate), ("control_version", control)):
        if version is not None and version.model_id != model.pk:
            errors[name] = VERSION_NOT_OF_MODEL.format(version=version, model=model.name)
    if not errors and control is not None and control.pk == candidate.pk:
        errors["candidate_version"] = ARMS_SAME_VERSION
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def experiment_start(
    *,
    team,
    model: RegisteredModel,
    environment: str,
    candidate_version: ModelVersion,
    control_version: ModelVersion | None = None,
    kind: str = ExperimentKind.CANARY,
    hypothesis: str = "",
    deciding_metric: str = "",
    initial_percent: int | float | Decimal | None = None,
    started_at: datetime | None = None,
    restricted: bool = False,
    actor=None,
    source=None,
    external_id: str = "",
    delivery=None,
) -> Experiment:
    """Record a running experiment and, when given, its first traffic step.

    Raise ValidationError by field for a model of another team, versions of
    another model, equal arms, an unknown kind, or a second running experiment
    of the same model and environment (a database constraint backs that rule).
    """
    _ensure_member(team, actor)
    environment = (environment or "").strip()
    errors = {}
    if not environment:
        errors["environment"] = ENVIRONMENT_REQUIRED
    if kind not in ExperimentKind.values:
        errors["kind"] = KIND_UNKNOWN.format(value=kind, allowed=", ".join(ExperimentKind.values))
    if model.team_id != team.pk:
        errors["model"] = MODEL_NOT_IN_TEAM.format(model=model.name, team=team)
    if errors:
        raise ValidationError(errors)
    _check_versions(model=model, candidate=candidate_version, control=control_version)
    now = timezone.now()
    started_at = started_at or now
    if started_at > now:
        raise ValidationError({"started_at": IN_FUTURE.format(name="The start")})
    running = experiment_running_for(model=model, environment=environment)
    if running is not None:
        raise ValidationError(
            {
                "environment": ALREADY_RUNNING.format(
                    model=model.name, environment=environment, reference=running.reference
                )
            }
        )
    try:
        with transaction.atomic():
            experiment = Experiment.objects.create(
                team=team,
                model=model,
                environment=environment[:100],
                kind=kind,
                candidate_version=candidate_version,
                control_version=control_version,
                hypothesis=hypothesis.strip(),
                deciding_metric=deciding_metric.strip()[:200],
                started_at=started_at,
                restricted=restricted,
                created_by=actor if actor is not None and actor.is_authenticated else None,
                source=source,
                external_id=external_id[:300],
            )
    except IntegrityError as error:
        running = experiment_running_for(model=model, environment=environment)
        reference = running.reference if running else "another one"
        raise ValidationError(
            {"environment": ALREADY_RUNNING.format(model=model.name, environment=environment, reference=reference)}
        ) from error
    if initial_percent is not None:
        traffic_step_add(experiment=experiment, percent=initial_percent, at=started_at, actor=actor, delivery=delivery)
    return experiment


def experiment_running_for(*, model: RegisteredModel, environment: str) -> Experiment | None:
    """Return the running experiment of the model in the environment, if any."""
    return Experiment.objects.filter(model=model, environment=environment, outcome=ExperimentOutcome.RUNNING).first()


@transaction.atomic
def experiment_update(*, experiment: Experiment, actor, **fields) -> Experiment:
    """Edit the experiment's descriptive fields (hypothesis, deciding metric, kind, restricted)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError({name: FIELD_UNKNOWN.format(name=name, allowed=", ".join(EDITABLE_FIELDS))})
    experiment = _lock(experiment)
    _ensure_member(experiment.team, actor)
    if "kind" in fields and fields["kind"] not in ExperimentKind.values:
        raise ValidationError(
            {"kind": KIND_UNKNOWN.format(value=fields["kind"], allowed=", ".join(ExperimentKind.values))}
        )
    for name in ("hypothesis", "deciding_metric"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    changed = [name for name, value in fields.items() if getattr(experiment, name) != value]
    for name in changed:
        setattr(experiment, name, fields[name])
    if changed:
        experiment.save(update_fields=[*changed, "updated_at"])
    return experiment


@transaction.atomic
def traffic_step_add(
    *,
    experiment: Experiment,
    percent: int | float | Decimal,
    at: datetime | None = None,
    step_index: int | None = None,
    note: str = "",
    actor=None,
    delivery=None,
) -> TrafficStep:
    """Record the candidate's traffic share from ``at`` on; safe to repeat for one delivery.

    Raise ValidationError when the experiment is over, the share is outside
    0 to 100 or the time precedes the start or lies in the future.
    """
    experiment = _lock(experiment)
    _ensure_member(experiment.team, actor)
    if not experiment.is_running:
        raise ValidationError({"percent": STEP_NOT_RUNNING.format(outcome=experiment.get_outcome_display().lower())})
    share = traffic_share_clean(percent)
    now = timezone.now()
    at = at or now
    if at > now:
        raise ValidationError({"at": IN_FUTURE.format(name="A traffic step")})
    if at < experiment.started_at:
        raise ValidationError({"at": STEP_BEFORE_START.format(started=experiment.started_at)})
    if delivery is not None:
        existing = TrafficStep.objects.filter(experiment=experiment, delivery=delivery).first()
        if existing is not None:
            return existing
    return TrafficStep.objects.create(
        experiment=experiment,
        percent=share,
        at=at,
        step_index=step_index,
        note=note.strip()[:300],
        author=actor if actor is not None and actor.is_authenticated else None,
        delivery=delivery,
    )


@transaction.atomic
def experiment_conclude(
    *,
    experiment: Experiment,
    outcome: str,
    reason: str,
    actor=None,
    at: datetime | None = None,
    source_label: str = "",
) -> Experiment:
    """End a running experiment as promoted, rolled back or aborted, with the reason.

    Lock the row first; raise InvalidOutcomeChange when it already ended,
    ValidationError for an unknown outcome or a missing reason, PermissionDenied
    for someone outside the team. Note the end on the timeline of each incident
    attached to the experiment.
    """
    if outcome not in ALLOWED_OUTCOMES or outcome == ExperimentOutcome.RUNNING:
        raise ValidationError({"outcome": OUTCOME_UNKNOWN.format(value=outcome)})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    experiment = _lock(experiment)
    _ensure_member(experiment.team, actor)
    if outcome not in ALLOWED_OUTCOMES[experiment.outcome]:
        raise InvalidOutcomeChange(experiment.outcome, outcome)
    at = at or timezone.now()
    if at > timezone.now():
        raise ValidationError({"at": IN_FUTURE.format(name="The end")})
    if at < experiment.started_at:
        raise ValidationError({"at": ENDED_BEFORE_START.format(started=experiment.started_at)})
    experiment.outcome = outcome
    experiment.outcome_reason = reason
    experiment.ended_at = at
    experiment.save(update_fields=["outcome", "outcome_reason", "ended_at", "updated_at"])
    who = user_display_name(actor, nobody=source_label or "Kintsugi")
    label = ExperimentOutcome(outcome).label.lower()
    for link in ExperimentIncident.objects.filter(experiment=experiment).select_related("incident"):
        timeline_entry_add(
            incident=link.incident,
            kind=TimelineEntry.Kind.NOTE,
            text=f"{who}: the {experiment} was {label}. {reason}",
            occurred_at=at,
            author=actor,
            source_label=TIMELINE_LABEL if actor is None else "",
        )
    return experiment


def traffic_share_clean(percent) -> Decimal:
    """Return a traffic share as stored (hundredths of a percent); raise ValidationError unless 0 to 100.

    Takes what callers hold: ints, floats (from payloads) and Decimals (from forms
    and the API). A share finer than a hundredth is refused, not rounded away.
    """
    if isinstance(percent, bool) or not isinstance(percent, int | float | Decimal):
        raise ValidationError({"percent": STEP_PERCENT_RANGE})
    try:
        share = Decimal(str(percent))
        stored = share.quantize(SHARE_PLACES)
    except (InvalidOperation, ValueError):  # NaN and infinities
        raise ValidationError({"percent": STEP_PERCENT_RANGE}) from None
    if stored != share or not 0 <= stored <= 100:
        raise ValidationError({"percent": STEP_PERCENT_RANGE})
    return stored


def experiment_traffic_at(*, experiment: Experiment, at: datetime) -> Decimal | None:
    """Return the candidate's traffic share at ``at`` (the newest step not after it), or None before any step."""
    step = TrafficStep.objects.filter(experiment=experiment, at__lte=at).order_by("-at", "-id").first()
    return step.percent if step else None


def arm_for_version(*, experiment: Experiment, model_version_id: int | None) -> str | None:
    """Return the arm a model version stands for in the experiment, or None when it is neither."""
    if model_version_id is None:
        return None
    if model_version_id == experiment.candidate_version_id:
        return Arm.CANDIDATE
    if model_version_id == experiment.control_version_id:
        return Arm.CONTROL
    return None


def experiment_attach_deployment(*, experiment: Experiment, deployment: Deployment, arm: str) -> ExperimentDeployment:
    """Attach the deployment to the arm it hit; keep the first attachment when it is there already."""
    at = deployment.finished_at or deployment.started_at or deployment.last_event_at
    values = {
        "experiment_id": experiment.pk,
        "deployment_id": deployment.pk,
        "arm": arm,
        "traffic_percent": experiment_traffic_at(experiment=experiment, at=at),
        "created_at": timezone.now(),
    }
    link = insert_unless_conflict(ExperimentDeployment, values)
    return link or ExperimentDeployment.objects.get(experiment=experiment, deployment=deployment)


def experiment_attach_incident(
    *,
    experiment: Experiment,
    incident: Incident,
    arm: str,
    at: datetime | None = None,
    source_label: str = "",
    actor=None,
) -> tuple[ExperimentIncident, bool]:
    """Attach the incident to the arm it hit and note it on the incident's timeline; return (link, created).

    Attaching twice keeps the first link and adds no second note, so a delivery
    processed again is harmless. Checks nothing: pipelines call it for what
    they saw; people go through ``experiment_incident_attach``.
    """
    at = at or incident.started_at
    percent = experiment_traffic_at(experiment=experiment, at=at)
    values = {
        "experiment_id": experiment.pk,
        "incident_id": incident.pk,
        "arm": arm,
        "traffic_percent": percent,
        "created_at": timezone.now(),
    }
    link = insert_unless_conflict(ExperimentIncident, values)
    if link is None:
        return ExperimentIncident.objects.get(experiment=experiment, incident=incident), False
    link.experiment = experiment
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.LINK,
        text=f"Happened on the {Arm(arm).label.lower()} arm {experiment_context(link=link)}.",
        # Never before the entry that opened the incident: that one says who declared it.
        occurred_at=max(at, incident.detected_at),
        author=actor,
        source_label="" if actor is not None else (source_label or TIMELINE_LABEL),
        new_value=experiment.reference,
    )
    return link, True


@transaction.atomic
def experiment_incident_attach(*, experiment: Experiment, incident: Incident, arm: str, actor) -> ExperimentIncident:
    """Attach an incident a person declared to the arm of the experiment it hit, at the traffic of its start.

    Lock the experiment's row. Raise PermissionDenied unless the actor belongs
    to the experiment's team (the incident's: both must be the same team), and
    ValidationError by field when the arm is unknown (or the control has no
    version), the incident concerns another model, started while the
    experiment was not running, or is attached to it already.
    """
    experiment = _lock(experiment)
    _ensure_member(experiment.team, actor)
    reference = experiment.reference
    if incident.team_id != experiment.team_id:
        raise ValidationError(
            {
                "experiment": INCIDENT_OF_OTHER_TEAM.format(
                    incident=incident.reference, incident_team=incident.team, reference=reference, team=experiment.team
                )
            }
        )
    if arm not in Arm.values:
        raise ValidationError({"arm": ARM_UNKNOWN.format(value=arm)})
    if arm == Arm.CONTROL and experiment.control_version_id is None:
        raise ValidationError({"arm": ARM_WITHOUT_VERSION.format(reference=reference)})
    if incident.model_id is not None and incident.model_id != experiment.model_id:
        raise ValidationError(
            {
                "experiment": INCIDENT_OF_OTHER_MODEL.format(
                    incident=incident.reference,
                    model=incident.model.name,
                    reference=reference,
                    experiment_model=experiment.model.name,
                )
            }
        )
    ended_at = experiment.ended_at or timezone.now()
    if not experiment.started_at <= incident.started_at <= ended_at:
        raise ValidationError(
            {
                "experiment": INCIDENT_OUTSIDE_RUN.format(
                    incident=incident.reference, started=incident.started_at, reference=reference
                )
            }
        )
    link, created = experiment_attach_incident(
        experiment=experiment, incident=incident, arm=arm, at=incident.started_at, actor=actor
    )
    if not created:
        raise ValidationError(
            {
                "experiment": INCIDENT_ALREADY_ATTACHED.format(
                    incident=incident.reference, reference=reference, arm=link.get_arm_display().lower()
                )
            }
        )
    return link
