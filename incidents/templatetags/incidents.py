"""Template tags and filters of the incident and lineage pages: ``{% load incidents %}``."""

from datetime import timedelta

from django import template
from django.utils.html import format_html
from django.utils.timezone import localtime

from incidents.models.incidents import SEVERITY_DESCRIPTIONS

register = template.Library()

DEPLOYMENT_ICONS = {"succeeded": "✓", "failed": "✕", "in_progress": "◔", "cancelled": "⊘"}
TIMELINE_ICONS = {
    "deployment": "⇪",
    "status": "●",
    "severity": "▲",
    "owner": "☺",
    "milestone": "◷",
    "link": "⇄",
    "alias_move": "↑",
    "note": "✎",
    "edit": "✎",
}


@register.filter
def duration(value: timedelta | None) -> str:
    """Render a duration compactly: 45s, 12m, 3h 5m, 2d 4h."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


@register.filter
def timeline_icon(item) -> str:
    move = getattr(item, "alias_move", None)
    if move is not None:
        return {"rollback": "↩", "removal": "✕"}.get(move.kind, "↑")
    return TIMELINE_ICONS.get(getattr(item, "kind", ""), "•")


@register.filter
def severity_description(severity: str) -> str:
    return SEVERITY_DESCRIPTIONS.get(severity, "")


@register.simple_tag
def deployment_chip(deployment, label: str = "") -> str:
    """Render a deployment as a status chip linking to its pipeline run (a tag: lineage pages draw hundreds)."""
    when = localtime(deployment.last_event_at)
    title = f"{deployment.get_status_display()}"
    if deployment.environment:
        title += f" in {deployment.environment}"
    title += f" · {when.day} {when:%b %Y %H:%M} UTC"
    if deployment.failing_step:
        title += f" · failed at {deployment.failing_step}"
    inner = format_html(
        '<span class="chip-icon" aria-hidden="true">{}</span>{}{}<span class="sr-only"> {}</span>',
        DEPLOYMENT_ICONS.get(deployment.status, "•"),
        format_html("<b>{}</b> ", label) if label else "",
        f"{when.day} {when:%b %H:%M}",
        deployment.get_status_display(),
    )
    if deployment.run_url:
        return format_html(
            '<a class="chip chip-{}" href="{}" rel="noopener noreferrer" target="_blank" title="{}">{}</a>',
            deployment.status,
            deployment.run_url,
            title,
            inner,
        )
    return format_html('<span class="chip chip-{}" title="{}">{}</span>', deployment.status, title, inner)
