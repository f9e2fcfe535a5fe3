"""Reads of experiments and game days: who sees what, lists, arms, traffic and the facts post-mortems keep."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from experiments.models import (
    Arm,
    Experiment,
    ExperimentDeployment,
    ExperimentIncident,
    ExperimentOutcome,
    GameDay,
    GameDayReminder,
    GameDayState,
    TrafficStep,
    share_number,
)
from incidents.models import DeploymentStatus, Incident
from incidents.selectors.incidents import incident_visibility_q


def experiment_list(*, user) -> QuerySet[Experiment]:
    """Return the experiments the user may see (restricted ones: their team and staff), newest first."""
    return (
        Experiment.objects.filter(incident_visibility_q(user=user))
        .select_related("team", "model", "candidate_version__model", "control_version__model")
        .order_by("-started_at", "-id")
    )


def experiment_get_visible(*, user, pk: int) -> Experiment | None:
    """Return the experiment when it exists and the user may see it, else None."""
    return experiment_list(user=user).filter(pk=pk).first()


def game_day_list(*, user) -> QuerySet[GameDay]:
    """Return the game days the user may see (restricted ones: their team and staff), latest scheduled first."""
    return (
        GameDay.objects.filter(incident_visibility_q(user=user))
        .select_related("team", "model", "facilitator", "incident")
        .prefetch_related("participants")
        .order_by("-scheduled_at", "-id")
    )


def game_day_get_visible(*, user, pk: int) -> GameDay | None:
    """Return the game day when it exists and the user may see it, else None."""
    return game_day_list(user=user).filter(pk=pk).first()


def game_days_of_team(*, user, team) -> tuple[list[GameDay], list[GameDay]]:
    """Return the team's visible game days as (planned or running soonest first, past newest first)."""
    game_days = list(game_day_list(user=user).filter(team=team)[:200])
    upcoming = [day for day in game_days if day.state in (GameDayState.PLANNED, GameDayState.RUNNING)]
    upcoming.sort(key=lambda day: (day.state != GameDayState.RUNNING, day.scheduled_at, day.pk))
    past = [day for day in game_days if day not in upcoming]
    return upcoming, past


def game_day_reminders_pending(*, now: datetime, window: timedelta) -> list[tuple[int, int]]:
    """Return (game day id, user id) of the people to remind now: planned game days starting within ``window``.

    The facilitator and every active participant with an email address, less
    those already reminded of this start; for a restricted game day, only those
    who may see it.
    """
    game_days = list(
        GameDay.objects.filter(state=GameDayState.PLANNED, scheduled_at__gt=now, scheduled_at__lte=now + window)
        .select_related("facilitator")
        .prefetch_related("participants")
    )
    reminded = set(
        GameDayReminder.objects.filter(game_day__in=game_days).values_list("game_day_id", "user_id", "scheduled_for")
    )
    pending = []
    for game_day in game_days:
        people = set(game_day.participants.all())
        if game_day.facilitator is not None:
            people.add(game_day.facilitator)
        for person in sorted(people, key=lambda user: user.pk):
            if (game_day.pk, person.pk, game_day.scheduled_at) in reminded:
                continue
            if not person.is_active or not person.email:
                continue
            if game_day.restricted and game_day_get_visible(user=person, pk=game_day.pk) is None:
                continue
            pending.append((game_day.pk, person.pk))
    return pending


def experiments_of_model(*, user, model) -> list[Experiment]:
    """Return the visible experiments of the model, newest first, for its lineage page."""
    return list(experiment_list(user=user).filter(model=model)[:100])


def incident_experiment_links(*, incident: Incident) -> list[ExperimentIncident]:
    """Return the experiments the incident happened in, with the arm and traffic share."""
    return list(
        ExperimentIncident.objects.filter(incident=incident)
        .select_related("experiment__model", "experiment__candidate_version", "experiment__control_version")
        .order_by("created_at", "id")
    )


def incident_rollouts(*, incident: Incident, user) -> list[dict]:
    """Return the experiments the incident happened in that the user may see, each with its sentence."""
    links = incident_experiment_links(incident=incident)
    if links:
        visible = set(
            experiment_list(user=user)
            .filter(pk__in=[link.experiment_id for link in links])
            .values_list("pk", flat=True)
        )
        links = [link for link in links if link.experiment_id in visible]
    return [{"link": link, "experiment": link.experiment, "text": experiment_context(link=link)} for link in links]


