"""Panels other pages include: action items of an incident or post-mortem, related things, the archive."""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from postmortems.actions_forms import ActionItemForm
from postmortems.models import ActionItemStatus, Postmortem
from postmortems.selectors.actions import action_items_for_incident, user_can_add_action_items
from postmortems.selectors.learnings import learning_from_the_archive, proposals_of_postmortem
from postmortems.selectors.related import related_for_incident, related_for_postmortem
from postmortems.selectors.search import object_url
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


@register.inclusion_tag("postmortems/learnings/_related.html", takes_context=True)
def related_panel(context, incident=None, postmortem=None):
    """Render learnings and past incidents related to the incident or post-mortem ("this happened before")."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"related": None}
    if postmortem:
        related = related_for_postmortem(postmortem=postmortem, user=user)
        proposals = list(proposals_of_postmortem(postmortem=postmortem))
    elif incident:
        related = related_for_incident(incident=incident, user=user)
        proposals = []
    else:
        return {"related": None}
    return {"related": related, "proposals": proposals, "postmortem": postmortem}


@register.inclusion_tag("postmortems/learnings/_archive.html")
def from_the_archive():
    """Render a learning written a year or a month ago, when there is one."""
    return {"archive": learning_from_the_archive(today=timezone.localdate())}


@register.filter
def page_url(obj) -> str:
    """Return the object's page, or an empty string when that page does not exist in this deployment."""
    kind = {"Incident": "incident", "Postmortem": "postmortem", "Learning": "learning"}.get(type(obj).__name__)
    return object_url(kind, obj.pk) if kind else ""


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
