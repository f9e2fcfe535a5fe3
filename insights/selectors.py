"""Reads behind every insights chart: each series is a few grouped queries, computed in the database.

Every function takes the reader and an ``InsightsFilters`` and returns plain
JSON-ready data (hours as floats, rates as fractions), the same for the page,
its CSV downloads and the API.

Restricted incidents count only for those who may see them: each query that
touches incidents (or what hangs off them: links, post-mortems, factors,
action items) goes through ``incident_visibility_q`` or ``action_items_visible_to``.
Game days (drill incidents) stay out of DORA and the MTTx figures and are
counted by ``game_day_series`` alone.
"""

from collections import Counter
from datetime import date, datetime

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone

from incidents.models import (
    AliasMove,
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentDeployment,
    IncidentKind,
    IncidentModelVersion,
    LinkRole,
    ModelVersion,
    RegisteredModel,
    Severity,
)
from incidents.selectors.incidents import incident_visibility_q
from insights.filters import InsightsFilters
from insights.sql import Counted, HoursBetween, Percentile, PercentileCont, grouped_figures
from postmortems.models import ActionItem, ActionItemStatus, ContributingFactor, FactorCategory, PostmortemStatus
from postmortems.models.actions import UNRESOLVED_STATUSES
from postmortems.selectors.actions import action_items_visible_to
from teams.models import Team, operations_budget_default

# Action items that run the system rather than change it: they count as operational load.
OPERATIONAL_ACTION_KINDS = ("mitigate", "process", "rollback_runbook", "retrain_backfill")

# DORA performance bands, best first: (band, lowest deployments per week) and (band, highest value).
# Cut points follow the State of DevOps reports, rounded so that each band is strictly better than the next.
BANDS = ("elite", "high", "medium", "low")
DEPLOY_FREQUENCY_BANDS = (("elite", 7.0), ("high", 1.0), ("medium", 12 / 52))
CHANGE_FAILURE_RATE_BANDS = (("elite", 0.05), ("high", 0.10), ("medium", 0.15))
RESTORE_HOURS_BANDS = (("elite", 1.0), ("high", 24.0), ("medium", 168.0))
LEAD_TIME_HOURS_BANDS = (("elite", 24.0), ("high", 168.0), ("medium", 720.0))