def incident_experiment_candidates(*, incident: Incident) -> QuerySet[Experiment]:
    """Return the experiments the incident may be attached to: its team's, of its model, running when it began.

    For those who may change the incident: members of its team, who see every experiment of the team, so
    no visibility rule is read (``experiment_incident_attach`` checks membership again). Those it is
    attached to already are left out; the newest first (one runs per model and environment at a time).
    """
    candidates = (
        Experiment.objects.filter(team_id=incident.team_id, started_at__lte=incident.started_at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=incident.started_at))
        .select_related("model", "candidate_version")
        .order_by("-started_at", "-id")
    )
    if incident.model_id is not None:
        candidates = candidates.filter(model_id=incident.model_id)
    return candidates.exclude(incident_links__incident=incident)


def game_day_of_drill(*, incident: Incident, user) -> GameDay | None:
    """Return the game day that opened the drill incident, when the user may see it."""
    if not incident.is_drill:
        return None
    return game_day_list(user=user).filter(incident=incident).first()


def experiment_context(*, link: ExperimentIncident) -> str:
    """Return "during the canary of fraud-detector v9 at 10 % traffic" for an attached incident."""
    experiment = link.experiment
    kind = experiment.get_kind_display()
    kind = kind if kind.startswith("A/B") else kind.lower()
    text = f"during the {kind} of {experiment.candidate_label}"
    if link.traffic_percent is not None:
        text += f" at {link.traffic_share} % traffic"
    return text


@dataclass
class ArmSummary:
    """What happened on one arm: its version, traffic-hours, deployments, failures and incidents."""

    arm: str
    label: str
    version: object
    traffic_hours: float
    deployments: list = field(default_factory=list)
    incidents: list = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for link in self.deployments if link.deployment.status == DeploymentStatus.FAILED) + len(
            [link for link in self.incidents if not link.deployment_caused]
        )

    @property
    def failures_per_traffic_hour(self) -> float | None:
        if self.traffic_hours <= 0:
            return None
        return self.failures / self.traffic_hours


def traffic_hours(*, steps: list[TrafficStep], started_at: datetime, until: datetime) -> tuple[float, float]:
    """Return the (candidate, control) traffic-hours: each arm's share of traffic integrated over time.

    Before the first step the candidate has no traffic; a step holds until the
    next one or ``until``.
    """
    candidate = control = 0.0
    moments = [(started_at, 0.0)] + [(step.at, float(step.percent)) for step in steps]
    for index, (at, percent) in enumerate(moments):
        end = moments[index + 1][0] if index + 1 < len(moments) else until
        hours = max((min(end, until) - max(at, started_at)).total_seconds(), 0) / 3600
        candidate += hours * percent / 100
        control += hours * (100 - percent) / 100
    return candidate, control


@dataclass
class ExperimentPage:
    experiment: Experiment
    steps: list[TrafficStep]
    arms: list[ArmSummary]
    hidden_incidents: int
    timeline: list[dict]


def experiment_page(*, user, experiment: Experiment, now: datetime | None = None) -> ExperimentPage:
    """Return what the experiment's page shows: steps, arms with their failures, and the chart's data.

    Incidents the user may not see are counted, never named.
    """
    now = now or timezone.now()
    steps = list(TrafficStep.objects.filter(experiment=experiment).order_by("at", "id"))
    until = experiment.ended_at or now
    candidate_hours, control_hours = traffic_hours(steps=steps, started_at=experiment.started_at, until=until)
    deployment_links = list(
        ExperimentDeployment.objects.filter(experiment=experiment)
        .select_related("deployment__model_version__model")
        .order_by("deployment__last_event_at", "id")
    )
    visible = Q(incident_visibility_q(user=user, prefix="incident__"))
    incident_links = list(
        ExperimentIncident.objects.filter(experiment=experiment)
        .select_related("incident")
        .prefetch_related(Prefetch("incident__deployments", to_attr="linked_deployments"))
        .order_by("incident__started_at", "id")
    )
    visible_ids = set(
        ExperimentIncident.objects.filter(experiment=experiment).filter(visible).values_list("incident_id", flat=True)
    )
    failed_deployment_ids = {
        link.deployment_id for link in deployment_links if link.deployment.status == DeploymentStatus.FAILED
    }
    for link in incident_links:
        # An incident opened by a failed deployment already counted is one failure, not two.
        link.deployment_caused = any(d.pk in failed_deployment_ids for d in link.incident.linked_deployments)
    arms = []
    for arm, version, hours in (
        (Arm.CANDIDATE, experiment.candidate_version, candidate_hours),
        (Arm.CONTROL, experiment.control_version, control_hours),
    ):
        arms.append(
            ArmSummary(
                arm=arm,
                label=Arm(arm).label,
                version=version,
                traffic_hours=hours,
                deployments=[link for link in deployment_links if link.arm == arm],
                incidents=[link for link in incident_links if link.arm == arm],
            )
        )
    hidden = 0
    for summary in arms:
        hidden += sum(1 for link in summary.incidents if link.incident_id not in visible_ids)
        for link in summary.incidents:
            link.visible = link.incident_id in visible_ids
    timeline = [{"at": experiment.started_at.astimezone(UTC).isoformat(), "percent": 0}]
    timeline += [{"at": step.at.astimezone(UTC).isoformat(), "percent": share_number(step.percent)} for step in steps]
    timeline.append(
        {"at": until.astimezone(UTC).isoformat(), "percent": share_number(steps[-1].percent) if steps else 0}
    )
    return ExperimentPage(experiment=experiment, steps=steps, arms=arms, hidden_incidents=hidden, timeline=timeline)


