"""Writes to deployments, and the incidents their outcomes open, join and mitigate.

A *lane* is where deployments replace one another: one team's model in one
environment (or, when no model is known, one source's environment). The newest
event of a lane decides its state, whatever order deliveries arrive in:

* a failure opens an incident for the lane, or joins the lane's open one;
* a success mitigates the lane's open incidents that started before it,
  unless a newer failure is already known;
* a failure older than a known success is history: it joins the incident that
  success mitigated, or opens one that is mitigated at once at that success's
  time, so change failure rate and time to restore stay true.

Callers hold the lane lock (see ``lane_lock``) for the whole transaction.

A caller applying many events in one transaction (a batch of deliveries)
reads up front what the rules would read again and again, and passes it as
one ``BatchKnowledge``; with it, ``deployment_event_quick`` answers the
common case, a run of a known version that only inserts a deployment (the
*quick way*), and ``deployment_event_apply`` (the *full way*) skips reads the
knowledge answers. The rules are the same either way, and only here.
"""

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from incidents.hooks import deployment_event_recorded
from incidents.ingest.events import EventStatus, PipelineEvent
from incidents.models import (
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentKind,
    IncidentStatus,
    LinkRole,
    ModelVersion,
    RegisteredModel,
    Severity,
    Source,
    TimelineEntry,
)
from incidents.services.incidents import (
    incident_link_deployment,
    incident_open,
    incident_transition,
    timeline_entry_add,
)
from incidents.services.registry import model_version_get_or_create, registered_model_get_or_create

# Terminal states win over "in progress" when two events carry the same time.
STATUS_RANK = {
    DeploymentStatus.IN_PROGRESS: 0,
    DeploymentStatus.SUCCEEDED: 1,
    DeploymentStatus.FAILED: 1,
    DeploymentStatus.CANCELLED: 1,
}


@dataclass(frozen=True)
class Lane:
    team_id: int
    model: RegisteredModel | None
    environment: str
    source: Source

    def deployments(self):
        lane = Deployment.objects.filter(team_id=self.team_id, environment=self.environment)
        if self.model is not None:
            return lane.filter(model_version__model=self.model)
        return lane.filter(source=self.source, model_version__isnull=True)

    def incidents(self):
        lane = Incident.objects.filter(
            team_id=self.team_id, environment=self.environment, kind=IncidentKind.FAILED_DEPLOYMENT
        )
        if self.model is not None:
            return lane.filter(model=self.model)
        return lane.filter(source=self.source, model__isnull=True, model_unknown=True)


def lane_lock(*, source: Source | None, model: RegisteredModel | None) -> None:
    """Take the row lock that serializes one lane's work until the transaction ends: its model's, else its source's.

    FOR NO KEY UPDATE: lane locks wait for each other, while rows that merely
    refer to the model or source (a deployment of another lane) are inserted
    without waiting.
    """
    row = model if model is not None else source
    type(row).objects.select_for_update(no_key=True).filter(pk=row.pk).values_list("pk").first()


def source_lanes_lock(*, source_ids: list[int]) -> None:
    """Take the lane locks of the sources' events that name no model, in id order, until the transaction ends.

    Take them after the models' (``registered_models_lock``): callers that lock
    in this one order never wait on each other in a circle.
    """
    if source_ids:
        list(Source.objects.select_for_update(no_key=True).filter(pk__in=source_ids).order_by("id").values_list("pk"))


