"""Reads of deliveries and deployments."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from incidents.models import Delivery, Deployment


def delivery_ids_overdue(*, before: datetime, limit: int = 1000) -> list[int]:
    """Return ids of deliveries still waiting whose attempt was due before ``before``, oldest first."""
    return list(
        Delivery.objects.filter(
            status__in=(Delivery.Status.RECEIVED, Delivery.Status.REPLAYED), next_attempt_at__lt=before
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def delivery_seconds_to_due(*, now: datetime | None = None) -> float | None:
    """Return the seconds until the soonest delivery waiting to be due later is due, or None when none waits."""
    now = now or timezone.now()
    soonest = (
        Delivery.objects.filter(
            status__in=(Delivery.Status.RECEIVED, Delivery.Status.REPLAYED), next_attempt_at__gt=now
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return None if soonest is None else (soonest - now).total_seconds()


def delivery_list_for_user(*, user) -> QuerySet[Delivery]:
    """Return the deliveries the user may see: those of their teams' sources; staff see all. Newest first."""
    deliveries = Delivery.objects.select_related("source", "source__team", "deployment").defer("body")
    if user.is_staff:
        return deliveries
    return deliveries.filter(source__team__memberships__user=user)


def deployment_list_for_user(*, user) -> QuerySet[Deployment]:
    """Return the deployments the user may see: every team's, to anyone signed in.

    Deployments are organisation-wide, as the model registry that shows them on lineage pages, the home
    page and the versions API is (docs/visibility.md); the raw deliveries they were read from are not.
    """
    if not user.is_authenticated:
        return Deployment.objects.none()
    return Deployment.objects.select_related("team", "source", "model_version__model")