MILESTONES = {
    # name: (end, start), as incident_durations measures them
    "detect": ("detected_at", "started_at"),
    "acknowledge": ("acknowledged_at", "detected_at"),
    "mitigate": ("mitigated_at", "started_at"),
    "resolve": ("resolved_at", "started_at"),
}


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _week(value: datetime | date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _weekly(filters: InsightsFilters, rows: dict[date, dict], empty: dict) -> list[dict]:
    """Return one row per week of the period, oldest first, with ``empty`` where nothing happened."""
    return [{"week": week.isoformat(), **rows.get(week, empty)} for week in filters.week_starts()]


def band_at_least(value: float | None, bands: tuple) -> str | None:
    """Return the band of a figure where more is better (deployment frequency)."""
    if value is None:
        return None
    return next((band for band, lowest in bands if value >= lowest), "low")


def band_at_most(value: float | None, bands: tuple) -> str | None:
    """Return the band of a figure where less is better (failure rate, hours)."""
    if value is None:
        return None
    return next((band for band, highest in bands if value <= highest), "low")


def dora_bands(row: dict) -> dict:
    """Return the band of each key a row measures, and overall the weakest of them."""
    bands = {
        "deploy_frequency": band_at_least(
            row["deploys_per_week"] if row["deployments"] else None, DEPLOY_FREQUENCY_BANDS
        ),
        "change_failure_rate": band_at_most(row["change_failure_rate"], CHANGE_FAILURE_RATE_BANDS),
        "time_to_restore": band_at_most(row["restore_median_hours"], RESTORE_HOURS_BANDS),
        "lead_time": band_at_most(row["lead_time_median_hours"], LEAD_TIME_HOURS_BANDS),
    }
    measured = [band for band in bands.values() if band is not None]
    bands["overall"] = max(measured, key=BANDS.index) if measured else None
    return bands


# ---------------------------------------------------------------- base querysets


# Where each kind of row finds the view's team, model and environment.
INCIDENT_PATHS = {"team": "team", "model": "model", "environment": "environment"}
DEPLOYMENT_PATHS = {"team": "team", "model": "model_version__model", "environment": "environment"}
ITEM_PATHS = {"team": "team", "model": "incident__model", "environment": "incident__environment"}


def _in_view(rows: QuerySet, filters: InsightsFilters, *, paths: dict[str, str], environment: bool = True) -> QuerySet:
    """Return the rows of the view's team, model and (unless ``environment`` is False) environment."""
    chosen = {"team": filters.team, "model": filters.model, "environment": filters.environment if environment else ""}
    return rows.filter(**{paths[name]: value for name, value in chosen.items() if value})


def _visible_incidents(*, user, filters: InsightsFilters, environment: str | None = None) -> QuerySet[Incident]:
    """Return the incidents the user sees that the view selects, detected in its period (drills included)."""
    incidents = Incident.objects.filter(
        incident_visibility_q(user=user), detected_at__gte=filters.since, detected_at__lt=filters.until
    )
    incidents = _in_view(incidents, filters, paths=INCIDENT_PATHS, environment=environment is None)
    if environment:
        incidents = incidents.filter(environment=environment)
    return incidents.order_by()


def _dora_deployments(*, user, filters: InsightsFilters) -> QuerySet[Deployment]:
    """Return the finished deployments to the DORA environment in the period, each marked as a change failure or not.

    A change failure is a failed deployment, or one linked as the cause of an
    incident the user sees that is not a drill.
    """
    # Uncorrelated, so PostgreSQL hashes the caused deployments once instead of probing per deployment.
    caused = (
        IncidentDeployment.objects.filter(incident_visibility_q(user=user, prefix="incident__"), role=LinkRole.CAUSE)
        .exclude(incident__kind=IncidentKind.GAME_DAY)
        .values("deployment_id")
    )
    deployments = Deployment.objects.filter(
        status__in=(DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED),
        environment=filters.dora_environment,
        last_event_at__gte=filters.since,
        last_event_at__lt=filters.until,
    )
    deployments = _in_view(deployments, filters, paths=DEPLOYMENT_PATHS, environment=False)
    return deployments.alias(caused_incident=Q(id__in=caused)).order_by()


CHANGE_FAILURE = Q(status=DeploymentStatus.FAILED) | Q(caused_incident=True)
LEAD_TIME = HoursBetween(F("last_event_at"), F("committed_at"))
SUCCEEDED_WITH_COMMIT = Q(status=DeploymentStatus.SUCCEEDED, committed_at__isnull=False)
RESTORED_AT = Coalesce(F("mitigated_at"), F("resolved_at"))


DEPLOYMENT_FIGURES = {
    "deployments": Counted(),
    "change_failures": Counted("failure", true=True),
    "lead_time_count": Counted("lead_time"),
    "lead_time_median": Percentile("lead_time", 0.5),
    "lead_time_p90": Percentile("lead_time", 0.9),
}
WEEK_FIGURES = {"deployments": Counted(), "change_failures": Counted("failure", true=True)}
RESTORE_FIGURES = {
    "restore_count": Counted("restore"),
    "restore_median": Percentile("restore", 0.5),
    "restore_p90": Percentile("restore", 0.9),
}


def _dora_row(filters: InsightsFilters, deployed: dict | None, restored: dict | None) -> dict:
    deployed = deployed or {}
    restored = restored or {}
    deployments = deployed.get("deployments", 0)
    failures = deployed.get("change_failures", 0)
    row = {
        "deployments": deployments,
        "deploys_per_week": round(deployments / filters.weeks, 2),
        "change_failures": failures,
        "change_failure_rate": _rate(failures, deployments),
        "restore_count": restored.get("restore_count", 0),
        "restore_median_hours": _hours(restored.get("restore_median")),
        "restore_p90_hours": _hours(restored.get("restore_p90")),
        "lead_time_count": deployed.get("lead_time_count", 0),
        "lead_time_median_hours": _hours(deployed.get("lead_time_median")),
        "lead_time_p90_hours": _hours(deployed.get("lead_time_p90")),
    }
    row["bands"] = dora_bands(row)
    return row


# ---------------------------------------------------------------- series


def dora_series(*, user, filters: InsightsFilters) -> dict:
    """Return DORA's four keys per team and per model over the period, and deployments per week.

    Deployment frequency and change failure rate count finished deployments
    (succeeded or failed) to the DORA environment; time to restore runs from an
    incident's start to its mitigation (the next good deployment mitigates a
    pipeline incident), else its resolution; lead time from the commit to the
    successful deployment, where the sender told the commit's time.

    Two statements: the deployments and the incidents are each read once and
    grouped per team, per model, overall and per week (``grouped_figures``).
    """
    deployed = grouped_figures(
        _dora_deployments(user=user, filters=filters).values(
            "team_id",
            model_id=F("model_version__model_id"),
            week=TruncWeek("last_event_at"),
            failure=ExpressionWrapper(CHANGE_FAILURE, output_field=BooleanField()),
            lead_time=Case(When(SUCCEEDED_WITH_COMMIT, then=LEAD_TIME)),
        ),
        groupings={"team": ("team_id",), "model": ("model_id",), "overall": (), "model_week": ("model_id", "week")},
        figures={
            "team": DEPLOYMENT_FIGURES,
            "model": DEPLOYMENT_FIGURES,
            "overall": DEPLOYMENT_FIGURES,
            "model_week": WEEK_FIGURES,
        },
    )
    restored = grouped_figures(
        _visible_incidents(user=user, filters=filters, environment=filters.dora_environment)
        .excluding_drills()
        .values("team_id", "model_id", restore=HoursBetween(RESTORED_AT, F("started_at"))),
        groupings={"team": ("team_id",), "model": ("model_id",), "overall": ()},
        figures=dict.fromkeys(("team", "model", "overall"), RESTORE_FIGURES),
    )
    # Rows per team, model and week: at most a few thousand groups, never one per deployment.
    team_deployed = {row.pop("team_id"): row for row in deployed["team"]}
    team_restored = {row.pop("team_id"): row for row in restored["team"]}
    model_deployed = {row.pop("model_id"): row for row in deployed["model"] if row["model_id"] is not None}
    model_restored = {row.pop("model_id"): row for row in restored["model"] if row["model_id"] is not None}

    teams = [
        {"id": team.id, "name": team.name, "slug": team.slug}
        | _dora_row(filters, team_deployed.get(team.id), team_restored.get(team.id))
        for team in Team.objects.filter(id__in=set(team_deployed) | set(team_restored)).order_by("name")
    ]
    models = [
        {"id": model["id"], "name": model["name"], "team": model["team__name"]}
        | _dora_row(filters, model_deployed.get(model["id"]), model_restored.get(model["id"]))
        for model in RegisteredModel.objects.filter(id__in=set(model_deployed) | set(model_restored))
        .order_by("name")
        .values("id", "name", "team__name")
    ]
    model_weeks: dict[int, dict[date, dict]] = {}
    week_counts: dict[date, Counter] = {}
    for row in deployed["model_week"]:  # deployments without a model are the group of model None
        week = _week(row["week"])
        week_counts.setdefault(week, Counter()).update(
            deployments=row["deployments"], change_failures=row["change_failures"]
        )
        if row["model_id"] is not None:
            model_weeks.setdefault(row["model_id"], {})[week] = _week_row(row)
    for model in models:
        model["weeks"] = _weekly(filters, model_weeks.get(model["id"], {}), EMPTY_WEEK)
    weeks = {week: _week_row(counts) for week, counts in week_counts.items()}
    (overall_deployed,) = deployed["overall"]
    (overall_restored,) = restored["overall"]
    return {
        "environment": filters.dora_environment,
        "overall": _dora_row(filters, overall_deployed, overall_restored),
        "teams": teams,
        "models": models,
        "weeks": _weekly(filters, weeks, EMPTY_WEEK),
    }


def _week_row(row: dict) -> dict:
    return {
        "deployments": row["deployments"],
        "change_failures": row["change_failures"],
        "change_failure_rate": _rate(row["change_failures"], row["deployments"]),
    }


EMPTY_WEEK = {"deployments": 0, "change_failures": 0, "change_failure_rate": None}


def delivery_weekly_series(*, user, filters: InsightsFilters) -> dict:
    """Return deployments and change failures per week, and over the period: the small chart of a team or model.

    One grouped query; counted as ``dora_series`` counts them.
    """
    rows = {
        _week(row.pop("week")): row | {"change_failure_rate": _rate(row["change_failures"], row["deployments"])}
        for row in _dora_deployments(user=user, filters=filters)
        .annotate(week=TruncWeek("last_event_at"))
        .values("week")
        .annotate(deployments=Count("id"), change_failures=Count("id", filter=CHANGE_FAILURE))
    }
    deployments = sum(row["deployments"] for row in rows.values())  # a dozen weekly rows
    failures = sum(row["change_failures"] for row in rows.values())
    overall = {
        "deployments": deployments,
        "deploys_per_week": round(deployments / filters.weeks, 2),
        "change_failures": failures,
        "change_failure_rate": _rate(failures, deployments),
    }
    overall["bands"] = {
        "deploy_frequency": band_at_least(overall["deploys_per_week"] if deployments else None, DEPLOY_FREQUENCY_BANDS),
        "change_failure_rate": band_at_most(overall["change_failure_rate"], CHANGE_FAILURE_RATE_BANDS),
    }
    empty = {"deployments": 0, "change_failures": 0, "change_failure_rate": None}
    return {"environment": filters.dora_environment, "overall": overall, "weeks": _weekly(filters, rows, empty)}


SEVERITY_COLUMNS = {severity.lower(): severity for severity in Severity.values}
INCIDENT_FIGURES = {
    "total": Counted(),
    **{name: Counted(f"is_{name}", true=True) for name in SEVERITY_COLUMNS},
    **{f"{name}_median": Percentile(name, 0.5) for name in MILESTONES},
    **{f"{name}_p90": Percentile(name, 0.9) for name in MILESTONES},
}


def _incident_row(row: dict) -> dict:
    return {
        key: _hours(value) if key.endswith(("_median", "_p90")) else value
        for key, value in row.items()
        if key != "week"
    }


def incident_series(*, user, filters: InsightsFilters) -> dict:
    """Return incidents per week by severity and time to detect, acknowledge, mitigate and resolve (hours).

    Incidents count in the week they were detected; drills are left out. One
    statement reads them once for the weeks and the whole period (``grouped_figures``).
    """
    incidents = _visible_incidents(user=user, filters=filters).excluding_drills()
    grouped = grouped_figures(
        incidents.values(
            week=TruncWeek("detected_at"),
            **{
                f"is_{name}": ExpressionWrapper(Q(severity=severity), output_field=BooleanField())
                for name, severity in SEVERITY_COLUMNS.items()
            },
            **{name: HoursBetween(F(end), F(start)) for name, (end, start) in MILESTONES.items()},
        ),
        groupings={"week": ("week",), "overall": ()},
        figures={"week": INCIDENT_FIGURES, "overall": INCIDENT_FIGURES},
    )
    weekly = {_week(row["week"]): _incident_row(row) for row in grouped["week"]}
    (overall,) = grouped["overall"]
    empty = {name: (0 if isinstance(figure, Counted) else None) for name, figure in INCIDENT_FIGURES.items()}
    return {"overall": _incident_row(overall), "weeks": _weekly(filters, weekly, empty)}


def version_series(*, user, filters: InsightsFilters) -> dict:
    """Return, per model version in version order, its deployments, failed deployments and incidents in the period.

    An incident counts once for a version it is linked to, directly or through a
    linked deployment of that version. A version whose champion alias was ever
    rolled back away from it is marked ``rolled_back``. Each count is one grouped
    query over deployments or links, so versions cost nothing per row.
    """
    deployments = Deployment.objects.filter(
        model_version__isnull=False, last_event_at__gte=filters.since, last_event_at__lt=filters.until
    )
    deployments = _in_view(deployments, filters, paths=DEPLOYMENT_PATHS | {"team": "model_version__model__team"})
    deployed = {
        row["model_version_id"]: row
        for row in deployments.order_by()
        .values("model_version_id")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(status=DeploymentStatus.FAILED)))
    }
    incidents = _visible_incidents(user=user, filters=filters).excluding_drills().values("id")
    linked: dict[int, int] = {}
    directly = (
        IncidentModelVersion.objects.filter(incident__in=incidents)
        .order_by()
        .values("model_version_id")
        .annotate(total=Count("incident_id", distinct=True))
    )
    # Through a deployment, unless also linked directly to the same version: each incident once.
    through_deployments = (
        IncidentDeployment.objects.filter(incident__in=incidents, deployment__model_version__isnull=False)
        .exclude(
            Exists(
                IncidentModelVersion.objects.filter(
                    incident=OuterRef("incident"), model_version=OuterRef("deployment__model_version")
                )
            )
        )
        .order_by()
        .values("deployment__model_version_id")
        .annotate(total=Count("incident_id", distinct=True))
    )
    for row in directly:
        linked[row["model_version_id"]] = linked.get(row["model_version_id"], 0) + row["total"]
    for row in through_deployments:
        version_id = row["deployment__model_version_id"]
        linked[version_id] = linked.get(version_id, 0) + row["total"]

    versions = ModelVersion.objects.filter(id__in=set(deployed) | set(linked))
    if filters.model:
        versions = versions.filter(model=filters.model)
    if filters.team:
        versions = versions.filter(model__team=filters.team)
    rows = (
        versions.annotate(
            rolled_back=Exists(AliasMove.objects.filter(from_version=OuterRef("pk"), kind=AliasMove.Kind.ROLLBACK))
        )
        .order_by("model__name", F("version_number").asc(nulls_last=True), "version")
        .values("id", "model_id", "model__name", "version", "rolled_back")
    )
    return {
        "versions": [
            {
                "id": row["id"],
                "model_id": row["model_id"],
                "model": row["model__name"],
                "version": row["version"],
                "label": f"{row['model__name']} v{row['version']}",
                "deployments": deployed.get(row["id"], {}).get("total", 0),
                "failed_deployments": deployed.get(row["id"], {}).get("failed", 0),
                "incidents": linked.get(row["id"], 0),
                "rolled_back": row["rolled_back"],
            }
            for row in rows
        ]
    }


