"""Template tags that put notifications on other apps' pages: the team's channels, "needs you", "Follow"."""

from django import template

from notifications.messages import message_for_event
from notifications.selectors import incident_follow_state, notifications_needing_you

register = template.Library()


@register.inclusion_tag("notifications/partials/team_channels.html", takes_context=True)
def team_channels(context, team):
    """Render the team page's channels section (members read it, leads manage it)."""
    from notifications.views import team_channels_context

    request = context["request"]
    return {
        "team": team,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **team_channels_context(team=team, user=request.user),
    }


@register.inclusion_tag("notifications/partials/needs_you.html", takes_context=True)
def needs_you(context):
    """Render the home page's "needs you": the signed-in person's unread asks to act."""
    request = context["request"]
    notices = notifications_needing_you(user=request.user)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "needs_you": [(notification, message_for_event(notification.event)) for notification in notices],
    }


@register.inclusion_tag("notifications/partials/follow_button.html", takes_context=True)
def follow_button(context, incident):
    """Render the incident page's "Follow" button, with how many people follow the incident."""
    request = context["request"]
    following, count = incident_follow_state(incident=incident, user=request.user)
    return {
        "incident": incident,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "following": following,
        "follower_count": count,
    }
