"""API of post-mortems, templates, the blameless coach, action items and learnings, under /api/v1/."""

from django.urls import path

from config.api import Router
from postmortems.api.actions import ActionItemViewSet
from postmortems.api.learnings import LearningViewSet
from postmortems.api.views import BlamelessCheckView, PostmortemViewSet, TemplateViewSet

router = Router()
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path("blameless-check/", BlamelessCheckView.as_view(), name="blameless-check"),
    *router.urls,
]

# Follow-up actions and the learnings library.
follow_up_router = Router()
follow_up_router.register("action-items", ActionItemViewSet, basename="action-item")
follow_up_router.register("learnings", LearningViewSet, basename="learning")
urlpatterns += follow_up_router.urls