def factor_series(*, user, filters: InsightsFilters) -> dict:
    """Return contributing factors per category and week of their incident's detection (drills left out)."""

    incidents = _visible_incidents(user=user, filters=filters).excluding_drills()
    rows = (
        ContributingFactor.objects.filter(postmortem__incident__in=incidents.values("id"))
        .annotate(week=TruncWeek("postmortem__incident__detected_at"))
        .values("week", "category")
        .annotate(total=Count("id"))
        .order_by()
    )
    by_week: dict[date, dict] = {}
    totals: dict[str, int] = {}
    for row in rows:  # one row per week and category, not per factor
        by_week.setdefault(_week(row["week"]), {})[row["category"]] = row["total"]
        totals[row["category"]] = totals.get(row["category"], 0) + row["total"]
    categories = [
        {"key": category.value, "label": category.label, "total": totals[category.value]}
        for category in FactorCategory
        if category.value in totals
    ]
    empty = dict.fromkeys(totals, 0)
    weeks = [{"week": week.isoformat(), **empty, **by_week.get(week, {})} for week in filters.week_starts()]
    return {"categories": categories, "weeks": weeks}


def follow_through_series(*, user, filters: InsightsFilters) -> dict:
    """Return action items opened, done and done on time per week; overdue items; post-mortem timeliness.

    Post-mortem figures are about the incidents resolved in the period (drills
    left out): how many got a post-mortem, how many were published, and the
    days from resolution to publication.
    """

    items = action_items_visible_to(user=user).order_by()
    items = _in_view(items, filters, paths=ITEM_PATHS)
    opened = items.filter(created_at__gte=filters.since, created_at__lt=filters.until)
    done = items.filter(status=ActionItemStatus.DONE, resolved_at__gte=filters.since, resolved_at__lt=filters.until)
    # Done on time: resolved on or before the due date, as ActionItem.done_on_time reads it.
    done = done.annotate(resolved_date=TruncDate("resolved_at"))
    on_time = Q(resolved_date__lte=F("due_date"))

    weekly: dict[date, dict] = {}
    for row in opened.annotate(week=TruncWeek("created_at")).values("week").annotate(total=Count("id")):
        weekly.setdefault(_week(row["week"]), {})["opened"] = row["total"]
    for row in (
        done.annotate(week=TruncWeek("resolved_at"))
        .values("week")
        .annotate(total=Count("id"), on_time=Count("id", filter=on_time))
    ):
        weekly.setdefault(_week(row["week"]), {}).update(done=row["total"], done_on_time=row["on_time"])
    empty = {"opened": 0, "done": 0, "done_on_time": 0}
    weeks = [{"week": week.isoformat(), **empty, **weekly.get(week, {})} for week in filters.week_starts()]

    # Every opened or done item falls in one of the period's weeks: the totals are the weeks' sums.
    totals = {key: sum(week[key] for week in weeks) for key in empty}
    overdue_on = min(filters.end, timezone.localdate())
    overdue = items.filter(status__in=UNRESOLVED_STATUSES, due_date__lt=overdue_on).count()

    resolved = (
        Incident.objects.filter(
            incident_visibility_q(user=user), resolved_at__gte=filters.since, resolved_at__lt=filters.until
        )
        .excluding_drills()
        .order_by()
    )
    resolved = _in_view(resolved, filters, paths=INCIDENT_PATHS)
    published = Q(postmortem__status=PostmortemStatus.PUBLISHED)
    days_to_publish = HoursBetween(F("postmortem__published_at"), F("resolved_at")) / 24.0
    postmortems = resolved.aggregate(
        resolved_incidents=Count("id"),
        with_postmortem=Count("postmortem"),
        published=Count("postmortem", filter=published),
        publish_median=PercentileCont(days_to_publish, 0.5, filter=published),
        publish_p90=PercentileCont(days_to_publish, 0.9, filter=published),
    )
    return {
        "weeks": weeks,
        "overall": {
            "opened": totals["opened"],
            "done": totals["done"],
            "done_on_time": totals["done_on_time"],
            "done_on_time_rate": _rate(totals["done_on_time"], totals["done"]),
            "overdue": overdue,
            "resolved_incidents": postmortems["resolved_incidents"],
            "with_postmortem": postmortems["with_postmortem"],
            "postmortem_rate": _rate(postmortems["with_postmortem"], postmortems["resolved_incidents"]),
            "published": postmortems["published"],
            "days_to_publish_median": _hours(postmortems["publish_median"]),
            "days_to_publish_p90": _hours(postmortems["publish_p90"]),
        },
    }


