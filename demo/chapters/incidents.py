"""Chapter 3 of the demo: the registry, deployments and incidents of an ML organisation. Safe to run again.

Every time is pinned to ANCHOR, so a second run finds everything in place and
changes nothing. The centrepiece is fraud-detector's rollback: v9 was promoted
to champion, failed in production, and champion was rolled back to v8.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from incidents.models import (
    AliasMove,
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentKind,
    LinkRole,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    Severity,
)
from incidents.services import incidents as services
from postmortems.services.postmortems import postmortem_mark_not_needed
from teams.models import Team

ANCHOR = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
User = get_user_model()


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """Return a time relative to the demo's anchor (negative: before it)."""
    return ANCHOR + timedelta(days=days, hours=hours, minutes=minutes)


MODELS = [
    # team, name, description, versions (version, created days before anchor, run id)
    (
        "fraud",
        "fraud-detector",
        "Scores card payments for fraud in real time (gradient-boosted trees over 212 features).",
        [(str(number), -60 + number * 5, f"a1f{number:02d}c9e") for number in range(4, 10)],
    ),
    (
        "recsys",
        "home-feed-ranker",
        "Ranks the home feed: a two-tower retrieval stage and a cross-feature re-ranker.",
        [(str(number), -90 + (number - 20) * 12, f"7be{number:02d}d41") for number in range(20, 27)],
    ),
    (
        "ml-platform",
        "churn-predictor",
        "Weekly churn propensity per customer, consumed by the retention team's CRM.",
        [(str(number), -70 + number * 12, f"c4{number:02d}0a7f") for number in range(1, 6)],
    ),
    (
        "ml-platform",
        "embedding-service",
        "Text and image embeddings served to search, recommendations and fraud.",
        [(str(number), -50 + number * 10, f"e5b{number:02d}9d2") for number in range(1, 5)],
    ),
]

# model, version, environment, status, days, hours, failing step
DEPLOYMENTS = [
    ("fraud-detector", "4", "staging", "succeeded", -40, 0, ""),
    ("fraud-detector", "4", "production", "succeeded", -39, 0, ""),
    ("fraud-detector", "5", "staging", "succeeded", -35, 0, ""),
    ("fraud-detector", "5", "production", "succeeded", -34, 2, ""),
    ("fraud-detector", "6", "staging", "failed", -30, 1, "integration-tests: feature schema mismatch"),
    ("fraud-detector", "6", "staging", "succeeded", -29, 3, ""),
    ("fraud-detector", "6", "production", "succeeded", -28, 0, ""),
    ("fraud-detector", "7", "staging", "succeeded", -25, 0, ""),
    ("fraud-detector", "7", "production", "succeeded", -24, 1, ""),
    ("fraud-detector", "8", "staging", "succeeded", -20, 0, ""),
    ("fraud-detector", "8", "production", "succeeded", -18, 2, ""),
    ("fraud-detector", "9", "staging", "succeeded", -2, 1, ""),
    ("fraud-detector", "9", "production", "failed", -1, 5.1, "canary-analysis: precision@0.9 below 0.82"),
    ("fraud-detector", "9", "production", "failed", -1, 5.6, "canary-analysis: p99 latency 410 ms > 250 ms"),
    ("fraud-detector", "8", "production", "succeeded", -1, 6.4, ""),
    ("home-feed-ranker", "22", "staging", "succeeded", -64, 0, ""),
    ("home-feed-ranker", "22", "production", "succeeded", -63, 0, ""),
    ("home-feed-ranker", "23", "staging", "succeeded", -52, 0, ""),
    ("home-feed-ranker", "23", "production", "succeeded", -51, 0, ""),
    ("home-feed-ranker", "24", "staging", "succeeded", -40, 0, ""),
    ("home-feed-ranker", "24", "production", "succeeded", -39, 0, ""),
    ("home-feed-ranker", "25", "staging", "succeeded", -28, 0, ""),
    ("home-feed-ranker", "25", "production", "succeeded", -27, 3, ""),
    ("home-feed-ranker", "26", "staging", "failed", -12, 2, "offline-eval: NDCG@10 regression 4.1%"),
    ("home-feed-ranker", "26", "staging", "succeeded", -10, 4, ""),
    ("home-feed-ranker", "26", "shadow", "in_progress", 0, -1, ""),
    ("churn-predictor", "3", "staging", "succeeded", -34, 0, ""),
    ("churn-predictor", "3", "production", "succeeded", -33, 0, ""),
    ("churn-predictor", "4", "staging", "succeeded", -22, 0, ""),
    ("churn-predictor", "4", "production", "succeeded", -21, 0, ""),
    ("churn-predictor", "5", "staging", "succeeded", -9, 0, ""),
    ("churn-predictor", "5", "production", "cancelled", -8, 0, ""),
    ("churn-predictor", "5", "production", "succeeded", -7, 2, ""),
    ("embedding-service", "2", "staging", "succeeded", -29, 0, ""),
    ("embedding-service", "2", "production", "succeeded", -28, 0, ""),
    ("embedding-service", "3", "staging", "succeeded", -19, 0, ""),
    ("embedding-service", "3", "production", "succeeded", -18, 0, ""),
    ("embedding-service", "4", "staging", "succeeded", -3, 0, ""),
    ("embedding-service", "4", "production", "succeeded", -2, 4, ""),
]

