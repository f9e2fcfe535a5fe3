"""API of incidents, timelines and the model registry, under /api/v1/."""

from config.api import Router
from incidents.api.views import IncidentViewSet, RegisteredModelViewSet

router = Router()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("models", RegisteredModelViewSet, basename="model")

urlpatterns = router.urls
