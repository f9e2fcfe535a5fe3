"""Admin views of experiments and game days: read-only, as their services record steps, arms and drills."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from experiments.models import Experiment, GameDay, TrafficStep


class TrafficStepInline(ReadOnlyInline):
    model = TrafficStep
    fields = ["at", "step_index", "percent", "note", "author"]


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = ["id", "team", "model", "environment", "kind", "candidate_version", "outcome", "started_at"]
    list_filter = ["outcome", "kind", "team"]
    search_fields = ["model__name", "environment", "external_id"]
    date_hierarchy = "started_at"
    list_select_related = ["team", "model", "candidate_version__model"]
    inlines = [TrafficStepInline]


@admin.register(GameDay)
class GameDayAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "team", "state", "injection_kind", "scheduled_at", "facilitator"]
    list_filter = ["state", "injection_kind", "team"]
    search_fields = ["title", "component", "environment"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["team", "facilitator"]
