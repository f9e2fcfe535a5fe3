"""Reads of post-mortem templates."""

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When

from postmortems.builtin_templates import BUILTIN_TEMPLATES, DEFAULT_BUILTIN_KEY
from postmortems.models import Template, TemplateSection
from postmortems.services.templates import template_builtins_ensure
from teams.selectors import user_team_ids


def template_list(*, team_ids=None, include_inactive: bool = False) -> QuerySet[Template]:
    """Return the built-in templates and the given teams' ones (all teams' when None), built-ins first."""
    template_builtins_ensure()
    templates = Template.objects.select_related("team").annotate(section_count=Count("sections"))
    if team_ids is not None:
        templates = templates.filter(Q(team__isnull=True) | Q(team_id__in=team_ids))
    if not include_inactive:
        templates = templates.filter(is_active=True)
    builtin_first = Case(
        *[
            When(builtin_key=definition["key"], then=Value(position))
            for position, definition in enumerate(BUILTIN_TEMPLATES)
        ],
        default=Value(len(BUILTIN_TEMPLATES)),
    )
    return templates.order_by(builtin_first, "team__name", "name", "id")


def template_with_sections(*, pk: int) -> Template | None:
    """Return the template with its sections in order, or None."""
    return (
        Template.objects.select_related("team")
        .prefetch_related(Prefetch("sections", queryset=TemplateSection.objects.order_by("position", "id")))
        .filter(pk=pk)
        .first()
    )


def template_get_visible(*, user, pk: int) -> Template | None:
    """Return the template with its sections when the user may read it, else None.

    Built-in templates are for everyone; a team's are for its members and staff (docs/visibility.md).
    """
    template = template_with_sections(pk=pk)
    if template is None or template.team_id is None or user.is_staff:
        return template
    return template if template.team_id in user_team_ids(user=user) else None


def template_for_incident(*, incident) -> Template:
    """Return the template a post-mortem of the incident starts from.

    The incident's team's template for its kind first, then the built-in one
    for its kind, then the standard blameless review.
    """
    candidates = list(template_list(team_ids=[incident.team_id]))
    for scope in (incident.team_id, None):
        for template in candidates:
            if template.team_id == scope and incident.kind in (template.incident_kinds or []):
                return template
    return next(template for template in candidates if template.builtin_key == DEFAULT_BUILTIN_KEY)
