"""What a pipeline event means for experiments: the rollout it reports, and the arm its failure hit.

Registered as a deployment follower (``incidents/hooks.py``): the deployment
services call it once an event's deployment is recorded and
its incidents opened, joined or mitigated, inside the same transaction and
under the same lane lock (the model's row), so two deliveries of one rollout
are applied one after the other. Safe to run again for the same delivery:
traffic steps and attachments are unique per delivery and per incident.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from experiments.models import Experiment, ExperimentKind, ExperimentOutcome
from experiments.services.experiments import (
    arm_for_version,
    experiment_attach_deployment,
    experiment_attach_incident,
    experiment_conclude,
    experiment_running_for,
    experiment_start,
    experiment_traffic_at,
    traffic_step_add,
)
from incidents.ingest.events import PipelineEvent, Rollout, RolloutOutcome
from incidents.models import Deployment, DeploymentStatus, Incident, ModelVersion, RegisteredModel, Source
from incidents.services.registry import model_version_get_or_create

logger = logging.getLogger(__name__)

SUPERSEDED = "A new rollout of {candidate} began in {environment} before this one ended."
ENDED_BY_PIPELINE = "{title} ({source})."


@dataclass(frozen=True)
class RolloutContext:
    """What the deployment services recorded for one event, as the experiment services read it."""

    source: Source
    event: PipelineEvent
    deployment: Deployment
    model: RegisteredModel | None
    model_version: ModelVersion | None
    # The incidents the event opened or joined (failures) or mitigated (successes).
    incidents: list[Incident]
    occurred_at: datetime
    delivery: object = None


def experiment_deployment_follower(
    *, source, event, deployment, model, model_version, incidents, occurred_at, delivery=None
) -> None:
    """Apply what the deployment services recorded for one event to experiments (the hook's signature)."""
    experiment_event_apply(
        context=RolloutContext(
            source=source,
            event=event,
            deployment=deployment,
            model=model,
            model_version=model_version,
            incidents=incidents,
            occurred_at=occurred_at,
            delivery=delivery,
        )
    )


def experiment_event_apply(*, context: RolloutContext) -> Experiment | None:
    """Record the event's rollout (experiment, traffic step, outcome) and attach a failure to its arm.

    Return the experiment the event concerned, or None. An event without a
    rollout block still attaches its failed deployment, and the incident it
    opened or joined, to the arm of the running experiment of its model and
    environment that deploys the same version. Problems of the rollout block
    (a version that cannot be named) are logged and skipped: the deployment
    and its incident stand on their own.
    """
    if context.model is None:
        return None
    rollout = context.event.rollout
    try:
        if rollout is not None:
            experiment = _experiment_of_rollout(context=context, rollout=rollout)
        else:
            experiment = experiment_running_for(model=context.model, environment=context.deployment.environment)
    except ValidationError as error:
        logger.info("Rollout of delivery %s not recorded: %s", getattr(context.delivery, "pk", None), error)
        return None
    if experiment is None:
        return None
    _attach_failure(context=context, experiment=experiment)
    if rollout is not None and experiment.is_running:
        try:
            _record_progress(context=context, experiment=experiment, rollout=rollout)
        except ValidationError as error:  # refused before writing: the rest of the delivery stands
            logger.info("Rollout step of delivery %s not recorded: %s", getattr(context.delivery, "pk", None), error)
    return experiment


def _now_or_before(moment: datetime) -> datetime:
    """Return the moment, or now when a sender's clock runs ahead of ours."""
    return min(moment, timezone.now())


def _version(model: RegisteredModel, label: str, *, known: ModelVersion | None, at: datetime) -> ModelVersion | None:
    label = (label or "").strip()[:64]
    if not label:
        return None
    if known is not None and known.version == label:
        return known
    return model_version_get_or_create(model=model, version=label, at=at)


def _last_stable_version(*, model: RegisteredModel, environment: str, before: datetime, candidate: ModelVersion):
    """Return the version last deployed successfully to the environment before the rollout: its control."""
    deployment = (
        Deployment.objects.filter(
            model_version__model=model,
            environment=environment,
            status=DeploymentStatus.SUCCEEDED,
            last_event_at__lte=before,
        )
        .exclude(model_version=candidate)
        .select_related("model_version")
        .order_by("-last_event_at", "-id")
        .first()
    )
    return deployment.model_version if deployment else None


def _experiment_of_rollout(*, context: RolloutContext, rollout: Rollout) -> Experiment | None:
    """Return the rollout's experiment: the one its name already made, else a new one (ending a superseded one)."""
    model, environment = context.model, context.deployment.environment
    name = rollout.name or f"{model.name}:{environment}"
    existing = (
        Experiment.objects.filter(source=context.source, external_id=name[:300])
        .select_related("team", "model", "candidate_version", "control_version")
        .order_by("-started_at", "-id")
        .first()
    )
    if existing is not None:
        return existing
    at = _now_or_before(context.occurred_at)
    candidate = _version(
        model, rollout.candidate or context.event.model_version, known=context.model_version, at=context.occurred_at
    )
    if candidate is None:
        return None
    running = experiment_running_for(model=model, environment=environment)
    if running is not None and running.candidate_version_id == candidate.pk:
        return running  # started by hand, or by another source: the same rollout
    if running is not None:
        experiment_conclude(
            experiment=running,
            outcome=ExperimentOutcome.ABORTED,
            reason=SUPERSEDED.format(candidate=str(candidate), environment=environment),
            at=max(at, running.started_at),
            source_label=context.source.name,
        )
    control = _version(model, rollout.control, known=None, at=context.occurred_at) or _last_stable_version(
        model=model, environment=environment, before=context.occurred_at, candidate=candidate
    )
    return experiment_start(
        team=context.source.team,
        model=model,
        environment=environment,
        candidate_version=candidate,
        control_version=control if control is not None and control.pk != candidate.pk else None,
        kind=ExperimentKind(str(rollout.kind)),
        started_at=at,
        source=context.source,
        external_id=name,
    )


def _attach_failure(*, context: RolloutContext, experiment: Experiment) -> None:
    """Attach the event's deployment to the arm its version serves; for a failure, its incidents too."""
    if context.deployment.environment != experiment.environment:
        return
    arm = arm_for_version(experiment=experiment, model_version_id=getattr(context.model_version, "pk", None))
    if arm is None:
        return
    experiment_attach_deployment(experiment=experiment, deployment=context.deployment, arm=arm)
    if context.deployment.status != DeploymentStatus.FAILED:
        return
    for incident in context.incidents:
        experiment_attach_incident(
            experiment=experiment,
            incident=incident,
            arm=arm,
            at=_now_or_before(context.occurred_at),
            source_label=context.source.name,
        )


def _record_progress(*, context: RolloutContext, experiment: Experiment, rollout: Rollout) -> None:
    """Record the rollout's traffic share when it changed, then its outcome when the event ends it.

    An aborted or rolled-back rollout keeps the share it had when it stopped:
    the failure that stopped it is attached at that share.
    """
    at = max(_now_or_before(context.occurred_at), experiment.started_at)
    percent = rollout.traffic_percent
    if rollout.outcome is not None and rollout.outcome != RolloutOutcome.PROMOTED:
        percent = None
    # Stored shares are Decimals, payloads' are numbers: compare them as numbers.
    current = experiment_traffic_at(experiment=experiment, at=at)
    if percent is not None and (current is None or current != Decimal(str(percent))):
        traffic_step_add(
            experiment=experiment, percent=percent, at=at, step_index=rollout.step, delivery=context.delivery
        )
    if rollout.outcome is None:
        return
    reason = rollout.reason or ENDED_BY_PIPELINE.format(title=context.event.title or "Ended", source=context.source)
    experiment_conclude(
        experiment=experiment, outcome=str(rollout.outcome), reason=reason, at=at, source_label=context.source.name
    )
