"""Page URLs of incidents and models (namespace ``incidents``)."""

from django.urls import path

from incidents.views import incidents, registry

incident_patterns: list = [
    path("incidents/", incidents.incident_index, name="list"),
    path("incidents/new/", incidents.incident_declare, name="declare"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="detail"),
    path("incidents/<int:pk>/edit/", incidents.incident_edit, name="edit"),
    path("incidents/<int:pk>/acknowledge/", incidents.incident_acknowledge, name="acknowledge"),
    path("incidents/<int:pk>/status/<slug:action>/", incidents.incident_status_action, name="status"),
    path("incidents/<int:pk>/severity/", incidents.incident_severity, name="severity"),
    path("incidents/<int:pk>/owner/", incidents.incident_owner, name="owner"),
    path("incidents/<int:pk>/milestones/", incidents.incident_milestones, name="milestones"),
    path("incidents/<int:pk>/notes/", incidents.incident_note, name="note"),
    path("incidents/<int:pk>/timeline/<int:entry_id>/star/", incidents.incident_star, name="star"),
    path("incidents/<int:pk>/deployments/", incidents.incident_link_deployment, name="link-deployment"),
    path(
        "incidents/<int:pk>/deployments/<int:deployment_id>/unlink/",
        incidents.incident_unlink_deployment,
        name="unlink-deployment",
    ),
    path("incidents/<int:pk>/versions/", incidents.incident_link_model_version, name="link-version"),
    path(
        "incidents/<int:pk>/versions/<int:version_id>/unlink/",
        incidents.incident_unlink_model_version,
        name="unlink-version",
    ),
    path("incidents/<int:pk>/related/", incidents.incident_relate, name="relate"),
    path("incidents/<int:pk>/related/<int:other_id>/unlink/", incidents.incident_unrelate, name="unrelate"),
    path("models/", registry.model_index, name="models"),
    path("models/<int:pk>/", registry.model_lineage_page, name="model-lineage"),
]
