"""Pages of action items: my actions, the team board, the lead's overdue list, one item, and the forms."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.validation import id_parse
from incidents.models import Incident
from incidents.selectors.incidents import incident_get_visible
from postmortems.actions_forms import ActionItemForm, BulkStatusForm, StatusForm
from postmortems.models import ActionItem, ActionItemStatus, Postmortem
from postmortems.selectors.actions import (
    action_item_board,
    action_item_figures,
    action_item_list_overdue,
    action_items_of_owner,
    action_items_visible_to,
    teams_led_by,
    user_can_add_action_items,
    user_can_change_action_item,
)
from postmortems.selectors.postmortems import postmortems_visible_to
from postmortems.services.actions import (
    ActionItemError,
    ActionItemPermissionError,
    action_item_bulk_set_status,
    action_item_create,
    action_item_default_due_date,
    action_item_set_status,
    action_item_update,
)
from teams.models import Team
from teams.selectors import user_is_team_member, user_team_ids

NOT_A_LEAD = "This page lists the overdue items of the teams you lead, and you lead none."
UNKNOWN_INCIDENT = "Add action items from an incident or its post-mortem: that incident does not exist."
OVERDUE_PER_PAGE = 50


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


# Service fields that forms name differently.
FORM_FIELD_OF = {"wont_do_reason": "reason"}


def _form_error(form, error: ActionItemError) -> None:
    field = FORM_FIELD_OF.get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.message)


@require_GET
def my_actions(request):
    today = timezone.localdate()
    mine = action_items_of_owner(owner=request.user, today=today)
    context = {
        "mine": mine,
        "figures": action_item_figures(items=ActionItem.objects.filter(owner=request.user), today=today),
        "my_teams": Team.objects.filter(memberships__user=request.user).order_by("name"),
        "leads_a_team": teams_led_by(user=request.user).exists(),
        "statuses": ActionItemStatus.choices,
        "today": today,
    }
    return render(request, "postmortems/actions/my_actions.html", context)


@require_GET
def team_board(request, slug):
    team = get_object_or_404(Team, slug=slug)
    today = timezone.localdate()
    is_member = user_is_team_member(user=request.user, team=team)
    context = {
        "team": team,
        "columns": action_item_board(team=team, user=request.user, today=today),
        "figures": action_item_figures(items=action_items_visible_to(user=request.user).filter(team=team), today=today),
        "can_change": is_member,
        "statuses": ActionItemStatus.choices,
        "today": today,
    }
    return render(request, "postmortems/actions/board.html", context)


@require_GET
def overdue_for_lead(request):
    teams = list(teams_led_by(user=request.user).order_by("name"))
    if not teams:
        raise PermissionDenied(NOT_A_LEAD)
    today = timezone.localdate()
    page = Paginator(action_item_list_overdue(teams=teams, today=today), OVERDUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"teams": teams, "page": page, "today": today, "statuses": ActionItemStatus.choices}
    return render(request, "postmortems/actions/overdue.html", context)


def _visible_item(request, pk) -> ActionItem:
    item = (
        action_items_visible_to(user=request.user)
        .select_related("owner", "team", "incident", "postmortem", "created_by", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404("No such action item.")
    return item


def _edit_initial(item: ActionItem) -> dict:
    return {
        "title": item.title,
        "owner": item.owner_id,
        "kind": item.kind,
        "priority": item.priority,
        "due_date": item.due_date,
        "verification": item.verification,
        "description": item.description,
        "tracker_url": item.tracker_url,
    }


def _detail(request, item: ActionItem, *, form=None, status_form=None, status: int = 200):
    can_change = user_can_change_action_item(user=request.user, item=item)
    context = {
        "item": item,
        "can_change": can_change,
        "form": form or (ActionItemForm(initial=_edit_initial(item)) if can_change else None),
        "status_form": status_form or StatusForm(initial={"status": item.status, "reason": item.wont_do_reason}),
        "reminders": item.reminders.all()[:20],
        "today": timezone.localdate(),
        "due_soon_days": settings.ACTION_ITEM_DUE_SOON_DAYS,
    }
    return render(request, "postmortems/actions/detail.html", context, status=status)


@require_GET
def action_detail(request, pk):
    return _detail(request, _visible_item(request, pk))


@require_POST
def action_edit(request, pk):
    item = _visible_item(request, pk)
    if not user_can_change_action_item(user=request.user, item=item):
        raise PermissionDenied("Only the owner, members of the team and admins can change this action item.")
    form = ActionItemForm(request.POST)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        if fields["due_date"] is None:
            fields["due_date"] = item.due_date
        try:
            action_item_update(item=item, actor=request.user, **fields)
        except ActionItemPermissionError as error:
            raise PermissionDenied(error.message) from error
        except ActionItemError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Action item saved.")
            return redirect(item)
    return _detail(request, item, form=form, status=400)


@require_POST
def action_status(request, pk):
    item = _visible_item(request, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            item = action_item_set_status(
                item=item, actor=request.user, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"]
            )
        except ActionItemPermissionError as error:
            raise PermissionDenied(error.message) from error
        except ActionItemError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"“{item.title}” is now {item.get_status_display().lower()}.")
            return redirect(_safe_next(request, item.get_absolute_url()))
    return _detail(request, item, status_form=form, status=400)


@require_POST
def action_bulk(request):
    form = BulkStatusForm(request.POST)
    fallback = reverse("postmortems:actions")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_safe_next(request, fallback))
    try:
        items = action_item_bulk_set_status(
            item_ids=form.cleaned_data["items"],
            actor=request.user,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
        )
    except ActionItemError as error:
        messages.error(request, error.message)
    else:
        label = ActionItemStatus(form.cleaned_data["status"]).label.lower()
        messages.success(request, f"{len(items)} action item{'s' if len(items) != 1 else ''} moved to {label}.")
    return redirect(_safe_next(request, fallback))


def _target_of(request) -> tuple[Incident, Postmortem | None]:
    source = request.POST if request.method == "POST" else request.GET
    postmortem_id, incident_id = id_parse(source.get("postmortem", "")), id_parse(source.get("incident", ""))
    if postmortem_id is not None:
        postmortem = (
            postmortems_visible_to(user=request.user).select_related("incident__team").filter(pk=postmortem_id).first()
        )
        if postmortem is None:
            raise Http404("No such post-mortem.")
        return postmortem.incident, postmortem
    if incident_id is not None:
        incident = incident_get_visible(user=request.user, pk=incident_id)
        if incident is not None:
            return incident, Postmortem.objects.filter(incident=incident).first()
    raise Http404(UNKNOWN_INCIDENT)


@require_http_methods(["GET", "POST"])
def action_create(request):
    incident, postmortem = _target_of(request)
    if incident.restricted and not user_is_team_member(user=request.user, team=incident.team):
        raise Http404(UNKNOWN_INCIDENT)
    if not user_can_add_action_items(user=request.user, incident=incident):
        raise PermissionDenied(f"Only members of {incident.team} can add action items to its incidents.")
    default_due = action_item_default_due_date(severity=incident.severity)
    if request.method == "POST":
        form = ActionItemForm(request.POST)
        if form.is_valid():
            try:
                item = action_item_create(
                    incident=incident, postmortem=postmortem, actor=request.user, **form.cleaned_data
                )
            except ActionItemPermissionError as error:
                raise PermissionDenied(error.message) from error
            except ActionItemError as error:
                _form_error(form, error)
            else:
                messages.success(
                    request, f"Action item “{item.title}” added, due {date_format(item.due_date, 'j M Y')}."
                )
                return redirect(_safe_next(request, item.get_absolute_url()))
        status = 400
    else:
        form = ActionItemForm(initial={"due_date": default_due, "owner": request.user.pk})
        status = 200
    context = {
        "form": form,
        "incident": incident,
        "postmortem": postmortem,
        "default_due": default_due,
        "next": _safe_next(request, ""),
        "my_team_ids": user_team_ids(user=request.user),
    }
    return render(request, "postmortems/actions/create.html", context, status=status)
