"""Demo history for insights: eight weeks a lead recognises. Safe to run again.

- churn-predictor (ML Platform) gets better: in the first four weeks one
  production deployment a week, every other one failing and an incident that
  takes a day to restore; then three deployments a week, none failing, commits
  reaching production within hours.
- fraud-detector (Fraud) gets worse: clean weekly releases at first, then a
  failed deployment and an incident every week, the same contributing factors
  coming back, action items left overdue.
- ML Platform is over its operations budget (4 people: 80 hours a week): the
  embedding-service serving incidents keep its people busy for 100 hours a week.

The churn and fraud incidents get the post-mortems their teams wrote (``demo.reviews``): the churn ones
published two days after resolving, the fraud ones still drafts.

Every time is relative to the demo's anchor, so a second run finds everything in place.
"""

import hashlib
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model

from demo.chapters.incidents import ANCHOR
from demo.reviews import INSIGHTS_REVIEWS, review_write, reviews_rewrite_bare
from incidents.models import (
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentDeployment,
    IncidentKind,
    IncidentModelVersion,
    IncidentStatus,
    LinkRole,
    ModelVersion,
    RegisteredModel,
    Severity,
)

User = get_user_model()
MARKER = "churn-predictor scores stale after a failed deployment (week 1)"


def week(number: int, days: float = 0, hours: float = 0) -> datetime:
    """Return a time in the ``number``-th week before the anchor's week (-8 is eight weeks before)."""
    return ANCHOR + timedelta(weeks=number, days=days, hours=hours)


def _version_at(model: RegisteredModel, moment: datetime) -> ModelVersion:
    """Return the newest version registered by ``moment`` (the oldest when none was yet)."""
    versions = list(model.versions.order_by("created_at"))
    return next((v for v in reversed(versions) if v.created_at <= moment), versions[0])


def _deploy(model: RegisteredModel, key: str, when: datetime, status: str, lead_hours: float) -> Deployment:
    external_id = f"demo-insights-{model.name}-{key}"
    digest = hashlib.sha1(external_id.encode(), usedforsecurity=False).hexdigest()
    version = _version_at(model, when)
    deployment, _ = Deployment.objects.get_or_create(
        team=model.team,
        external_id=external_id,
        defaults={
            "model_version": version,
            "environment": "production",
            "status": status,
            "pipeline": f"deploy-{model.name}",
            "run_id": str(int(digest[:7], 16)),
            "title": f"Deploy {model.name} v{version.version} to production",
            "sha": digest,
            "ref": "refs/heads/main",
            "run_url": f"https://ci.example.com/{model.name}/runs/{digest[:8]}",
            "failing_step": "canary-analysis: error rate above budget" if status == DeploymentStatus.FAILED else "",
            "started_at": when - timedelta(minutes=12),
            "finished_at": when,
            "committed_at": when - timedelta(hours=lead_hours),
            "last_event_at": when,
        },
    )
    return deployment


def _incident(team, model, title: str, *, kind: str, severity: str, owner, start: datetime, hours: dict) -> Incident:
    """Create a resolved incident with its milestones (hours after ``start``); return the existing one if any."""
    incident, _ = Incident.objects.get_or_create(
        team=team,
        title=title,
        defaults={
            "kind": kind,
            "severity": severity,
            "status": IncidentStatus.RESOLVED,
            "owner": owner,
            "environment": "production",
            "model": model,
            "started_at": start,
            "detected_at": start + timedelta(hours=hours["detect"]),
            "acknowledged_at": start + timedelta(hours=hours["acknowledge"]),
            "mitigated_at": start + timedelta(hours=hours["mitigate"]),
            "resolved_at": start + timedelta(hours=hours["resolve"]),
            "summary": "Part of the demo's eight-week history: see Insights.",
        },
    )
    return incident


def _review(incident: Incident) -> None:
    """Write the incident's post-mortem as its team did (see demo.reviews), unless it has one."""
    from postmortems.models import Postmortem

    review = INSIGHTS_REVIEWS.get(incident.title)
    if review is not None and not Postmortem.objects.filter(incident=incident).exists():
        review_write(incident=incident, review=review)


def _action(incident: Incident, title: str, *, owner, kind: str, due: date, done_at: datetime | None) -> None:
    from postmortems.models import ActionItem, ActionItemStatus

    ActionItem.objects.get_or_create(
        incident=incident,
        title=title,
        defaults={
            "team": incident.team,
            "owner": owner,
            "kind": kind,
            "due_date": due,
            "status": ActionItemStatus.DONE if done_at else ActionItemStatus.OPEN,
            "verification": "Checked in the next weekly review.",
            "created_at": incident.resolved_at,
            "updated_at": done_at or incident.resolved_at,
            "resolved_at": done_at,
        },
    )