# model, alias, from, to, kind, days, hours
ALIAS_MOVES = [
    ("fraud-detector", "champion", "5", "6", "promotion", -28, 0.5),
    ("fraud-detector", "champion", "6", "7", "promotion", -24, 1.5),
    ("fraud-detector", "champion", "7", "8", "promotion", -18, 2.5),
    ("fraud-detector", "challenger", None, "9", "promotion", -2, 2),
    ("fraud-detector", "champion", "8", "9", "promotion", -1, 5),
    ("fraud-detector", "champion", "9", "8", "rollback", -1, 6.2),
    ("home-feed-ranker", "champion", "23", "24", "promotion", -39, 1),
    ("home-feed-ranker", "champion", "24", "25", "promotion", -27, 4),
    ("home-feed-ranker", "challenger", None, "26", "promotion", -10, 5),
    ("churn-predictor", "champion", "3", "4", "promotion", -21, 1),
    ("churn-predictor", "champion", "4", "5", "promotion", -7, 3),
    ("embedding-service", "champion", "2", "3", "promotion", -18, 1),
    ("embedding-service", "champion", "3", "4", "promotion", -2, 5),
]


def _people() -> dict[str, object]:
    return {user.username: user for user in User.objects.filter(username__in=USERNAMES)}


USERNAMES = ["demo", "amara", "kenji", "lucia", "priya", "tomas", "mei", "oliver", "sofia"]


def _seed_registry(teams: dict[str, Team]) -> tuple[dict, dict]:
    models, versions = {}, {}
    for team_slug, name, description, version_rows in MODELS:
        first_created = at(days=min(row[1] for row in version_rows) - 5)
        model, _ = RegisteredModel.objects.get_or_create(
            team=teams[team_slug],
            name=name,
            defaults={"description": description, "created_at": first_created},
        )
        models[name] = model
        for version, days, run_id in version_rows:
            versions[(name, version)], _ = ModelVersion.objects.get_or_create(
                model=model,
                version=version,
                defaults={
                    "version_number": int(version),
                    "run_id": run_id,
                    "source_uri": f"models:/{name}/{version}",
                    "created_at": at(days=days),
                },
            )
    return models, versions


def _seed_deployments(models: dict, versions: dict) -> dict:
    deployments = {}
    counter: dict[tuple, int] = {}
    for name, version, environment, status, days, hours, failing_step in DEPLOYMENTS:
        key = (name, version, environment)
        counter[key] = counter.get(key, 0) + 1
        external_id = f"demo-{name}-v{version}-{environment}-{counter[key]}"
        digest = hashlib.sha1(external_id.encode(), usedforsecurity=False).hexdigest()
        started = at(days=days, hours=hours)
        finished = None if status == DeploymentStatus.IN_PROGRESS else started + timedelta(minutes=9)
        deployment, _ = Deployment.objects.get_or_create(
            team=models[name].team,
            external_id=external_id,
            defaults={
                "model_version": versions[(name, version)],
                "environment": environment,
                "status": status,
                "pipeline": f"deploy-{name}",
                "run_id": str(int(digest[:7], 16)),
                "title": f"Deploy {name} v{version} to {environment}",
                "sha": digest,
                "ref": "refs/heads/main",
                "run_url": f"https://ci.example.com/{name}/runs/{counter[key]}{version}{len(environment)}",
                "failing_step": failing_step,
                "started_at": started,
                "finished_at": finished,
                "last_event_at": finished or started,
            },
        )
        deployments[(name, version, environment, counter[key])] = deployment
    return deployments


