"""Template tags every page uses: navigation links that know the current page, and safe Markdown."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str) -> str:
    """Render a navigation link, marked current when the page lives under it.

    Sections that a deployment has not enabled yet simply do not render.
    """
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    request = context.get("request")
    current = request is not None and request.path.startswith(url)
    return format_html(
        '<a href="{}"{}>{}</a>', url, mark_safe(' aria-current="page" class="current"') if current else "", label
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """Render Markdown to sanitised HTML (safe to output)."""
    from config.markdown import render_markdown

    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitised it