@dataclass(frozen=True)
class BatchKnowledge:
    """What a caller applying many events in one transaction read and locked up front, kept true as they apply.

    * ``versions``: model versions by (team id, model name, version label),
      each with its model, whose lane locks the caller holds;
    * ``runs``: (source id, external id) of the runs of those events that have
      a deployment;
    * ``open_lanes``: (team id, model id, environment) of their lanes that
      have an open incident;
    * ``unrecorded_deliveries``: ids of the deliveries of which nothing was
      ever recorded (never processed before).

    The services add what they record to it, so later events of the same
    transaction read it as they would read the database.
    """

    versions: dict[tuple[int, str, str], ModelVersion] = field(default_factory=dict)
    runs: set[tuple[int, str]] = field(default_factory=set)
    open_lanes: set[tuple[int, int, str]] = field(default_factory=set)
    unrecorded_deliveries: set[int] = field(default_factory=set)

    def copy(self) -> "BatchKnowledge":
        """Return a copy to put back with ``restore`` should the writes made from now on be rolled back."""
        return BatchKnowledge(
            versions=dict(self.versions),
            runs=set(self.runs),
            open_lanes=set(self.open_lanes),
            unrecorded_deliveries=set(self.unrecorded_deliveries),
        )

    def restore(self, copy: "BatchKnowledge") -> None:
        """Know again what ``copy`` knew (the writes made since it was taken were rolled back)."""
        for name in ("versions", "runs", "open_lanes", "unrecorded_deliveries"):
            kept = getattr(self, name)
            kept.clear()
            kept.update(getattr(copy, name))

    def version_of(self, *, team_id: int, event: PipelineEvent) -> ModelVersion | None:
        """Return the known version the event names, or None."""
        return self.versions.get((team_id, *event_model_names(event)))

    def nothing_recorded(self, *, source: Source, external_id: str, delivery) -> bool:
        """Return whether neither the run nor the delivery has left anything in the database."""
        return (
            delivery is not None
            and delivery.pk in self.unrecorded_deliveries
            and (source.pk, external_id) not in self.runs
        )


def clip(value: str, length: int) -> str:
    """Return text fit for a column: NUL characters removed (PostgreSQL refuses them), cut to ``length``."""
    return (value or "").replace("\x00", "")[:length]


def deployment_external_id(*, event: PipelineEvent, fallback: str) -> str:
    """Return the id that names the event's deployment within its source: the run's, else ``fallback``."""
    return clip(event.external_id or fallback, 300)


def _deployment_facts(event: PipelineEvent) -> dict:
    return {
        "pipeline": clip(event.pipeline, 200),
        "run_id": clip(event.run_id, 200),
        "title": clip(event.title, 300),
        "sha": clip(event.sha, 64),
        "ref": clip(event.ref, 255),
        "run_url": clip(event.run_url, 500),
        "failing_step": clip(event.failing_step, 300),
        "started_at": event.started_at,
        "finished_at": event.finished_at,
        "committed_at": event.committed_at,
    }


def deployment_fallback_id(*, event: PipelineEvent, fallback: str) -> str:
    """Return the id a run without an id of its own is recorded under: ``fallback``, else pipeline and run."""
    return fallback or f"{event.pipeline}:{event.run_id}"


def deployment_run_id(*, event: PipelineEvent, fallback_external_id: str) -> str:
    """Return the external id the event's run is recorded under (``deployment_event_apply``'s)."""
    return deployment_external_id(
        event=event, fallback=deployment_fallback_id(event=event, fallback=fallback_external_id)
    )


def deployment_build(
    *,
    source: Source,
    event: PipelineEvent,
    model_version: ModelVersion | None,
    occurred_at: datetime,
    external_id: str,
) -> Deployment:
    """Return the unsaved deployment the first event of a run makes (saved alone, or in bulk by a batch)."""
    return Deployment(
        source=source,
        external_id=external_id,
        team_id=source.team_id,
        model_version=model_version,
        environment=clip(event.environment, 100),
        status=DeploymentStatus(event.status.value),
        last_event_at=occurred_at,
        **_deployment_facts(event),
    )


def deployment_record(
    *,
    source: Source,
    event: PipelineEvent,
    model_version: ModelVersion | None,
    occurred_at: datetime,
    fallback_external_id: str,
) -> tuple[Deployment, bool]:
    """Create or update the deployment the event is about; return it and whether the event was applied.

    Deployments are identified by (source, external_id). An event older than
    the newest one applied (``last_event_at``) changes nothing but facts the
    deployment still lacks, and the answer says it was not applied.
    """
    status = DeploymentStatus(event.status.value)
    external_id = deployment_external_id(event=event, fallback=fallback_external_id)
    facts = _deployment_facts(event)
    try:
        deployment = Deployment.objects.select_for_update().get(source=source, external_id=external_id)
    except Deployment.DoesNotExist:
        return _deployment_insert(
            source=source, event=event, model_version=model_version, occurred_at=occurred_at, external_id=external_id
        ), True
    newer = occurred_at > deployment.last_event_at or (
        occurred_at == deployment.last_event_at and STATUS_RANK[status] >= STATUS_RANK[deployment.status]
    )
    changed = set()
    for name, value in facts.items():
        current = getattr(deployment, name)
        if value and (newer or not current) and value != current:
            setattr(deployment, name, value)
            changed.add(name)
    if (
        model_version is not None
        and (newer or deployment.model_version_id is None)
        and deployment.model_version_id != model_version.pk
    ):
        deployment.model_version = model_version
        changed.add("model_version")
    if event.environment and (newer or not deployment.environment):
        environment = clip(event.environment, 100)
        if environment != deployment.environment:
            deployment.environment = environment
            changed.add("environment")
    if newer:
        deployment.status = status
        deployment.last_event_at = occurred_at
        changed |= {"status", "last_event_at"}
    if changed:
        deployment.save(update_fields=[*sorted(changed), "updated_at"])
    return deployment, newer