def _seed_aliases(models: dict, versions: dict) -> None:
    current: dict[tuple[str, str], tuple[ModelVersion | None, datetime]] = {}
    for name, alias, from_version, to_version, kind, days, hours in ALIAS_MOVES:
        moved_at = at(days=days, hours=hours)
        AliasMove.objects.get_or_create(
            model=models[name],
            alias=alias,
            moved_at=moved_at,
            defaults={
                "from_version": versions.get((name, from_version)) if from_version else None,
                "to_version": versions[(name, to_version)],
                "kind": kind,
            },
        )
        current[(name, alias)] = (versions[(name, to_version)], moved_at)
    for (name, alias), (version, moved_at) in current.items():
        ModelAlias.objects.get_or_create(
            model=models[name], alias=alias, defaults={"version": version, "updated_at": moved_at}
        )


def _story_exists(team: Team, title: str) -> bool:
    return Incident.objects.filter(team=team, title=title).exists()


def _rollback_story(teams, people, models, versions, deployments) -> None:
    """fraud-detector v9 promoted, failing in production, rolled back to v8: mitigated."""
    title = "fraud-detector v9 failed to deploy to production"
    if _story_exists(teams["fraud"], title):
        return
    first_failure = deployments[("fraud-detector", "9", "production", 1)]
    second_failure = deployments[("fraud-detector", "9", "production", 2)]
    recovery = deployments[("fraud-detector", "8", "production", 2)]
    incident = services.incident_open(
        team=teams["fraud"],
        title=title,
        kind=IncidentKind.FAILED_DEPLOYMENT,
        severity=Severity.SEV2,
        environment="production",
        model=models["fraud-detector"],
        started_at=at(days=-1, hours=5),
        detected_at=first_failure.finished_at,
        summary=(
            "The canary of **v9** failed its analysis in production twice: precision at the 0.9 threshold fell "
            "to 0.79 and p99 latency rose to 410 ms. Champion was rolled back to v8."
        ),
        impact="About 4% of card payments were scored by v9 for 70 minutes; 31 legitimate payments were declined.",
        tags=["canary", "rollback", "feature-store"],
        opening_text="fraud-detector v9 failed to deploy to production (canary-analysis).",
        source_label="GitHub Actions · fraud-ci",
    )
    services.incident_set_deployment_role(
        incident=incident, deployment=first_failure, role=LinkRole.CAUSE, actor=people["lucia"], at=at(-1, 5.4)
    )
    services.incident_acknowledge(incident=incident, actor=people["lucia"], at=at(-1, 5.35))
    services.timeline_note_add(
        incident=incident,
        author=people["priya"],
        text="Canary dashboards show precision drop only for **card-not-present** traffic. Looking at features.",
        at=at(-1, 5.5),
    )
    services.incident_set_deployment_role(
        incident=incident, deployment=second_failure, role=LinkRole.SUSPECT, actor=people["priya"], at=at(-1, 5.7)
    )
    services.incident_change_severity(
        incident=incident,
        severity=Severity.SEV1,
        actor=people["lucia"],
        at=at(-1, 5.8),
        note="Declines reported by support.",
    )
    note = services.timeline_note_add(
        incident=incident,
        author=people["lucia"],
        text="Rolling champion back to v8 in the registry. v9 stays as challenger for offline analysis.",
        at=at(-1, 6.1),
    )
    services.timeline_entry_star(entry=note, starred=True, actor=people["lucia"])
    services.incident_link_deployment(incident=incident, deployment=recovery, role=LinkRole.RELATED)
    services.incident_transition(
        incident=incident,
        to_status="mitigated",
        at=recovery.finished_at,
        source_label="GitHub Actions · fraud-ci",
        note="fraud-detector v8 deployed successfully to production: mitigated.",
        deployment=recovery,
    )
    services.incident_change_severity(
        incident=incident, severity=Severity.SEV2, actor=people["lucia"], at=at(-1, 7), note="Impact stopped."
    )
    services.timeline_note_add(
        incident=incident,
        author=people["tomas"],
        text=(
            "Found it: v9 was trained on `merchant_category_v2` but serving still reads `merchant_category` "
            "for card-not-present payments. Training/serving skew."
        ),
        at=at(0, -3),
    )