def operational_load_series(*, user, filters: InsightsFilters) -> dict:
    """Return each team's operational hours per week against its budget.

    Hours are those of resolved incidents with an owner, from acknowledgement
    to resolution, counted in the week of acknowledgement,
    plus a fixed estimate per operational action item done that week. The budget
    is the team's own (``Team.operations_budget_hours``, set by its leads), else
    its members times the working week times the operations share (settings).
    Drills are planned work and stay out.
    """

    incidents = (
        Incident.objects.filter(
            incident_visibility_q(user=user),
            owner__isnull=False,
            resolved_at__isnull=False,
            acknowledged_at__gte=filters.since,
            acknowledged_at__lt=filters.until,
        )
        .excluding_drills()
        .order_by()
    )
    items = action_items_visible_to(user=user).filter(
        status=ActionItemStatus.DONE,
        kind__in=OPERATIONAL_ACTION_KINDS,
        resolved_at__gte=filters.since,
        resolved_at__lt=filters.until,
    )
    incidents = _in_view(incidents, filters, paths=INCIDENT_PATHS)
    items = _in_view(items, filters, paths=ITEM_PATHS)
    teams = Team.objects.order_by("name")
    if filters.team:
        teams = teams.filter(pk=filters.team.pk)

    worked = HoursBetween(F("resolved_at"), F("acknowledged_at"))
    load: dict[tuple[int, date], dict] = {}
    for row in (
        incidents.annotate(week=TruncWeek("acknowledged_at"))
        .values("team_id", "week")
        .annotate(hours=Sum(worked), incidents=Count("id"))
    ):
        load.setdefault((row["team_id"], _week(row["week"])), {})["incident"] = row
    for row in (
        items.order_by().annotate(week=TruncWeek("resolved_at")).values("team_id", "week").annotate(total=Count("id"))
    ):
        load.setdefault((row["team_id"], _week(row["week"])), {})["actions"] = row["total"]

    item_hours = settings.INSIGHTS_ACTION_ITEM_HOURS
    result = []
    # Teams with any load in the view (or the one chosen): a quiet team has nothing to show.
    if not filters.team:
        teams = teams.filter(id__in={team_id for team_id, _ in load})
    for team in teams.annotate(member_count=Count("memberships")).values(
        "id", "name", "slug", "member_count", "operations_budget_hours"
    ):
        own_budget = team["operations_budget_hours"]
        budget = float(own_budget) if own_budget else operations_budget_default(members=team["member_count"])
        weeks = []
        for week in filters.week_starts():
            cell = load.get((team["id"], week), {})
            incident_hours = _hours((cell.get("incident") or {}).get("hours")) or 0.0
            actions = cell.get("actions", 0)
            total = round(incident_hours + actions * item_hours, 2)
            weeks.append(
                {
                    "week": week.isoformat(),
                    "incidents": (cell.get("incident") or {}).get("incidents", 0),
                    "incident_hours": incident_hours,
                    "action_items": actions,
                    "action_hours": round(actions * item_hours, 2),
                    "hours": total,
                    "budget_hours": budget,
                    "budget_share": _rate(total, budget) if budget else None,
                    "over_budget": total > budget,
                }
            )
        result.append(
            {
                "id": team["id"],
                "name": team["name"],
                "slug": team["slug"],
                "members": team["member_count"],
                "budget_hours": budget,
                "budget_set_by_team": own_budget is not None,
                "weeks_over_budget": sum(1 for week in weeks if week["over_budget"]),
                "weeks": weeks,
            }
        )
    return {
        "working_hours_per_week": settings.INSIGHTS_WORKING_HOURS_PER_WEEK,
        "operations_share": settings.INSIGHTS_OPERATIONS_SHARE,
        "action_item_hours": item_hours,
        "teams": result,
    }


