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


def demo_is_seeded() -> bool:
    """Return whether the demo organisation's people exist (``manage.py seed_demo`` ran)."""
    from teams.demo import DEMO_USERNAME

    return User.objects.filter(username=DEMO_USERNAME).exists()
