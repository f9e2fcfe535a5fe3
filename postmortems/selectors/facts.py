"""Facts of an incident a post-mortem starts from: durations, linked changes, the timeline."""

from datetime import UTC, datetime

from django.db.models import Q
from django.utils import timezone

from experiments.selectors import experiment_facts, experiment_facts_markdown, game_day_facts
from incidents.models import AliasMove, Incident, IncidentDeployment, IncidentModelVersion, TimelineEntry
from postmortems.models import SectionPrefill

TIMELINE_LIMIT = 300


def humanize_duration(seconds: float | None) -> str:
    """Return a duration for people: "2 d 3 h", "1 h 12 min", "4 min", "35 s"."""
    if seconds is None:
        return "—"
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %H:%M UTC")


def incident_durations(*, incident: Incident) -> list[dict]:
    """Return the incident's durations (label, seconds, text) from its milestones."""
    rows = [
        ("Time to detect", _seconds(incident.detected_at, incident.started_at)),
        ("Time to acknowledge", _seconds(incident.acknowledged_at, incident.detected_at)),
        ("Time to mitigate", _seconds(incident.mitigated_at, incident.started_at)),
        ("Time to resolve", _seconds(incident.resolved_at, incident.started_at)),
    ]
    return [{"label": label, "seconds": seconds, "text": humanize_duration(seconds)} for label, seconds in rows]


def incident_facts(*, incident: Incident) -> dict:
    """Return the facts a post-mortem keeps from its incident, as JSON-ready data."""
    deployments = [
        {
            "id": link.deployment_id,
            "label": str(link.deployment),
            "environment": link.deployment.environment,
            "status": link.deployment.status,
            "pipeline": link.deployment.pipeline,
            "sha": link.deployment.sha,
            "run_url": link.deployment.run_url,
            "failing_step": link.deployment.failing_step,
            "role": link.role,
            "at": (link.deployment.finished_at or link.deployment.started_at or link.deployment.last_event_at)
            .astimezone(UTC)
            .isoformat(),
        }
        for link in IncidentDeployment.objects.filter(incident=incident)
        .select_related("deployment__model_version__model")
        .order_by("deployment__last_event_at", "id")
    ]
    model_versions = [
        {"id": link.model_version_id, "label": str(link.model_version), "role": link.role}
        for link in IncidentModelVersion.objects.filter(incident=incident)
        .select_related("model_version__model")
        .order_by("model_version__model__name", "model_version__version_number", "model_version__version")
    ]
    return {
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            "severity": incident.severity,
            "kind": incident.kind,
            "environment": incident.environment,
            "model": incident.model.name if incident.model_id else "",
            "started_at": incident.started_at.isoformat(),
            "detected_at": incident.detected_at.isoformat(),
            "mitigated_at": incident.mitigated_at.isoformat() if incident.mitigated_at else None,
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        },
        "durations": incident_durations(incident=incident),
        "deployments": deployments,
        "model_versions": model_versions,
        "experiment": experiment_facts(incident=incident),
        "game_day": game_day_facts(incident=incident),
    }


def incident_timeline_markdown(*, incident: Incident) -> str:
    """Return the incident's timeline, alias moves of its model included, as an editable Markdown list."""
    entries = [
        (entry.occurred_at, entry.get_kind_display(), entry.text)
        for entry in TimelineEntry.objects.filter(incident=incident).order_by("occurred_at", "id")[:TIMELINE_LIMIT]
    ]
    if incident.model_id:
        end = incident.resolved_at or timezone.now()
        moves = (
            AliasMove.objects.filter(model_id=incident.model_id, moved_at__gte=incident.started_at, moved_at__lte=end)
            .filter(Q(from_version__isnull=False) | Q(to_version__isnull=False))
            .select_related("from_version", "to_version")
        )
        for move in moves:
            before = f"v{move.from_version.version}" if move.from_version_id else "none"
            after = f"v{move.to_version.version}" if move.to_version_id else "none"
            entries.append(
                (move.moved_at, move.get_kind_display(), f"Alias {move.alias} moved from {before} to {after}.")
            )
    entries.sort(key=lambda entry: entry[0])
    return "\n".join(f"- **{_stamp(at)}** · {kind}: {' '.join(text.split())}" for at, kind, text in entries)


