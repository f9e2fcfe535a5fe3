"""API of notifications and channels, under /api/v1/."""

from config.api import Router
from notifications.api.views import ChannelViewSet, FollowViewSet, NotificationViewSet, SendViewSet

router = Router()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("channels", ChannelViewSet, basename="channel")
router.register("follows", FollowViewSet, basename="follow")
router.register("sends", SendViewSet, basename="send")

urlpatterns = [*router.urls]
