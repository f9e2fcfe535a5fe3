"""The sources' chapter of the demo: what they delivered for the deployments made before. Safe to run again.

Every demo deployment of a model a demo source deploys gets that source, and the processed delivery
the source made for it (``demo/deliveries.py``); every alias move of a team with a demo MLflow source
gets the MLflow delivery that told of it. The sources page and each source's delivery log so tell the
story the incidents and the lineage tell. What already has its delivery is left alone.
"""

from demo.deliveries import SOURCE_OF_MODEL, delivery_of_alias_move, delivery_of_deployment, demo_source_for
from incidents.models import AliasMove, Delivery, Deployment, Source, SourceKind

# Every demo chapter names its deployments' runs so: "demo-<model>-…", "demo-insights-…", "demo-week-…".
DEMO_RUN_PREFIX = "demo-"


def seed() -> None:
    """Give each demo deployment without a delivery its source and its processed delivery."""
    sources = {
        (source.team.slug, source.name): source
        for source in Source.objects.select_related("team").filter(
            name__in=[name for _slug, name in SOURCE_OF_MODEL.values()]
        )
    }
    deployments = (
        Deployment.objects.filter(external_id__startswith=DEMO_RUN_PREFIX, deliveries__isnull=True)
        .select_related("model_version__model")
        .order_by("last_event_at", "id")
    )
    deliveries, moved = [], []
    for deployment in deployments:
        source = demo_source_for(deployment, sources)
        if source is None or deployment.team_id != source.team_id:
            continue
        delivery = delivery_of_deployment(deployment=deployment, source=source)
        if delivery is None:
            continue
        if deployment.source_id is None:
            deployment.source = source
            moved.append(deployment)
        deliveries.append(delivery)
    Deployment.objects.bulk_update(moved, ["source"])
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    _registry_deliveries()


def _registry_deliveries() -> None:
    """Give each alias move of a team with a demo MLflow source the delivery that told of it."""
    for source in Source.objects.filter(
        kind=SourceKind.MLFLOW, team__slug__in=[slug for slug, _ in SOURCE_OF_MODEL.values()]
    ):
        moves = AliasMove.objects.filter(model__team=source.team_id, delivery__isnull=True, to_version__isnull=False)
        for move in moves.select_related("model", "to_version").order_by("moved_at", "id"):
            move.delivery = delivery_of_alias_move(move=move, source=source)
            move.delivery.save()
            move.save(update_fields=["delivery"])
