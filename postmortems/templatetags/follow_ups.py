"""Panels other pages include: action items of an incident or post-mortem, the archive."""

from django import template
from django.conf import settings
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from postmortems.actions_forms import ActionItemForm
from postmortems.models import ActionItemStatus, Postmortem
from postmortems.selectors.actions import action_items_for_incident, user_can_add_action_items
from postmortems.selectors.learnings import learning_from_the_archive
from postmortems.services.actions import action_item_default_due_date
from teams.selectors import user_display_name

register = template.Library()


def _panel(context, *, incident, postmortem) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    can_add = user is not None and user_can_add_action_items(user=user, incident=incident)
    form = None
    if can_add:
        form = ActionItemForm(
            initial={"due_date": action_item_default_due_date(severity=incident.severity), "owner": user.pk},
            auto_id="id_action_%s",
            owners_from_team=incident.team,
        )
    return {
        "request": request,
        "incident": incident,
        "postmortem": postmortem,
        "items": action_items_for_incident(incident=incident),
        "can_add": can_add,
        "form": form,
        "statuses": ActionItemStatus.choices,
        "today": timezone.localdate(),
        "next": request.get_full_path() if request is not None else "",
    }


@register.inclusion_tag("postmortems/actions/_panel.html", takes_context=True)
def incident_action_items(context, incident):
    """Render the incident's action items, with a form to add one for its team's members."""
    postmortem = Postmortem.objects.filter(incident=incident).first()
    return _panel(context, incident=incident, postmortem=postmortem)


@register.inclusion_tag("postmortems/actions/_panel.html", takes_context=True)
def postmortem_action_items(context, postmortem):
    """Render the action items of the post-mortem's incident, with a form to add one."""
    return _panel(context, incident=postmortem.incident, postmortem=postmortem)


@register.inclusion_tag("postmortems/learnings/_archive.html")
def from_the_archive():
    """Render a learning written a year or a month ago, when there is one."""
    return {"archive": learning_from_the_archive(today=timezone.localdate())}


@register.filter
def page_url(obj) -> str:
    """Return the object's page, or an empty string when that page does not exist in this deployment."""
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return ""


@register.simple_tag
def due_label(item, today):
    """Render when the item is due, relative to today, coloured by urgency."""
    if item.status == ActionItemStatus.DONE:
        on_time = "on time" if item.done_on_time else "late"
        return format_html(
            '<span class="due-done">Done {} · {}</span>',
            date_format(timezone.localdate(item.resolved_at), "j M"),
            on_time,
        )
    if item.status == ActionItemStatus.WONT_DO:
        return format_html(
            '<span class="due-dropped">Won\'t do · {}</span>', date_format(timezone.localdate(item.resolved_at), "j M")
        )
    days = (item.due_date - today).days
    if days < 0:
        return format_html('<span class="due-late">Overdue by {} day{}</span>', -days, "" if days == -1 else "s")
    if days == 0:
        return mark_safe('<span class="due-soon">Due today</span>')
    if days <= settings.ACTION_ITEM_DUE_SOON_DAYS:
        return format_html('<span class="due-soon">Due in {} day{}</span>', days, "" if days == 1 else "s")
    return format_html('<span class="due-later">Due {}</span>', date_format(item.due_date, "j M Y"))


@register.filter
def person(user) -> str:
    """Return a person's full name, or their username."""
    return user_display_name(user, nobody="nobody")
