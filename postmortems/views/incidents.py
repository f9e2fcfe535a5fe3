"""The post-mortem's side of the incident page: marking a post-mortem not needed."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents.models import Incident
from incidents.selectors.incidents import incident_get_visible
from postmortems.forms import NotNeededForm
from postmortems.services.postmortems import (
    PostmortemError,
    PostmortemPermissionError,
    postmortem_mark_not_needed,
    postmortem_not_needed_withdraw,
)
from postmortems.views.common import incident_url, safe_next
from teams.selectors import user_is_team_member


def _incident(request, pk) -> Incident:
    incident = incident_get_visible(user=request.user, pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    if not user_is_team_member(user=request.user, team=incident.team):
        raise PermissionDenied(f"Only members of {incident.team} can decide about this incident's post-mortem.")
    return incident


def _back(request, incident) -> str:
    return safe_next(request, incident_url(incident) or reverse("postmortems:list"))


@require_POST
def not_needed(request, incident_pk):
    incident = _incident(request, incident_pk)
    form = NotNeededForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why this incident needs no post-mortem.")
        return redirect(_back(request, incident))
    try:
        postmortem_mark_not_needed(incident=incident, actor=request.user, reason=form.cleaned_data["reason"])
    except PostmortemPermissionError as error:
        raise PermissionDenied(str(error)) from error
    except PostmortemError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{incident.reference} needs no post-mortem; it can be closed.")
    return redirect(_back(request, incident))


@require_POST
def not_needed_withdraw(request, incident_pk):
    incident = _incident(request, incident_pk)
    postmortem_not_needed_withdraw(incident=incident, actor=request.user)
    messages.success(request, f"{incident.reference} needs a post-mortem again.")
    return redirect(_back(request, incident))