def _deployment_insert(
    *, source: Source, event: PipelineEvent, model_version: ModelVersion | None, occurred_at: datetime, external_id: str
) -> Deployment:
    # No savepoint: events of one run share a lane, whose lock the caller
    # holds, so they cannot race here. Should two lanes ever race on one run,
    # the loser's transaction fails and its task retries, finding this row.
    deployment = deployment_build(
        source=source, event=event, model_version=model_version, occurred_at=occurred_at, external_id=external_id
    )
    deployment.save(force_insert=True)
    return deployment


def _glob(pattern: str) -> str:
    """Return the rule as an fnmatch pattern in which only ``*`` is special."""
    return pattern.replace("[", "[[]").replace("?", "[?]")


def severity_for(*, source: Source, environment: str) -> str:
    """Return the severity of the source's rule that matches the environment best; SEV3 when none does.

    Names compare without case; ``*`` in a name stands for any characters. The exact name wins, then the
    pattern with the most characters that are not ``*`` (``prod-eu-*`` before ``prod-*``), then ``*`` alone.
    """
    mapping = source.environment_severity if isinstance(source.environment_severity, dict) else {}
    name = environment.casefold()
    best: tuple[int, str] | None = None
    for key, value in mapping.items():
        if not isinstance(key, str) or not isinstance(value, str) or value.upper() not in Severity.values:
            continue
        pattern = key.casefold()
        if pattern == name:
            return value.upper()
        if "*" in pattern and fnmatch.fnmatchcase(name, _glob(pattern)):
            rank = len(pattern.replace("*", ""))
            if best is None or rank > best[0]:
                best = (rank, value.upper())
    return best[1] if best else Severity.SEV3


def deployment_label(*, deployment: Deployment, model: RegisteredModel | None) -> str:
    """Return what was deployed, as people say it: "fraud-detector v17", or the pipeline or commit."""
    if deployment.model_version_id:
        return str(deployment.model_version)
    if model is not None:
        return model.name
    return deployment.pipeline or deployment.title or (deployment.sha[:8] if deployment.sha else "") or "A pipeline"


def failure_title(*, deployment: Deployment, model: RegisteredModel | None, again: bool = False) -> str:
    """Return an incident title that reads as a sentence: "fraud-detector v17 failed to deploy to production".

    Without a model the pipeline, run or commit is named in quotes (a pipeline's name may hold a colon, as in
    "forecasting: retrain-and-deploy", and would otherwise read as a heading); with no environment either, the
    title ends saying what the sender did not give, which is also what to set up on the source. ``again``
    tells of a further failure joining the incident.
    """
    where = f" to {deployment.environment}" if deployment.environment else ""
    where += " again" if again else ""
    if deployment.model_version_id or model is not None:
        return clip(f"{deployment_label(deployment=deployment, model=model)} failed to deploy{where}", 300)
    ending = f" failed to deploy{where}" + ("" if deployment.environment else " (no model or environment given)")
    if deployment.pipeline:
        what = f"Pipeline “{clip(deployment.pipeline, 200)}”"
    elif deployment.title:
        what = f"Run “{clip(deployment.title, 200)}”"
    elif deployment.sha:
        what = f"Commit {deployment.sha[:8]}"
    else:
        what = "A pipeline"
    return clip(what + ending, 300)


def _failure_text(*, deployment: Deployment, model: RegisteredModel | None, source: Source, again: bool) -> str:
    text = failure_title(deployment=deployment, model=model, again=again) + "."
    if deployment.failing_step:
        text += f" Failing step: {deployment.failing_step}."
    if deployment.run_url:
        text += f" Run: {deployment.run_url}"
    return text