def game_day_series(*, user, filters: InsightsFilters) -> dict:
    """Return drills run per week, the contributing factors they found and the action items they led to."""

    drills = _visible_incidents(user=user, filters=filters).drills()
    weekly: dict[date, dict] = {}
    for row in drills.annotate(week=TruncWeek("detected_at")).values("week").annotate(total=Count("id")):
        weekly.setdefault(_week(row["week"]), {})["drills"] = row["total"]
    for row in (
        ContributingFactor.objects.filter(postmortem__incident__in=drills.values("id"))
        .annotate(week=TruncWeek("postmortem__incident__detected_at"))
        .values("week")
        .annotate(total=Count("id"))
        .order_by()
    ):
        weekly.setdefault(_week(row["week"]), {})["findings"] = row["total"]
    actions = ActionItem.objects.filter(incident__in=drills.values("id"))
    for row in (
        actions.annotate(week=TruncWeek("incident__detected_at"))
        .values("week")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status=ActionItemStatus.DONE)))
        .order_by()
    ):
        weekly.setdefault(_week(row["week"]), {}).update(actions=row["total"], actions_done=row["done"])
    empty = {"drills": 0, "findings": 0, "actions": 0, "actions_done": 0}
    weeks = [{"week": week.isoformat(), **empty, **weekly.get(week, {})} for week in filters.week_starts()]
    overall = {key: sum(week[key] for week in weeks) for key in empty}
    return {"overall": overall, "weeks": weeks}
