"""Template helpers of post-mortem pages, and the panel the incident page includes."""

from django import template
from django.urls import reverse

from postmortems.forms import NotNeededForm
from postmortems.selectors.postmortems import (
    postmortem_close_blocker,
    postmortem_for_incident,
    postmortem_not_needed,
)
from teams.selectors import user_display_name, user_is_team_member

register = template.Library()


@register.simple_tag(takes_context=True)
def postmortem_panel(context, incident) -> dict:
    """Return what the incident page shows about the incident's post-mortem."""
    request = context.get("request")
    user = getattr(request, "user", None)
    postmortem = postmortem_for_incident(incident)
    not_needed = postmortem_not_needed(incident=incident)
    is_member = user is not None and user_is_team_member(user=user, team=incident.team)
    return {
        "postmortem": postmortem,
        "not_needed": not_needed,
        "can_act": is_member,
        "start_url": reverse("postmortems:start", kwargs={"incident_pk": incident.pk}),
        "close_blocker": postmortem_close_blocker(incident=incident),
        "not_needed_form": NotNeededForm(initial={"next": request.get_full_path() if request else ""})
        if is_member and not_needed is None
        else None,
        "next": request.get_full_path() if request else "",
    }


@register.filter
def person(user) -> str:
    """Return a person's full name, or their user name."""
    return user_display_name(user, nobody="someone")


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
