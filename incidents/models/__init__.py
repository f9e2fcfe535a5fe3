"""The models of incidents: sources and deliveries, the model registry, deployments, incidents and timelines."""

from incidents.models.deployments import Deployment, DeploymentStatus
from incidents.models.incidents import (
    Incident,
    IncidentDeployment,
    IncidentKind,
    IncidentModelVersion,
    IncidentStatus,
    LinkRole,
    Severity,
    Tag,
    TimelineEntry,
)
from incidents.models.registry import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from incidents.models.sources import Delivery, Source, SourceKind, SourceRateWindow, SourceSecret

__all__ = [
    "AliasMove",
    "Delivery",
    "Deployment",
    "DeploymentStatus",
    "Incident",
    "IncidentDeployment",
    "IncidentKind",
    "IncidentModelVersion",
    "IncidentStatus",
    "LinkRole",
    "ModelAlias",
    "ModelVersion",
    "RegisteredModel",
    "Severity",
    "Source",
    "SourceKind",
    "SourceRateWindow",
    "SourceSecret",
    "Tag",
    "TimelineEntry",
]
