"""API of notifications and channels, under /api/v1/."""

from config.api import Router
from notifications.api.views import ChannelViewSet, NotificationViewSet

router = Router()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [*router.urls]
