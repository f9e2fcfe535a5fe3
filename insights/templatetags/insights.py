"""Template helpers of insights: table cells, the plotly stylesheets, and the small chart other pages embed."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.inclusion_tag("insights/_embed.html", takes_context=True)
def delivery_chart(context, *, team=None, model=None):
    """Render the small deployment-frequency and change-failure-rate chart of a team's or a model's page.

    The page's template asks for it, so the app that owns the page imports nothing of insights.
    """
    from insights.views import embedded_dora

    return {"embed": embedded_dora(user=context["request"].user, team=team, model=model)}


@register.filter
def insight_cell(value, key: str = "") -> str:
    """Render one table cell: rates and shares as percentages, hours with two decimals, gaps as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if key.endswith(("_rate", "_share")):
            return f"{value * 100:.1f}%"
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@register.filter
def column_key(table, index: int) -> str:
    return table.columns[index].key


@register.simple_tag
def cells(table, row) -> list[tuple[str, object]]:
    """Return (column key, value) pairs of a row."""
    return [(column.key, value) for column, value in zip(table.columns, row, strict=True)]


@register.simple_tag
def plotly_stylesheets() -> str:
    """Link the stylesheets plotly.js would otherwise inject as inline <style> (refused by a strict policy)."""
    from config.staticfinders import GLOBAL_STYLE_ID
    from config.staticfinders import plotly_stylesheets as sheets

    # plotly.js leaves its rules to a stylesheet with this id once it has the class no-inline-styles.
    marker = mark_safe(' class="no-inline-styles"')
    return format_html_join(
        "\n",
        '<link rel="stylesheet" id="{}"{} href="{}">',
        ((element_id, marker if element_id == GLOBAL_STYLE_ID else "", static(path)) for element_id, path in sheets()),
    )
