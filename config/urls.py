"""Every URL of Kintsugi: pages, the webhook edge, the API under /api/v1/ and its schema, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from config.api import RootRouter
from demo.views import SignInView
from teams.api.views import MeView, TeamViewSet

router = RootRouter()
router.register("teams", TeamViewSet, basename="team")

api_v1 = [
    path("users/me/", MeView.as_view(), name="users-me"),
    path("", include(router.urls)),
    path("", include("incidents.api.urls")),
    path("", include("incidents.ingest.api_urls")),
    path("", include("postmortems.api.urls")),
    path("", include("experiments.api.urls")),
    path("", include("search.api_urls")),
    path("", include("insights.api_urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("teams/", include("teams.urls")),
    path("digest/", include("teams.digest.urls")),
    path("", include("notifications.urls")),
    path("hooks/", include("incidents.ingest.urls")),
    path("", include("incidents.urls")),
    path("", include("postmortems.urls")),
    path("", include("experiments.urls")),
    path("", include("search.urls")),
    path("", include("insights.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
