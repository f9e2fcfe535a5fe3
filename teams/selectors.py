"""Reads of teams and memberships: lists, roles, and who a person is to the visibility rules."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from teams.models import Membership, Team

User = get_user_model()


def team_list() -> QuerySet[Team]:
    """Return all teams with their member count."""
    return Team.objects.annotate(member_count=Count("memberships"))


def team_members(*, team: Team) -> QuerySet[Membership]:
    """Return the team's memberships with their users, leads first."""
    return team.memberships.select_related("user").order_by("-role", "user__username")


def user_is_team_lead(*, user, team: Team) -> bool:
    """Return whether the user may manage the team: a lead of it, or staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, team=team, role=Membership.Role.LEAD).exists()


def user_is_team_member(*, user, team: Team) -> bool:
    """Return whether the user belongs to the team (staff count as members everywhere)."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, team=team).exists()


def user_team_ids(*, user) -> set[int]:
    """Return the ids of the teams the user belongs to."""
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def users_not_in_team(*, team: Team) -> QuerySet:
    return User.objects.filter(is_active=True).exclude(memberships__team=team).order_by("username")


def user_display_name(user, *, nobody: str = "") -> str:
    """Return how people are named on pages and timelines: full name, else username; ``nobody`` for None."""
    if user is None:
        return nobody
    return user.get_full_name() or user.username


@dataclass(frozen=True)
class Viewer:
    """What the visibility rules need to know of a person: staff or not, and their teams.

    Reading for many people at once (the weekly digest) asks the database once
    for all of them and checks each row with the ``*_visible_to_viewer``
    functions, which state the same rules as the querysets of each app.
    """

    user_id: int
    is_staff: bool = False
    team_ids: frozenset[int] = field(default_factory=frozenset)
    lead_team_ids: frozenset[int] = field(default_factory=frozenset)


def viewers_of(*, users) -> dict[int, Viewer]:
    """Return the Viewer of each user, by id, reading every membership in one query."""
    users = list(users)
    teams: dict[int, set[int]] = {user.pk: set() for user in users}
    leads: dict[int, set[int]] = {user.pk: set() for user in users}
    rows = Membership.objects.filter(user_id__in=list(teams)).values_list("user_id", "team_id", "role")
    for user_id, team_id, role in rows:
        teams[user_id].add(team_id)
        if role == Membership.Role.LEAD:
            leads[user_id].add(team_id)
    return {
        user.pk: Viewer(
            user_id=user.pk,
            is_staff=user.is_staff,
            team_ids=frozenset(teams[user.pk]),
            lead_team_ids=frozenset(leads[user.pk]),
        )
        for user in users
    }