def _churn_improves(models, people) -> None:
    churn = models["churn-predictor"]
    for number in range(1, 9):
        weeks_before = number - 9  # weeks -8 .. -1
        if number <= 4:
            # One release a week, every other one failing; a slow restore and a careful review.
            failed = number % 2 == 1
            first = _deploy(churn, f"w{number}-1", week(weeks_before, 1, 10), "failed" if failed else "succeeded", 120)
            if failed:
                _deploy(churn, f"w{number}-2", week(weeks_before, 2, 11), "succeeded", 140)
                incident = _incident(
                    churn.team,
                    churn,
                    f"churn-predictor scores stale after a failed deployment (week {number})",
                    kind=IncidentKind.FAILED_DEPLOYMENT,
                    severity=Severity.SEV2,
                    owner=people["amara"],
                    start=week(weeks_before, 1, 10),
                    hours={"detect": 0.5, "acknowledge": 1, "mitigate": 25, "resolve": 30},
                )
                IncidentDeployment.objects.get_or_create(
                    incident=incident, deployment=first, defaults={"role": LinkRole.CAUSE}
                )
                _review(incident)
                _action(
                    incident,
                    f"Add a canary step to the churn release (week {number})",
                    owner=people["kenji"],
                    kind="canary_shadow",
                    due=(incident.resolved_at + timedelta(days=7)).date(),
                    done_at=incident.resolved_at + timedelta(days=5),
                )
        else:
            # Small changes, three times a week, reaching production within hours.
            for index, day in enumerate((0, 2, 4), start=1):
                _deploy(churn, f"w{number}-{index}", week(weeks_before, day, 14), "succeeded", 6 + index)


def _fraud_worsens(models, people) -> None:
    fraud = models["fraud-detector"]
    for number in range(3, 9):
        weeks_before = number - 9  # weeks -6 .. -1
        _deploy(fraud, f"w{number}-1", week(weeks_before, 0, 15), "succeeded", 20)
        if number <= 5:
            _deploy(fraud, f"w{number}-2", week(weeks_before, 3, 15), "succeeded", 22)
            continue
        failure = _deploy(fraud, f"w{number}-2", week(weeks_before, 3, 15), "failed", 30)
        restore = 3 + (number - 6) * 4  # restores slow down: 3, 7, 11 hours
        incident = _incident(
            fraud.team,
            fraud,
            f"fraud-detector precision dropped after release (week {number})",
            kind=IncidentKind.MODEL_REGRESSION,
            severity=Severity.SEV1 if number == 8 else Severity.SEV2,
            owner=people["lucia"],
            start=week(weeks_before, 3, 15),
            hours={"detect": 1.5, "acknowledge": 2, "mitigate": restore, "resolve": restore + 20},
        )
        IncidentDeployment.objects.get_or_create(
            incident=incident, deployment=failure, defaults={"role": LinkRole.CAUSE}
        )
        IncidentModelVersion.objects.get_or_create(
            incident=incident, model_version=failure.model_version, defaults={"role": LinkRole.SUSPECT}
        )
        _review(incident)  # reviews pile up as drafts
        _action(
            incident,
            f"Compare training and serving features in CI (week {number})",
            owner=people["priya"],
            kind="data_validation",
            due=(incident.resolved_at + timedelta(days=3)).date(),
            done_at=None,
        )


def _platform_toil(models, people) -> None:
    embedding = models["embedding-service"]
    owners = [people["kenji"], people["sofia"], people["amara"]]
    for number in range(4, 8):
        weeks_before = number - 9  # weeks -5 .. -2
        for index in range(2):
            _incident(
                embedding.team,
                embedding,
                f"embedding-service GPU pool saturated (week {number}, {'Monday' if index == 0 else 'Thursday'})",
                kind=IncidentKind.SERVING,
                severity=Severity.SEV2,
                owner=owners[(number + index) % len(owners)],
                start=week(weeks_before, 3 * index, 8),
                hours={"detect": 0.3, "acknowledge": 0.5, "mitigate": 6, "resolve": 50.5},
            )


def seed() -> None:
    """Create the eight weeks of insights history when missing; never change what exists but bare reviews."""
    reviews_rewrite_bare()
    models = {model.name: model for model in RegisteredModel.objects.select_related("team")}
    people = {user.username: user for user in User.objects.all()}
    needed = {"churn-predictor", "fraud-detector", "embedding-service"}
    if not needed <= set(models) or Incident.objects.filter(title=MARKER).exists():
        return
    _churn_improves(models, people)
    _fraud_worsens(models, people)
    _platform_toil(models, people)
