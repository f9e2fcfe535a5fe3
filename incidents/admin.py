"""Admin views of incidents, the registry, deployments, sources and deliveries: read-only, see ReadOnlyAdmin."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from incidents.models import (
    AliasMove,
    Delivery,
    Deployment,
    Incident,
    ModelVersion,
    RegisteredModel,
    Source,
    TimelineEntry,
)


class TimelineEntryInline(ReadOnlyInline):
    model = TimelineEntry
    fields = ["occurred_at", "kind", "text", "author", "source_label", "starred"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "team", "severity", "status", "kind", "environment", "model", "detected_at"]
    list_filter = ["status", "severity", "kind", "restricted", "team"]
    search_fields = ["title", "environment", "model__name"]
    date_hierarchy = "detected_at"
    list_select_related = ["team", "model"]
    inlines = [TimelineEntryInline]


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "kind", "is_active", "rate_limit_per_minute", "default_model"]
    list_filter = ["kind", "is_active", "team"]
    search_fields = ["name", "public_id"]
    list_select_related = ["team", "default_model"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "event", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "source__kind", "source__team"]
    search_fields = ["delivery_id", "event", "source__name", "error"]
    date_hierarchy = "received_at"
    list_select_related = ["source"]
    exclude = ["body"]


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name"]
    list_select_related = ["team"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "version", "run_id", "created_at"]
    list_filter = ["model__team"]
    search_fields = ["model__name", "version", "run_id"]
    list_select_related = ["model"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "team", "model_version", "environment", "status", "pipeline", "last_event_at"]
    list_filter = ["status", "environment", "team"]
    search_fields = ["title", "pipeline", "sha", "external_id", "run_id"]
    date_hierarchy = "last_event_at"
    list_select_related = ["team", "model_version__model"]


@admin.register(AliasMove)
class AliasMoveAdmin(ReadOnlyAdmin):
    list_display = ["model", "alias", "from_version", "to_version", "kind"]
    list_filter = ["kind", "alias"]
    search_fields = ["model__name", "alias"]
    list_select_related = ["model", "from_version", "to_version"]
