"""What the post-mortem pages share: fetching with permissions, links to incidents."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from postmortems.models import Postmortem
from postmortems.selectors.postmortems import (
    postmortem_detail,
    user_can_edit_postmortem,
    user_can_view_postmortem,
)

NOT_ALLOWED_TO_EDIT = "Only members of the incident's team can change its post-mortem."


def incident_url(incident) -> str | None:
    """Return the incident page's address, or None where incident pages are not installed."""
    try:
        return incident.get_absolute_url()
    except NoReverseMatch:
        return None


def postmortem_for_request(request, pk: int, *, edit: bool = False) -> Postmortem:
    """Return the post-mortem the user may read (404 otherwise), or change (403 otherwise)."""
    postmortem = postmortem_detail(pk=pk)
    if postmortem is None or not user_can_view_postmortem(user=request.user, postmortem=postmortem):
        raise Http404("No such post-mortem.")
    if edit and not user_can_edit_postmortem(user=request.user, postmortem=postmortem):
        raise PermissionDenied(NOT_ALLOWED_TO_EDIT)
    return postmortem


def safe_next(request, fallback: str) -> str:
    """Return the ``next`` address of the form when it is on this site, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return fallback


def detail_url(postmortem: Postmortem, anchor: str = "") -> str:
    url = reverse("postmortems:detail", kwargs={"pk": postmortem.pk})
    return f"{url}#{anchor}" if anchor else url
