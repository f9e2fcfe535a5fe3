"""API of post-mortems, templates, the blameless coach, action items and learnings, under /api/v1/."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = [*router.urls]
