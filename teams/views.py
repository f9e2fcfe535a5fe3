"""Team pages: the list, a team's page, and what its leads change there (members, roles, settings)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from experiments.selectors import game_days_of_team
from teams.forms import MembershipAddForm, TeamSettingsForm
from teams.models import Membership, Team
from teams.selectors import (
    team_list,
    team_members,
    user_is_team_lead,
    user_is_team_member,
    user_team_ids,
)
from teams.services import TeamRuleError, membership_add, membership_remove, membership_set_role, team_update


def team_index(request):
    teams = team_list()
    return render(request, "teams/team_list.html", {"teams": teams, "my_team_ids": user_team_ids(user=request.user)})


def team_detail(request, slug):
    team = get_object_or_404(Team, slug=slug)
    can_manage = user_is_team_lead(user=request.user, team=team)
    upcoming_game_days, past_game_days = game_days_of_team(user=request.user, team=team)
    context = {
        "upcoming_game_days": upcoming_game_days,
        "past_game_days": past_game_days[:10],
        "is_member": user_is_team_member(user=request.user, team=team),
        "team": team,
        "memberships": team_members(team=team),
        "can_manage": can_manage,
        "add_form": MembershipAddForm(team=team) if can_manage else None,
        "settings_form": TeamSettingsForm(instance=team) if can_manage else None,
        "roles": Membership.Role.choices,
    }
    return render(request, "teams/team_detail.html", context)


def _team_for_lead(request, slug) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not user_is_team_lead(user=request.user, team=team):
        raise PermissionDenied("Only the team's leads and admins can manage its members.")
    return team


@require_POST
def member_add(request, slug):
    team = _team_for_lead(request, slug)
    form = MembershipAddForm(request.POST, team=team)
    if form.is_valid():
        try:
            membership = membership_add(team=team, user=form.cleaned_data["user"], role=form.cleaned_data["role"])
        except TeamRuleError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{membership.user} joined {team} as {membership.get_role_display().lower()}.")
            return redirect(team)
    context = {
        "team": team,
        "memberships": team_members(team=team),
        "can_manage": True,
        "add_form": form,
        "settings_form": TeamSettingsForm(instance=team),
        "roles": Membership.Role.choices,
    }
    return render(request, "teams/team_detail.html", context, status=400)


@require_http_methods(["GET", "POST"])
def member_remove(request, slug, membership_id):
    """Remove a member once the lead confirmed it; until then, show what removing means."""
    team = _team_for_lead(request, slug)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, team=team)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        return render(request, "teams/member_remove.html", {"team": team, "membership": membership})
    try:
        membership_remove(membership=membership)
    except TeamRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user} left {team}.")
    return redirect(team)


@require_POST
def member_role(request, slug, membership_id):
    team = _team_for_lead(request, slug)
    membership = get_object_or_404(Membership, pk=membership_id, team=team)
    role = request.POST.get("role", "")
    if role not in Membership.Role.values:
        messages.error(request, f"Unknown role {role!r}: choose member or lead.")
        return redirect(team)
    try:
        membership_set_role(membership=membership, role=role)
    except TeamRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user} is now {membership.get_role_display().lower()}.")
    return redirect(team)


@require_POST
def team_settings(request, slug):
    team = _team_for_lead(request, slug)
    form = TeamSettingsForm(request.POST, instance=Team.objects.get(pk=team.pk))
    if form.is_valid():
        team_update(team=team, **form.cleaned_data)
        messages.success(request, "Team settings saved.")
        return redirect(team)
    context = {
        "team": team,
        "memberships": team_members(team=team),
        "can_manage": True,
        "add_form": MembershipAddForm(team=team),
        "settings_form": form,
        "roles": Membership.Role.choices,
    }
    return render(request, "teams/team_detail.html", context, status=400)
