from django.contrib import admin

from postmortems.models import CoachRule, Template, TemplateSection


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