def _deployments_markdown(facts: dict) -> str:
    lines = []
    for deployment in facts["deployments"]:
        details = [deployment["status"]]
        if deployment["failing_step"]:
            details.append(f"failed step: {deployment['failing_step']}")
        if deployment["sha"]:
            details.append(f"commit {deployment['sha'][:10]}")
        label = deployment["label"]
        if deployment["run_url"]:
            label = f"[{label}]({deployment['run_url']})"
        lines.append(f"- {label} ({', '.join(details)}; {deployment['role']})")
    return "\n".join(lines)


def _model_versions_markdown(facts: dict) -> str:
    return "\n".join(f"- {version['label']} ({version['role']})" for version in facts["model_versions"])


def _durations_markdown(facts: dict) -> str:
    return "\n".join(f"- {row['label']}: {row['text']}" for row in facts["durations"] if row["seconds"] is not None)


def _game_day_markdown(prefill: str, game_day: dict | None) -> str:
    if not game_day:
        return ""
    if prefill == SectionPrefill.HYPOTHESIS:
        return game_day["hypothesis"]
    if prefill == SectionPrefill.INJECTION:
        lines = [
            f"- Injected: {game_day['injection_kind']}"
            + (f": {game_day['injection']}" if game_day["injection"] else "")
        ]
        if game_day["target"]:
            lines.append(f"- Target: {game_day['target']}")
        if game_day["blast_radius"]:
            lines.append(f"- Blast radius: {game_day['blast_radius']}")
        if game_day["abort_conditions"]:
            lines.append(f"- Abort conditions: {game_day['abort_conditions']}")
        return "\n".join(lines)
    if game_day["hypothesis_held"] is None:
        return game_day["observations"]
    verdict = "The hypothesis held." if game_day["hypothesis_held"] else "The hypothesis did not hold."
    return "\n\n".join(part for part in (f"**{verdict}**", game_day["observations"]) if part)


def prefill_text(*, prefill: str, incident: Incident, facts: dict) -> str:
    """Return the Markdown a section starts with for the given kind of pre-fill.

    An incident that happened during an experiment gets the rollout's facts
    (arms, traffic at the time, how far it got, what stopped it) in a rollout
    section, and after the linked changes where a section pre-fills those.
    """
    if prefill == SectionPrefill.SUMMARY:
        return incident.summary or incident.title
    if prefill == SectionPrefill.ROLLOUT:
        return experiment_facts_markdown(facts.get("experiment"))
    if prefill in (SectionPrefill.HYPOTHESIS, SectionPrefill.INJECTION, SectionPrefill.OBSERVATIONS):
        return _game_day_markdown(prefill, facts.get("game_day"))
    if prefill == SectionPrefill.IMPACT:
        return "\n\n".join(part for part in (incident.impact, _durations_markdown(facts)) if part)
    if prefill == SectionPrefill.DURATIONS:
        return _durations_markdown(facts)
    if prefill == SectionPrefill.DEPLOYMENTS:
        return _deployments_markdown(facts)
    if prefill == SectionPrefill.MODEL_VERSIONS:
        return _model_versions_markdown(facts)
    if prefill == SectionPrefill.CHANGE:
        parts = [
            _model_versions_markdown(facts),
            _deployments_markdown(facts),
            experiment_facts_markdown(facts.get("experiment")),
        ]
        return "\n".join(part for part in parts if part)
    if prefill == SectionPrefill.TIMELINE:
        return incident_timeline_markdown(incident=incident)
    return ""
