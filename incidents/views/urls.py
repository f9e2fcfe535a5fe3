"""Page URLs of incidents and models (namespace ``incidents``)."""

from django.urls import path

from incidents.views import incidents, registry

incident_patterns: list = [
    path("incidents/", incidents.incident_index, name="list"),
    path("incidents/new/", incidents.incident_declare, name="declare"),
    path("incidents/<id:pk>/", incidents.incident_detail, name="detail"),
    path("incidents/<id:pk>/edit/", incidents.incident_edit, name="edit"),
    path("incidents/<id:pk>/acknowledge/", incidents.incident_acknowledge, name="acknowledge"),
    path("incidents/<id:pk>/status/<slug:action>/", incidents.incident_status_action, name="status"),
    path("incidents/<id:pk>/severity/", incidents.incident_severity, name="severity"),
    path("incidents/<id:pk>/owner/", incidents.incident_owner, name="owner"),
    path("incidents/<id:pk>/milestones/", incidents.incident_milestones, name="milestones"),
    path("incidents/<id:pk>/notes/", incidents.incident_note, name="note"),
    path("incidents/<id:pk>/timeline/<id:entry_id>/star/", incidents.incident_star, name="star"),
    path("incidents/<id:pk>/deployments/", incidents.incident_link_deployment, name="link-deployment"),
    path(
        "incidents/<id:pk>/deployments/<id:deployment_id>/unlink/",
        incidents.incident_unlink_deployment,
        name="unlink-deployment",
    ),
    path("incidents/<id:pk>/versions/", incidents.incident_link_model_version, name="link-version"),
    path(
        "incidents/<id:pk>/versions/<id:version_id>/unlink/",
        incidents.incident_unlink_model_version,
        name="unlink-version",
    ),
    path("incidents/<id:pk>/related/", incidents.incident_relate, name="relate"),
    path("incidents/<id:pk>/experiment/", incidents.incident_attach_experiment, name="attach-experiment"),
    path("incidents/<id:pk>/related/<id:other_id>/unlink/", incidents.incident_unrelate, name="unrelate"),
    path("models/", registry.model_index, name="models"),
    path("models/<id:pk>/", registry.model_lineage_page, name="model-lineage"),
]
