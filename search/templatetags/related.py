"""The "this happened before" panel that incident and post-mortem pages include."""

from django import template

from postmortems.selectors.learnings import proposals_of_postmortem
from search.related import related_for_incident, related_for_postmortem

register = template.Library()


@register.inclusion_tag("search/_related.html", takes_context=True)
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
