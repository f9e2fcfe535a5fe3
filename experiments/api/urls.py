"""API of experiments and game days, under /api/v1/."""

from config.api import Router
from experiments.api.views import ExperimentViewSet, GameDayViewSet

router = Router()
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("game-days", GameDayViewSet, basename="game-day")

urlpatterns = [*router.urls]
