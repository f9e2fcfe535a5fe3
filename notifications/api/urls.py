"""API of notifications and channels, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from notifications.api.views import ChannelViewSet, NotificationViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [*router.urls]
