"""Writes to teams and memberships; a team always keeps at least one lead."""

from django.db import transaction
from django.utils.text import slugify

from teams.models import Membership, Team

MEMBERSHIP_EXISTS = "{user} is already a member of {team}."
LAST_LEAD = "A team must keep at least one lead: make another member lead first."


class TeamRuleError(Exception):
    """A change that breaks a rule of teams; the message is meant for people."""


def team_create(*, name: str, slug: str = "", description: str = "", timezone: str = "UTC", **options) -> Team:
    """Create and return a team; the slug defaults to the slugified name."""
    team = Team(name=name, slug=slug or slugify(name), description=description, timezone=timezone, **options)
    team.full_clean()
    team.save()
    return team


def team_update(*, team: Team, **fields) -> Team:
    """Update the given fields of the team after validating them."""
    for field, value in fields.items():
        setattr(team, field, value)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def membership_add(*, team: Team, user, role: str = Membership.Role.MEMBER) -> Membership:
    """Add the user to the team with the role; raise TeamRuleError when already a member."""
    if Membership.objects.filter(team=team, user=user).exists():
        raise TeamRuleError(MEMBERSHIP_EXISTS.format(user=user, team=team))
    return Membership.objects.create(team=team, user=user, role=role)


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role, refusing to demote the team's last lead."""
    if membership.role == Membership.Role.LEAD and role != Membership.Role.LEAD:
        _ensure_another_lead(membership)
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member, refusing to remove the team's last lead."""
    if membership.role == Membership.Role.LEAD:
        _ensure_another_lead(membership)
    membership.delete()


def _ensure_another_lead(membership: Membership) -> None:
    other_leads = (
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Membership.Role.LEAD)
        .exclude(pk=membership.pk)
    )
    if not other_leads.exists():
        raise TeamRuleError(LAST_LEAD)
