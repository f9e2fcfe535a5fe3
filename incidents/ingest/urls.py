"""The webhook endpoint (namespace ``ingest``) and the source pages (namespace ``incidents``)."""

from django.urls import path

from incidents.ingest import views

app_name = "ingest"

# Mounted under /hooks/: the receive view. Senders configured without the
# trailing slash are served too (a redirect would lose a POST body).
urlpatterns: list = [
    path("<str:public_id>/", views.receive, name="receive"),
    path("<str:public_id>", views.receive),
]

# Mounted with the incident pages: sources, deliveries.
source_patterns: list = []