def _embedding_story(teams, people, models, versions, deployments) -> None:
    title = "embedding-service p99 latency above 2 s in production"
    if _story_exists(teams["ml-platform"], title):
        return
    incident = services.incident_open(
        team=teams["ml-platform"],
        title=title,
        kind=IncidentKind.SERVING,
        severity=Severity.SEV1,
        environment="production",
        model=models["embedding-service"],
        started_at=at(0, -2.5),
        detected_at=at(0, -2.2),
        summary="Search and recommendations time out waiting for embeddings since the GPU node pool was resized.",
        impact="Search falls back to keyword ranking; recommendations serve stale candidates.",
        tags=["gpu", "latency"],
        created_by=people["amara"],
    )
    services.incident_acknowledge(incident=incident, actor=people["kenji"], at=at(0, -2.1))
    services.incident_set_model_version_role(
        incident=incident,
        model_version=versions[("embedding-service", "4")],
        role=LinkRole.SUSPECT,
        actor=people["kenji"],
        at=at(0, -1.9),
    )
    services.timeline_note_add(
        incident=incident,
        author=people["kenji"],
        text="Batching is off on the new pods: `MAX_BATCH=1` in the v4 serving config. Testing a fix on one pod.",
        at=at(0, -1.5),
    )


def _churn_story(teams, people, models, versions, deployments) -> None:
    title = "churn-predictor features late: upstream events table missing Sunday partition"
    if _story_exists(teams["ml-platform"], title):
        return
    incident = services.incident_open(
        team=teams["ml-platform"],
        title=title,
        kind=IncidentKind.DATA_PIPELINE,
        severity=Severity.SEV3,
        environment="production",
        model=models["churn-predictor"],
        started_at=at(0, -6),
        detected_at=at(0, -1),
        summary="The weekly scoring job waits on `events.sessions` for 2026-11-15, which has not landed.",
        tags=["upstream-data", "airflow"],
        created_by=people["sofia"],
    )
    services.timeline_note_add(
        incident=incident,
        author=people["sofia"],
        text="Asked the data platform team; their ingestion job is retrying.",
        at=at(0, -0.5),
    )


def _ranker_story(teams, people, models, versions, deployments) -> None:
    title = "home-feed-ranker v24 click-through dropped 6% after launch"
    if _story_exists(teams["recsys"], title):
        return
    incident = services.incident_open(
        team=teams["recsys"],
        title=title,
        kind=IncidentKind.MODEL_REGRESSION,
        severity=Severity.SEV2,
        environment="production",
        model=models["home-feed-ranker"],
        started_at=at(-39, 1),
        detected_at=at(-37, 4),
        summary="v24 over-weighted recency; long-tail creators lost exposure and CTR dropped for two days.",
        impact="Home feed CTR down 6% for 46 hours; creator complaints to support.",
        tags=["online-offline-gap", "evaluation"],
        created_by=people["mei"],
    )
    services.incident_acknowledge(incident=incident, actor=people["mei"], at=at(-37, 4.3))
    services.incident_set_model_version_role(
        incident=incident,
        model_version=versions[("home-feed-ranker", "24")],
        role=LinkRole.CAUSE,
        actor=people["oliver"],
        at=at(-37, 6),
    )
    services.timeline_note_add(
        incident=incident,
        author=people["oliver"],
        text="Offline NDCG was flat; the online drop comes from the recency feature's new scale.",
        at=at(-37, 7),
    )
    services.incident_transition(
        incident=incident, to_status="mitigated", actor=people["mei"], at=at(-37, 9), note="Traffic moved back to v23."
    )
    services.incident_transition(incident=incident, to_status="resolved", actor=people["mei"], at=at(-27, 4))


def _failed_deployment_incident(*, title: str, failure: Deployment, severity, source_label: str, role, actor, at):
    """Open the incident a failed deployment opened, as its source told it, and link the deployment by ``role``."""
    model, version = failure.model_version.model, failure.model_version.version
    step = failure.failing_step.split(":")[0]
    incident = services.incident_open(
        team=failure.team,
        title=title,
        kind=IncidentKind.FAILED_DEPLOYMENT,
        severity=severity,
        environment=failure.environment,
        model=model,
        started_at=failure.started_at,
        detected_at=failure.finished_at,
        opening_text=f"{model.name} v{version} failed to deploy to {failure.environment} ({step}).",
        source_label=source_label,
    )
    services.incident_set_deployment_role(incident=incident, deployment=failure, role=role, actor=actor, at=at)
    return incident


