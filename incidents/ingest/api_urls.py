"""API of sources, deliveries and deployments, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from incidents.ingest.api import DeliveryViewSet, DeploymentViewSet

router = SimpleRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [*router.urls]
