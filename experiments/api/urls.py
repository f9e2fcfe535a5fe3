"""API of experiments and game days, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from experiments.api.views import ExperimentViewSet, GameDayViewSet

router = SimpleRouter()
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("game-days", GameDayViewSet, basename="game-day")

urlpatterns = [*router.urls]
