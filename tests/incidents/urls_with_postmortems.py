"""The project's URLs plus a stand-in ``postmortems:start``, to check the incident page links to it."""

from django.http import HttpResponse
from django.urls import include, path

from config.urls import urlpatterns as project_patterns


def start(request, pk):
    return HttpResponse(f"start {pk}")


urlpatterns = [pattern for pattern in project_patterns if getattr(pattern, "namespace", None) != "postmortems"]
urlpatterns.append(path("postmortems/", include(([path("start/<int:pk>/", start, name="start")], "postmortems"))))
