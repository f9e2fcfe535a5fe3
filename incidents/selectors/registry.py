"""Reads of the model registry: the models list and each model's lineage."""

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, IntegerField, Min, OuterRef, QuerySet, Subquery, Sum, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber

from incidents.models import (
    AliasMove,
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentModelVersion,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from incidents.selectors.incidents import ACTIVE_STATUSES, incident_visibility_q

# Environments read left to right the way a change travels; unknown ones sit before production.
ENVIRONMENT_ORDER = ["dev", "development", "test", "qa", "ci", "staging", "stage", "preprod", "canary", "shadow"]
PRODUCTION_NAMES = ["prod", "production", "live"]
CHIPS_PER_CELL = 4
RECENT_MOVES = 4


def environment_sort_key(environment: str) -> tuple[int, str]:
    """Return a key ordering environments from development to production."""
    name = environment.lower()
    if name in ENVIRONMENT_ORDER:
        return ENVIRONMENT_ORDER.index(name), name
    if name in PRODUCTION_NAMES:
        return len(ENVIRONMENT_ORDER) + 2, name
    return len(ENVIRONMENT_ORDER) + (0 if name else 1), name


def model_versions_newest_first(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    """Return the model's versions, newest first (numeric versions by number)."""
    return model.versions.order_by(F("version_number").desc(nulls_last=True), "-created_at", "-id")


def model_list(*, user, team=None, q: str = "") -> QuerySet[RegisteredModel]:
    """Return registered models with their team, version count and open incidents the user sees."""
    versions = (
        ModelVersion.objects.filter(model=OuterRef("pk"))
        .order_by()
        .values("model")
        .annotate(total=Count("id"))
        .values("total")
    )
    open_incidents = (
        Incident.objects.filter(incident_visibility_q(user=user), model=OuterRef("pk"), status__in=ACTIVE_STATUSES)
        .order_by()
        .values("model")
        .annotate(total=Count("id"))
        .values("total")
    )
    queryset = RegisteredModel.objects.select_related("team").annotate(
        version_count=Coalesce(Subquery(versions, output_field=IntegerField()), Value(0)),
        open_incident_count=Coalesce(Subquery(open_incidents, output_field=IntegerField()), Value(0)),
    )
    if team is not None:
        queryset = queryset.filter(team=team)
    if q:
        queryset = queryset.filter(name__icontains=q)
    # By name: sorting on the counts would compute them for every model, not just the page's.
    return queryset.order_by("name", "team__name", "id")


def model_latest_deployments(*, model_ids: list[int]) -> dict[int, list[Deployment]]:
    """Return, per model, its latest deployment in each environment (environments in order)."""
    if not model_ids:
        return {}
    latest = (
        Deployment.objects.filter(model_version__model_id__in=model_ids)
        .annotate(
            model_id=F("model_version__model_id"),
            rank=Window(
                RowNumber(),
                partition_by=[F("model_version__model_id"), F("environment")],
                order_by=[F("last_event_at").desc(), F("id").desc()],
            ),
        )
        .filter(rank=1)
        .select_related("model_version")
        .only(
            "id",
            "environment",
            "status",
            "last_event_at",
            "finished_at",
            "run_url",
            "failing_step",
            "model_version__id",
            "model_version__version",
            "model_version__model_id",
        )
    )
    result: dict[int, list[Deployment]] = {}
    for deployment in latest:
        result.setdefault(deployment.model_id, []).append(deployment)
    for deployments in result.values():
        deployments.sort(key=lambda deployment: environment_sort_key(deployment.environment))
    return result


def model_aliases(*, model_ids: list[int]) -> dict[int, list[ModelAlias]]:
    """Return, per model, where its aliases point now."""
    result: dict[int, list[ModelAlias]] = {}
    for alias in ModelAlias.objects.filter(model_id__in=model_ids).select_related("version").order_by("alias"):
        result.setdefault(alias.model_id, []).append(alias)
    return result


@dataclass
class LineageCell:
    environment: str
    deployments: list[Deployment] = field(default_factory=list)
    total: int = 0
    failed: int = 0

    @property
    def more(self) -> int:
        return max(self.total - len(self.deployments), 0)

    @property
    def latest(self) -> Deployment | None:
        return self.deployments[0] if self.deployments else None


@dataclass
class LineageRow:
    version: ModelVersion
    cells: list[LineageCell]
    aliases: list[str] = field(default_factory=list)
    moves_in: list[AliasMove] = field(default_factory=list)
    links: list[IncidentModelVersion] = field(default_factory=list)

    @property
    def caused(self) -> list[IncidentModelVersion]:
        return [link for link in self.links if link.role == "cause"]

    @property
    def touched(self) -> list[IncidentModelVersion]:
        return [link for link in self.links if link.role != "cause"]

    @property
    def failed(self) -> int:
        return sum(cell.failed for cell in self.cells)

    @property
    def ever_aliased(self) -> bool:
        return bool(self.aliases or self.moves_in)


@dataclass
class Lineage:
    model: RegisteredModel
    page: Page
    environments: list[str]
    rows: list[LineageRow]
    aliases: list[ModelAlias]
    open_incidents: list[Incident]
    recent_moves: list[AliasMove]


def model_environments(*, model: RegisteredModel) -> list[str]:
    """Return every environment the model was deployed to, from development to production."""
    names = (
        Deployment.objects.filter(model_version__model=model)
        .order_by()
        .values_list("environment", flat=True)
        .distinct()
    )
    return sorted(set(names), key=environment_sort_key)


def model_lineage(*, user, model: RegisteredModel, page_number=1, per_page: int = 12) -> Lineage:
    """Return one page of the model's lineage: versions newest first with deployments per environment.

    Each cell holds the latest few deployments and counts of all of them; rows
    carry the alias moves into the version and the incidents (the user sees)
    it caused or touched. A fixed number of queries whatever the history size.
    """
    paginator = Paginator(model_versions_newest_first(model=model), per_page)
    page = paginator.get_page(page_number)
    versions = list(page.object_list)
    ids = [version.id for version in versions]
    environments = model_environments(model=model)

    partition = [F("model_version_id"), F("environment")]
    deployments = (
        Deployment.objects.filter(model_version_id__in=ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=partition, order_by=[F("last_event_at").desc(), F("id").desc()]),
            total=Window(Count("id"), partition_by=partition),
            failed_total=Window(
                Sum(Case(When(status=DeploymentStatus.FAILED, then=1), default=0, output_field=IntegerField())),
                partition_by=partition,
            ),
        )
        .filter(rank__lte=CHIPS_PER_CELL)
        .only(
            "id",
            "model_version_id",
            "environment",
            "status",
            "started_at",
            "finished_at",
            "last_event_at",
            "run_url",
            "sha",
            "failing_step",
        )
        .order_by("model_version_id", "environment", "rank")
    )
    cells: dict[tuple[int, str], LineageCell] = {}
    for deployment in deployments:
        key = (deployment.model_version_id, deployment.environment)
        cell = cells.setdefault(key, LineageCell(deployment.environment))
        cell.deployments.append(deployment)
        cell.total, cell.failed = deployment.total, deployment.failed_total or 0

    current = list(ModelAlias.objects.filter(model=model).select_related("version").order_by("alias"))
    moves = AliasMove.objects.filter(model=model, to_version_id__in=ids).select_related("from_version", "to_version")
    moves_by_version: dict[int, list[AliasMove]] = {}
    for move in moves.order_by("moved_at", "id"):
        moves_by_version.setdefault(move.to_version_id, []).append(move)

    visible = incident_visibility_q(user=user, prefix="incident__")
    links = (
        IncidentModelVersion.objects.filter(visible, model_version_id__in=ids)
        .select_related("incident")
        .only(
            "id",
            "role",
            "model_version_id",
            "incident__id",
            "incident__title",
            "incident__status",
            "incident__severity",
            "incident__detected_at",
        )
        .order_by("incident__detected_at")
    )
    links_by_version: dict[int, list[IncidentModelVersion]] = {}
    for link in links:
        links_by_version.setdefault(link.model_version_id, []).append(link)

    rows = [
        LineageRow(
            version=version,
            cells=[cells.get((version.id, environment), LineageCell(environment)) for environment in environments],
            aliases=[alias.alias for alias in current if alias.version_id == version.id],
            moves_in=moves_by_version.get(version.id, []),
            links=links_by_version.get(version.id, []),
        )
        for version in versions
    ]
    open_incidents = list(
        Incident.objects.filter(incident_visibility_q(user=user), model=model, status__in=ACTIVE_STATUSES)
        .only("id", "title", "status", "severity", "detected_at", "environment")
        .order_by("severity", "-detected_at")[:5]
    )
    recent_moves = list(
        AliasMove.objects.filter(model=model)
        .select_related("from_version", "to_version")
        .order_by("-moved_at", "-id")[:RECENT_MOVES]
    )
    return Lineage(
        model=model,
        page=page,
        environments=environments,
        rows=rows,
        aliases=current,
        open_incidents=open_incidents,
        recent_moves=recent_moves,
    )


def model_get(*, pk: int) -> RegisteredModel | None:
    """Return the registered model with its team, or None."""
    return RegisteredModel.objects.select_related("team").filter(pk=pk).first()


def model_version_summaries(*, user, versions: list[ModelVersion]) -> dict[int, dict]:
    """Return, per version, its current aliases, latest deployment per environment and incident links."""
    ids = [version.id for version in versions]
    aliases: dict[int, list[str]] = {}
    for alias in ModelAlias.objects.filter(version_id__in=ids).order_by("alias"):
        aliases.setdefault(alias.version_id, []).append(alias.alias)
    latest = (
        Deployment.objects.filter(model_version_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("model_version_id"), F("environment")],
                order_by=[F("last_event_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .only("id", "model_version_id", "environment", "status", "last_event_at", "run_url")
    )
    deployments: dict[int, list[Deployment]] = {}
    for deployment in latest:
        deployments.setdefault(deployment.model_version_id, []).append(deployment)
    links: dict[int, list[IncidentModelVersion]] = {}
    visible = IncidentModelVersion.objects.filter(
        incident_visibility_q(user=user, prefix="incident__"), model_version_id__in=ids
    ).only("id", "role", "model_version_id", "incident_id")
    for link in visible:
        links.setdefault(link.model_version_id, []).append(link)
    return {
        version_id: {
            "aliases": aliases.get(version_id, []),
            "deployments": sorted(deployments.get(version_id, []), key=lambda d: environment_sort_key(d.environment)),
            "links": links.get(version_id, []),
        }
        for version_id in ids
    }


def deployment_recent_failures(*, team_ids: list[int] | None = None, limit: int = 8) -> list[Deployment]:
    """Return the latest failed deployments (of the given teams, or all)."""
    queryset = Deployment.objects.filter(status=DeploymentStatus.FAILED)
    if team_ids is not None:
        queryset = queryset.filter(team_id__in=team_ids)
    return list(queryset.select_related("model_version__model", "team").order_by("-last_event_at", "-id")[:limit])


def models_with_open_incidents(*, user, team_ids: list[int] | None = None, limit: int = 6) -> list[RegisteredModel]:
    """Return the models with the most active incidents the user sees (of the given teams, or all)."""
    counts = (
        Incident.objects.filter(incident_visibility_q(user=user), status__in=ACTIVE_STATUSES, model__isnull=False)
        .order_by()
        .values("model_id")
        .annotate(total=Count("id"), worst=Min("severity"))
    )
    if team_ids is not None:
        counts = counts.filter(team_id__in=team_ids)
    top = list(counts.order_by("-total", "worst")[:limit])
    models = RegisteredModel.objects.select_related("team").in_bulk([row["model_id"] for row in top])
    result = []
    for row in top:
        model = models.get(row["model_id"])
        if model is not None:
            model.open_incident_count = row["total"]
            model.worst_severity = row["worst"]
            result.append(model)
    return result