def deployment_failure_record(
    *,
    deployment: Deployment,
    source: Source,
    model: RegisteredModel | None,
    occurred_at: datetime,
    delivery=None,
    known: BatchKnowledge | None = None,
) -> Incident:
    """Open or join the lane's incident for a failed deployment at ``occurred_at``; return the incident.

    Join the lane's open incident; when a newer success of the lane is known,
    join the incident that success mitigated or open one mitigated at once at
    that success's time. Idempotent per delivery (the look for what the
    delivery recorded before is skipped when ``known`` says nothing was). The
    caller holds the lane lock.
    """
    lane = Lane(team_id=source.team_id, model=model, environment=deployment.environment, source=source)
    if delivery is not None and not _nothing_recorded(known, source=source, deployment=deployment, delivery=delivery):
        done = TimelineEntry.objects.filter(delivery=delivery, incident__in=lane.incidents()).first()
        if done is not None:
            return done.incident
    newer_success = (
        lane.deployments()
        .filter(status=DeploymentStatus.SUCCEEDED, last_event_at__gt=occurred_at)
        .order_by("last_event_at", "id")
        .first()
    )
    if newer_success is None:
        incident = lane.incidents().filter(status=IncidentStatus.OPEN).order_by("-detected_at", "-id").first()
    else:
        incident = (
            lane.incidents()
            .filter(mitigated_at__gte=occurred_at, started_at__lte=newer_success.last_event_at)
            .order_by("mitigated_at", "id")
            .first()
        )
    if incident is not None:
        timeline_entry_add(
            incident=incident,
            kind=TimelineEntry.Kind.DEPLOYMENT,
            text=_failure_text(deployment=deployment, model=model, source=source, again=True),
            occurred_at=occurred_at,
            source_label=source.name,
            deployment=deployment,
            delivery=delivery,
        )
        incident_link_deployment(incident=incident, deployment=deployment, role=LinkRole.SUSPECT)
        return incident
    title = failure_title(deployment=deployment, model=model)
    incident = incident_open(
        team=source.team,
        title=title,
        kind=IncidentKind.FAILED_DEPLOYMENT,
        severity=severity_for(source=source, environment=deployment.environment),
        environment=deployment.environment,
        model=model,
        model_unknown=model is None,
        detected_at=occurred_at,
        started_at=occurred_at,
        source=source,
        source_label=source.name,
        opening_text=f"Opened by {source.name}: {title}.",
    )
    timeline_entry_add(
        incident=incident,
        kind=TimelineEntry.Kind.DEPLOYMENT,
        text=_failure_text(deployment=deployment, model=model, source=source, again=False),
        occurred_at=occurred_at,
        source_label=source.name,
        deployment=deployment,
        delivery=delivery,
    )
    incident_link_deployment(incident=incident, deployment=deployment, role=LinkRole.SUSPECT)
    if newer_success is not None:
        incident_transition(
            incident=incident,
            to_status=IncidentStatus.MITIGATED,
            at=newer_success.last_event_at,
            source_label=source.name,
            note=(
                f"Mitigated by the successful deployment of "
                f"{deployment_label(deployment=newer_success, model=model)} at "
                f"{newer_success.last_event_at:%Y-%m-%d %H:%M:%S} UTC; this failure was delivered after it."
            ),
            deployment=newer_success,
        )
        incident.refresh_from_db()
    return incident


