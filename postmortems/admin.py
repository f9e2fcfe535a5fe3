"""The admin of post-mortems: where an organisation manages its coach rules and templates."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from postmortems.models import ActionItem, CoachRule, Learning, Postmortem, Template, TemplateSection


@admin.register(CoachRule)
class CoachRuleAdmin(admin.ModelAdmin):
    """Where an organisation adds its own coach rules, replaces a built-in one, or switches it off."""

    list_display = ["rule_id", "title", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["rule_id", "title", "terms", "pattern"]

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TemplateSectionInline(admin.TabularInline):
    model = TemplateSection
    extra = 0
    fields = ["position", "key", "title", "kind", "required", "prefill"]


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "builtin_key", "is_active"]
    list_filter = ["is_active"]
    inlines = [TemplateSectionInline]


@admin.register(Postmortem)
class PostmortemAdmin(ReadOnlyAdmin):
    """Post-mortems change through their workflow (versions, reviews, publishing): read-only here."""

    list_display = ["title", "incident", "status", "template_name", "version", "updated_at", "published_at"]
    list_filter = ["status", "template_name"]
    search_fields = ["title", "incident__title"]
    list_select_related = ["incident"]
    exclude = ["content"]


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    """Action items change through their services (reminders, resolution, search): read-only here."""

    list_display = ["title", "team", "owner", "kind", "priority", "status", "due_date"]
    list_filter = ["status", "priority", "kind", "team"]
    search_fields = ["title", "owner__username", "incident__title"]
    date_hierarchy = "due_date"
    list_select_related = ["team", "owner"]


@admin.register(Learning)
class LearningAdmin(ReadOnlyAdmin):
    """Learnings are indexed for search when written through their service: read-only here."""

    list_display = ["title", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["title", "body"]
    list_select_related = ["team"]
