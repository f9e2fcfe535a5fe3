"""API of post-mortems, templates, the blameless coach, action items and learnings, under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from postmortems.api.actions import ActionItemViewSet
from postmortems.api.learnings import LearningViewSet, SearchView

router = SimpleRouter()

# Follow-up actions, the learnings library and search.
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("learnings", LearningViewSet, basename="learning")
follow_up_patterns = [path("search/", SearchView.as_view(), name="search")]

urlpatterns = [*router.urls, *follow_up_patterns]
