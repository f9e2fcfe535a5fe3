"""API of post-mortems, templates, the blameless coach, action items and learnings, under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from postmortems.api.views import BlamelessCheckView, PostmortemViewSet, TemplateViewSet

router = SimpleRouter()
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path("blameless-check/", BlamelessCheckView.as_view(), name="blameless-check"),
    *router.urls,
]
