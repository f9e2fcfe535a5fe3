"""The last two weeks, so every demo person's weekly digest has a week to tell. Safe to run again.

The rest of the demo story is pinned to its own dates; a digest reads the
seven days before it is sent. This adds, relative to the day the demo is
seeded, the deployments two teams made over the last two weeks (a few failed)
and one incident of this week, opened by a person and mitigated an hour later.
Nothing is added once the incident exists.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import Deployment, DeploymentStatus, Incident, IncidentKind, ModelVersion, Severity
from incidents.services.incidents import incident_mitigate, incident_open
from teams.models import Team

User = get_user_model()

WEEK_INCIDENT_TITLE = "Embedding refresh wrote empty vectors for an hour"
# (team, days before the seeding, failed) per deployment of the team's newest model version.
DEPLOYMENTS = [
    ("ml-platform", 1.2, False), ("ml-platform", 2.1, True), ("ml-platform", 2.4, False), ("ml-platform", 4.5, False),
    ("ml-platform", 6.3, False), ("ml-platform", 8.2, False), ("ml-platform", 9.6, True), ("ml-platform", 12.0, False),
    ("fraud", 0.8, False), ("fraud", 3.3, False), ("fraud", 5.1, True), ("fraud", 10.4, False), ("fraud", 11.9, False),
]  # fmt: skip


def seed() -> None:
    """Add the last two weeks' deployments and this week's incident when the incident is missing."""
    if Incident.objects.filter(title=WEEK_INCIDENT_TITLE).exists():
        return
    teams = {team.slug: team for team in Team.objects.filter(slug__in=["ml-platform", "fraud"])}
    reporter = User.objects.filter(username="amara").first()
    if len(teams) < 2 or reporter is None:
        return
    now = timezone.now().replace(second=0, microsecond=0)
    for index, (slug, days, failed) in enumerate(DEPLOYMENTS):
        version = (
            ModelVersion.objects.filter(model__team=teams[slug]).select_related("model").order_by("-created_at").first()
        )
        if version is None:
            continue
        finished = now - timedelta(days=days)
        Deployment.objects.get_or_create(
            team=teams[slug],
            external_id=f"demo-week-{slug}-{index}",
            defaults={
                "model_version": version,
                "environment": "production",
                "status": DeploymentStatus.FAILED if failed else DeploymentStatus.SUCCEEDED,
                "pipeline": f"deploy-{version.model.name}",
                "title": f"Deploy {version.model.name} v{version.version} to production",
                "failing_step": "smoke-test" if failed else "",
                "started_at": finished - timedelta(minutes=9),
                "finished_at": finished,
                "last_event_at": finished,
            },
        )
    detected = now - timedelta(days=2, hours=3)
    model = ModelVersion.objects.filter(model__team=teams["ml-platform"], model__name="embedding-service").first()
    incident = incident_open(
        team=teams["ml-platform"],
        title=WEEK_INCIDENT_TITLE,
        kind=IncidentKind.DATA_PIPELINE,
        severity=Severity.SEV3,
        environment="production",
        model=model.model if model else None,
        started_at=detected - timedelta(minutes=25),
        detected_at=detected,
        owner=reporter,
        declared_at=detected + timedelta(minutes=10),
        created_by=reporter,
        summary="The nightly refresh published a partition of all-zero vectors; similar-item results went blank.",
    )
    incident_mitigate(
        incident=incident, actor=reporter, at=detected + timedelta(hours=1), note="Previous partition restored."
    )