def deployment_success_record(
    *,
    deployment: Deployment,
    source: Source,
    model: RegisteredModel | None,
    occurred_at: datetime,
    delivery=None,
    known: BatchKnowledge | None = None,
) -> list[Incident]:
    """Mitigate, at ``occurred_at``, the lane's open incidents that started before this success; return them.

    Leave them open when the lane has a failure newer than this success: the
    newest event decides. Idempotent per delivery (``known`` as for
    failures). The caller holds the lane lock.
    """
    lane = Lane(team_id=source.team_id, model=model, environment=deployment.environment, source=source)
    # Most successes find nothing open: that answer costs one query.
    open_ids = list(
        lane.incidents()
        .filter(status=IncidentStatus.OPEN, started_at__lte=occurred_at)
        .order_by("detected_at", "id")
        .values_list("pk", flat=True)
    )
    if not open_ids:
        return []
    newer_failure = lane.deployments().filter(status=DeploymentStatus.FAILED, last_event_at__gt=occurred_at).exists()
    if newer_failure:
        return []
    mitigated = []
    what = deployment_label(deployment=deployment, model=model)
    already = set()
    if delivery is not None and not _nothing_recorded(known, source=source, deployment=deployment, delivery=delivery):
        already = set(TimelineEntry.objects.filter(delivery=delivery).values_list("incident_id", flat=True))
    for incident_id in open_ids:
        if incident_id in already:
            continue
        # incident_transition locks and reads the row itself.
        incident = incident_transition(
            incident=Incident(pk=incident_id),
            to_status=IncidentStatus.MITIGATED,
            at=occurred_at,
            source_label=source.name,
            note=f"Mitigated: {what} deployed successfully to {deployment.environment or 'its environment'}.",
            deployment=deployment,
            delivery=delivery,
        )
        mitigated.append(incident)
        incident_link_deployment(incident=incident, deployment=deployment, role=LinkRole.RELATED)
    return mitigated


def deployment_outcome_record(
    *,
    deployment: Deployment,
    source: Source,
    model: RegisteredModel | None,
    status: EventStatus,
    occurred_at: datetime,
    delivery=None,
    known: BatchKnowledge | None = None,
) -> list[Incident]:
    """Apply what a terminal event means for the lane's incidents; return the incidents it touched."""
    context = {
        "deployment": deployment,
        "source": source,
        "model": model,
        "occurred_at": occurred_at,
        "delivery": delivery,
        "known": known,
    }
    if status == EventStatus.FAILED:
        return [deployment_failure_record(**context)]
    if status == EventStatus.SUCCEEDED:
        return deployment_success_record(**context)
    return []


def _nothing_recorded(known: BatchKnowledge | None, *, source: Source, deployment: Deployment, delivery) -> bool:
    # The run's deployment was just inserted by this event when it is new to ``known``.
    return known is not None and known.nothing_recorded(
        source=source, external_id=deployment.external_id, delivery=delivery
    )


@dataclass
class DeploymentOutcome:
    deployment: Deployment
    model: RegisteredModel | None
    model_version: ModelVersion | None
    # False when the event was older than the deployment's newest one.
    applied: bool
    incidents: list[Incident] = field(default_factory=list)

    @property
    def model_found(self) -> str:
        """Return the model as people say it ("fraud-detector v17"), or "" when none was found."""
        if self.model_version is not None:
            return clip(str(self.model_version), 240)
        return clip(self.model.name, 240) if self.model is not None else ""


def event_model_names(event: PipelineEvent) -> tuple[str, str]:
    """Return the model name and version label the event names, as stored ("" when it names none)."""
    return clip(event.model_name.strip(), 200), clip(event.model_version.strip(), 64)


def model_for_event(
    *, team: int, event: PipelineEvent, at: datetime
) -> tuple[RegisteredModel | None, ModelVersion | None]:
    """Return the registered model and version the event names, created for the team when new.

    Lock the registered model's row until the transaction ends (the lane lock).
    """
    name, version = event_model_names(event)
    if not name:
        return None, None
    if version:
        # The usual case, a version seen before: one read, then the lane lock.
        known = (
            ModelVersion.objects.select_related("model")
            .filter(model__team_id=team, model__name=name, version=version)
            .order_by()
            .first()
        )
        if known is not None:
            lane_lock(source=None, model=known.model)
            return known.model, known
    # Locked: the model's row is the lane lock of its deployments.
    model = registered_model_get_or_create(team=team, name=name, at=at, lock=True)
    if not version:
        return model, None
    return model, model_version_get_or_create(model=model, version=version, at=at)


# Statuses whose outcome needs no look at the lane's incidents (see deployment_outcome_record).
QUIET_STATUSES = (EventStatus.IN_PROGRESS, EventStatus.CANCELLED)