def experiment_facts(*, incident: Incident) -> dict | None:
    """Return the facts of the experiment the incident happened in, as JSON-ready data, or None.

    Arms, the candidate's traffic when the incident began, how far the rollout
    got and what stopped it.
    """
    link = (
        ExperimentIncident.objects.filter(incident=incident)
        .select_related(
            "experiment__model", "experiment__candidate_version", "experiment__control_version", "experiment__team"
        )
        .order_by("created_at", "id")
        .first()
    )
    if link is None:
        return None
    experiment = link.experiment
    steps = list(TrafficStep.objects.filter(experiment=experiment).order_by("at", "id"))
    return {
        "reference": experiment.reference,
        "kind": experiment.get_kind_display(),
        "environment": experiment.environment,
        "candidate": experiment.candidate_label,
        "control": f"{experiment.model.name} v{experiment.control_version.version}"
        if experiment.control_version_id
        else "",
        "arm": link.arm,
        "traffic_at_incident": share_number(link.traffic_percent),
        "furthest_percent": share_number(max((step.percent for step in steps), default=None)),
        "steps": [{"at": step.at.astimezone(UTC).isoformat(), "percent": share_number(step.percent)} for step in steps],
        "outcome": experiment.get_outcome_display(),
        "running": experiment.outcome == ExperimentOutcome.RUNNING,
        "reason": experiment.outcome_reason,
        "deciding_metric": experiment.deciding_metric,
        "context": experiment_context(link=link),
    }


def experiment_facts_markdown(facts: dict | None) -> str:
    """Return the experiment's facts as the Markdown a post-mortem section starts with."""
    if not facts:
        return ""
    lines = [
        f"**Rollout**: this happened on the {facts['arm']} arm {facts['context']} ({facts['reference']}).",
        f"- Candidate: {facts['candidate']}" + (f"; control: {facts['control']}" if facts["control"] else ""),
    ]
    if facts["steps"]:
        path = " → ".join(f"{step['percent']} %" for step in facts["steps"])
        lines.append(f"- Traffic steps: {path} (furthest: {facts['furthest_percent']} %)")
    if facts["deciding_metric"]:
        lines.append(f"- Deciding metric: {facts['deciding_metric']}")
    if facts["running"]:
        lines.append("- Outcome: still running")
    else:
        reason = f": {facts['reason']}" if facts["reason"] else ""
        lines.append(f"- Outcome: {facts['outcome'].lower()}{reason}")
    return "\n".join(lines)


def game_day_facts(*, incident: Incident) -> dict | None:
    """Return the game day that opened the drill incident, as JSON-ready data, or None."""
    game_day = GameDay.objects.filter(incident=incident).select_related("model").first()
    if game_day is None:
        return None
    model = game_day.model.name if game_day.model_id else ""
    return {
        "reference": game_day.reference,
        "title": game_day.title,
        "hypothesis": game_day.hypothesis,
        "injection_kind": game_day.get_injection_kind_display(),
        "injection": game_day.injection,
        "target": ", ".join(part for part in (model, game_day.environment, game_day.component) if part),
        "blast_radius": game_day.blast_radius,
        "abort_conditions": game_day.abort_conditions,
        "hypothesis_held": game_day.hypothesis_held,
        "observations": game_day.observations,
    }
