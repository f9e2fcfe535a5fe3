"""Filters of the weekly digest's email and pages: hours as people say them, and how a figure moved."""

from django import template

register = template.Library()

SEVERITY_COLOURS = {"SEV1": "#b42318", "SEV2": "#c4320a", "SEV3": "#b54708", "SEV4": "#475467"}


@register.filter
def hours(value) -> str:
    """Return hours as "45 min", "3.5 h" or "2.1 days"; an empty string for None."""
    if value is None:
        return ""
    value = float(value)
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.1f} h".replace(".0 h", " h")
    return f"{value / 24:.1f} days".replace(".0 days", " days")


@register.filter
def movement(comparison, unit: str = "") -> str:
    """Return how a figure moved since last week: "▲ 2", "▼ 1.5 h", "= same", or "" when nothing compares."""
    change = comparison.change
    if change is None:
        return ""
    if change == 0:
        return "= same"
    amount = hours(abs(change)) if unit == "hours" else f"{abs(change):g}{unit}"
    return f"{'▲' if change > 0 else '▼'} {amount}"


@register.filter
def movement_colour(comparison, lower_is_better: bool = True) -> str:
    """Return the colour of a movement: green when it improved, red when it worsened, grey otherwise."""
    change = comparison.change
    if not change:
        return "#616e7c"
    better = change < 0 if lower_is_better else change > 0
    return "#1e7b4f" if better else "#b42318"


@register.filter
def severity_colour(severity: str) -> str:
    return SEVERITY_COLOURS.get(severity, "#475467")


@register.filter
def number(value) -> str:
    """Return a figure without a needless ".0"; a dash for None."""
    if value is None:
        return "\u2013"  # an en dash
    return f"{value:g}"
