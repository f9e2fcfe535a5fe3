"""Template helpers of the incident and lineage pages: ``{% load incidents %}``."""

from datetime import timedelta

from django import template

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
def deployment_icon(status: str) -> str:
    return DEPLOYMENT_ICONS.get(status, "•")


@register.filter
def timeline_icon(item) -> str:
    move = getattr(item, "alias_move", None)
    if move is not None:
        return {"rollback": "↩", "removal": "✕"}.get(move.kind, "↑")
    return TIMELINE_ICONS.get(getattr(item, "kind", ""), "•")


@register.filter
def severity_description(severity: str) -> str:
    return SEVERITY_DESCRIPTIONS.get(severity, "")


@register.filter
def lower_status(value: str) -> str:
    """Return a CSS-safe status token (in_progress stays as is)."""
    return (value or "").lower().replace(" ", "_")