def _older_stories(teams, people, models, versions, deployments) -> None:
    title = "Game day: feature store outage drill for fraud scoring"
    if not _story_exists(teams["ml-platform"], title):
        incident = services.incident_open(
            team=teams["ml-platform"],
            title=title,
            kind=IncidentKind.GAME_DAY,
            severity=Severity.SEV4,
            environment="staging",
            started_at=at(-21, 1),
            detected_at=at(-21, 1.05),
            summary="Planned drill: the online feature store was made unavailable in staging for 20 minutes.",
            impact="None outside staging. fraud-detector fell back to defaults as designed, after 4 minutes.",
            tags=["game-day", "feature-store"],
            created_by=people["demo"],
        )
        services.incident_acknowledge(incident=incident, actor=people["demo"], at=at(-21, 1.1))
        services.incident_transition(incident=incident, to_status="resolved", actor=people["demo"], at=at(-21, 1.5))
        postmortem_mark_not_needed(
            incident=incident,
            actor=people["demo"],
            reason="Planned drill: the findings went into the game-day report and its action items.",
        )
        services.incident_transition(incident=incident, to_status="closed", actor=people["demo"], at=at(-19, 2))

    title = "fraud-detector v6 staging deploy failed: feature schema mismatch"
    if not _story_exists(teams["fraud"], title):
        incident = _failed_deployment_incident(
            title=title,
            failure=deployments[("fraud-detector", "6", "staging", 1)],
            severity=Severity.SEV3,
            source_label="GitHub Actions · fraud-ci",
            role=LinkRole.CAUSE,
            actor=people["tomas"],
            at=at(-30, 2),
        )
        services.incident_transition(incident=incident, to_status="resolved", actor=people["tomas"], at=at(-29, 4))
        postmortem_mark_not_needed(
            incident=incident,
            actor=people["lucia"],
            reason="Caught in staging with no user impact; the schema check it lacked is tracked in the fraud backlog.",
        )
        services.incident_transition(incident=incident, to_status="closed", actor=people["lucia"], at=at(-26, 0))

    title = "Chargeback labels joined on the wrong key for v7 training"
    if not _story_exists(teams["fraud"], title):
        incident = services.incident_open(
            team=teams["fraud"],
            title=title,
            kind=IncidentKind.MODEL_REGRESSION,
            severity=Severity.SEV2,
            environment="production",
            model=models["fraud-detector"],
            started_at=at(-24, 1),
            detected_at=at(-22, 3),
            summary="A label join used the authorisation id instead of the settlement id; 2% of labels were wrong.",
            restricted=True,
            tags=["labels"],
            created_by=people["lucia"],
        )
        services.incident_set_model_version_role(
            incident=incident,
            model_version=versions[("fraud-detector", "7")],
            role=LinkRole.CAUSE,
            actor=people["lucia"],
            at=at(-22, 4),
        )
        services.incident_transition(incident=incident, to_status="resolved", actor=people["lucia"], at=at(-18, 3))

    title = "home-feed-ranker v26 offline evaluation regression in staging"
    if not _story_exists(teams["recsys"], title):
        incident = _failed_deployment_incident(
            title=title,
            failure=deployments[("home-feed-ranker", "26", "staging", 1)],
            severity=Severity.SEV4,
            source_label="GitLab CI · recsys/ranker",
            role=LinkRole.SUSPECT,
            actor=people["oliver"],
            at=at(-12, 3),
        )
        services.incident_transition(
            incident=incident,
            to_status="mitigated",
            at=at(-10, 4.2),
            source_label="GitLab CI · recsys/ranker",
            note="home-feed-ranker v26 deployed successfully to staging: mitigated.",
        )


def seed() -> None:
    """Create the demo registry, deployments and incidents when missing; never change what exists."""
    teams = {team.slug: team for team in Team.objects.filter(slug__in=["ml-platform", "fraud", "recsys"])}
    if len(teams) < 3:
        return
    people = _people()
    models, versions = _seed_registry(teams)
    deployments = _seed_deployments(models, versions)
    _seed_aliases(models, versions)
    for story in (_rollback_story, _embedding_story, _churn_story, _ranker_story, _older_stories):
        story(teams, people, models, versions, deployments)