def deployment_event_quick(
    *, source: Source, event: PipelineEvent, occurred_at: datetime, fallback_external_id: str, known: BatchKnowledge
) -> Deployment | None:
    """Return the unsaved deployment when inserting it is all the event means (the quick way), else None.

    That is a start, a cancellation, or a success in a lane with no open
    incident (it mitigates nothing), of a run not yet recorded, outside any
    rollout, naming a version in ``known`` (whose lane lock the caller holds). The caller
    inserts it (many together) before anything reads that lane; ``known``
    counts the run as recorded from now on.
    """
    if event.status not in (EventStatus.SUCCEEDED, *QUIET_STATUSES):
        return None
    if event.rollout is not None:  # a rollout's steps and outcome are the experiment services' to record
        return None
    version = known.version_of(team_id=source.team_id, event=event)
    if version is None:
        return None
    external_id = deployment_run_id(event=event, fallback_external_id=fallback_external_id)
    if (source.pk, external_id) in known.runs:
        return None
    deployment = deployment_build(
        source=source, event=event, model_version=version, occurred_at=occurred_at, external_id=external_id
    )
    lane = (source.team_id, version.model_id, deployment.environment)
    if event.status == EventStatus.SUCCEEDED and lane in known.open_lanes:
        return None
    known.runs.add((source.pk, external_id))
    return deployment


@transaction.atomic(savepoint=False)
def deployment_event_apply(
    *,
    source: Source,
    event: PipelineEvent,
    occurred_at: datetime,
    delivery=None,
    fallback_external_id: str = "",
    known: BatchKnowledge | None = None,
) -> DeploymentOutcome:
    """Record a pipeline, job or deployment event that has a status; return what it changed (the full way).

    Find or create the model version it names, take the lane lock, upsert the
    deployment, then open, join or mitigate the lane's incidents. Safe to run
    again for the same delivery. With ``known`` (see ``BatchKnowledge``),
    skip the reads it answers, and add to it what this event recorded.
    Then tell the deployment followers (``incidents/hooks.py``; experiments
    records the event's rollout block and the arm its failure hit).
    """
    model_version = known.version_of(team_id=source.team_id, event=event) if known is not None else None
    if model_version is not None:
        model = model_version.model
    else:
        model, model_version = model_for_event(team=source.team_id, event=event, at=occurred_at)
    if model is None:
        lane_lock(source=source, model=None)
    external_id = deployment_run_id(event=event, fallback_external_id=fallback_external_id)
    if known is not None and known.nothing_recorded(source=source, external_id=external_id, delivery=delivery):
        deployment, applied = (
            _deployment_insert(
                source=source,
                event=event,
                model_version=model_version,
                occurred_at=occurred_at,
                external_id=external_id,
            ),
            True,
        )
    else:
        deployment, applied = deployment_record(
            source=source,
            event=event,
            model_version=model_version,
            occurred_at=occurred_at,
            fallback_external_id=deployment_fallback_id(event=event, fallback=fallback_external_id),
        )
    incidents = deployment_outcome_record(
        deployment=deployment,
        source=source,
        model=model,
        status=EventStatus(event.status),
        occurred_at=occurred_at,
        delivery=delivery,
        known=known,
    )
    deployment_event_recorded(
        source=source,
        event=event,
        deployment=deployment,
        model=model,
        model_version=model_version,
        incidents=incidents,
        occurred_at=occurred_at,
        delivery=delivery,
    )
    if known is not None:
        _knowledge_update(known, source=source, deployment=deployment, model=model, incidents=incidents)
        if model_version is not None:
            # Its model's lane lock is held now (model_for_event took it).
            known.versions[source.team_id, model.name, model_version.version] = model_version
    return DeploymentOutcome(
        deployment=deployment, model=model, model_version=model_version, applied=applied, incidents=incidents
    )


def _knowledge_update(
    known: BatchKnowledge, *, source: Source, deployment: Deployment, model: RegisteredModel | None, incidents
) -> None:
    """Count the run as recorded; note whether its lane has an open incident now (the event may have changed that)."""
    known.runs.add((source.pk, deployment.external_id))
    if model is None:
        return
    lane = (source.team_id, model.pk, deployment.environment)
    is_open = any(incident.status == IncidentStatus.OPEN for incident in incidents) or (
        Lane(team_id=source.team_id, model=model, environment=deployment.environment, source=source)
        .incidents()
        .filter(status=IncidentStatus.OPEN)
        .exists()
    )
    if is_open:
        known.open_lanes.add(lane)
    else:
        known.open_lanes.discard(lane)
