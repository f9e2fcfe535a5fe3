"""API of sources, deliveries and deployments, under /api/v1/."""

from config.api import Router
from incidents.ingest.api import DeliveryViewSet, DeploymentViewSet
from incidents.ingest.source_api import SourceViewSet

router = Router()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("deployments", DeploymentViewSet, basename="deployment")

# Sources: their pages and this API are one area.
router.register("sources", SourceViewSet, basename="source")

urlpatterns = [*router.urls]
