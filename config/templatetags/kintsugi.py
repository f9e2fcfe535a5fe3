"""Template tags every page uses: navigation links that know the current page, the page title's error prefix,
and safe Markdown."""

import django_filters
from django import forms, template
from django.contrib import messages
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


ERROR_TITLE_PREFIX = "Error: "


def _has_errors(value, depth: int = 0) -> bool:
    """Return whether ``value`` is a submitted form, formset or filter set that was refused.

    A list of them, or of rows that hold one (a page of sections, each with its form), counts too.
    """
    if isinstance(value, list | tuple) and depth < 2:
        return any(_has_errors(item, depth + 1) for item in value)
    if isinstance(value, django_filters.FilterSet):
        value = value.form
    if isinstance(value, forms.BaseForm):
        return value.is_bound and bool(value.errors)
    if isinstance(value, forms.BaseFormSet):
        return value.is_bound and bool(value.total_error_count())
    return False


@register.simple_tag(takes_context=True)
def error_title_prefix(context) -> str:
    """Return "Error: " when the page shows a refused form or an error message, else nothing.

    GOV.UK's pattern: the title is the first thing a screen reader reads of a page, so a failed submit
    must be plain from it. Every form the view hands to its template is looked at.
    """
    for scope in context.dicts:
        if any(_has_errors(value) for value in scope.values()):
            return ERROR_TITLE_PREFIX
    if any(message.level >= messages.ERROR for message in context.get("messages") or ()):
        return ERROR_TITLE_PREFIX
    return ""


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """Render Markdown to sanitised HTML (safe to output)."""
    from config.markdown import render_markdown

    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitised it
