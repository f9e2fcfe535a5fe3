"""The webhook endpoint (namespace ``ingest``) and the source pages (namespace ``incidents``)."""

from django.urls import path

from incidents.ingest import pages, views

app_name = "ingest"

# Mounted under /hooks/: the receive view. Senders configured without the
# trailing slash are served too (a redirect would lose a POST body).
urlpatterns: list = [
    path("<str:public_id>/", views.receive, name="receive"),
    path("<str:public_id>", views.receive),
]

# Mounted with the incident pages: sources, deliveries.
source_patterns: list = [
    path("sources/", pages.source_list, name="source-list"),
    path("sources/new/", pages.source_new, name="source-new"),
    path("sources/<id:pk>/", pages.source_detail, name="source-detail"),
    path("sources/<id:pk>/edit/", pages.source_edit, name="source-edit"),
    path("sources/<id:pk>/rotate-secret/", pages.source_rotate, name="source-rotate-secret"),
    path("sources/<id:pk>/test-delivery/", pages.source_test_delivery, name="source-test-delivery"),
    path("sources/<id:pk>/deliveries/<id:delivery_pk>/", pages.delivery_detail, name="delivery-detail"),
    path("sources/<id:pk>/deliveries/<id:delivery_pk>/raw/", pages.delivery_raw, name="delivery-raw"),
    path("sources/<id:pk>/deliveries/<id:delivery_pk>/replay/", pages.delivery_replay_view, name="delivery-replay"),
]
