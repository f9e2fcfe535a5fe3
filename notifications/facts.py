"""What an event says and who hears it: read when the event is dispatched, after the change committed.

Facts are read then, not when the event is recorded, so a pipeline's
incident carries the deployment linked just after it opened; they are
stored on the event, so every channel and every later replay says the same.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from incidents.models import LinkRole
from incidents.selectors.incidents import incident_visibility_q
from incidents.selectors.sources import source_visible_to
from notifications.models import Event, EventKind, Follow
from postmortems.selectors.actions import action_items_visible_to
from postmortems.selectors.postmortems import postmortem_list
from teams.models import Membership
from teams.selectors import user_display_name

User = get_user_model()

# Events the whole team hears of in the app; the others go to the people asked to act only.
TEAM_BROADCAST_KINDS = frozenset(
    {
        EventKind.INCIDENT_OPENED,
        EventKind.INCIDENT_SEVERITY_RAISED,
        EventKind.INCIDENT_OWNER_ASSIGNED,
        EventKind.INCIDENT_MITIGATED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.INCIDENT_REOPENED,
        EventKind.POSTMORTEM_PUBLISHED,
    }
)


@dataclass(frozen=True)
class Recipient:
    user: object
    direct: bool


def _incident_facts(incident) -> dict:
    facts = {
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "environment": incident.environment,
        "model": incident.model.name if incident.model_id else "",
        "version": "",
        "run_url": "",
        "failing_step": "",
        "owner": user_display_name(incident.owner) if incident.owner_id else "",
        "source": incident.source.name if incident.source_id else "",
        "incident_path": incident.get_absolute_url(),
    }
    # The deployment most suspected, newest first: what a reader needs to find the run.
    links = list(incident.deployment_links.select_related("deployment__model_version__model")[:50])
    rank = {LinkRole.CAUSE: 0, LinkRole.SUSPECT: 1, LinkRole.RELATED: 2}
    links.sort(key=lambda link: (rank.get(link.role, 3), -link.deployment.last_event_at.timestamp(), -link.pk))
    link = links[0] if links else None
    if link is not None:
        deployment = link.deployment
        facts["run_url"] = deployment.run_url
        facts["failing_step"] = deployment.failing_step
        facts["environment"] = facts["environment"] or deployment.environment
        if deployment.model_version_id:
            facts["model"] = facts["model"] or deployment.model_version.model.name
            facts["version"] = deployment.model_version.version
    return facts


def _leads(team_id: int) -> list:
    return list(
        User.objects.filter(memberships__team_id=team_id, memberships__role=Membership.Role.LEAD, is_active=True)
    )


def _team_members(team_id: int) -> list:
    return list(User.objects.filter(memberships__team_id=team_id, is_active=True))


def _asked(event: Event) -> list:
    """Return the people the event asks to act, when the caller did not name them."""
    kind = event.kind
    if event.direct_user_ids:
        return list(User.objects.filter(pk__in=event.direct_user_ids, is_active=True))
    if kind == EventKind.SOURCE_DELIVERIES_FAILING:
        return _leads(event.team_id)
    if event.action_item_id:
        return [event.action_item.owner]
    if kind in (EventKind.POSTMORTEM_CHANGES_REQUESTED, EventKind.POSTMORTEM_APPROVED):
        author = event.postmortem.submitted_by or event.postmortem.created_by
        return [author] if author else []
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return []
    incident = event.incident
    if incident is None:
        return []
    if incident.owner_id:
        return [incident.owner]
    if kind == EventKind.INCIDENT_OPENED:
        # Nobody leads it yet: whoever connected the pipeline triages, else the team's leads.
        creator = incident.source.created_by if incident.source_id else None
        if creator is not None and Membership.objects.filter(user=creator, team_id=incident.team_id).exists():
            return [creator]
        return _leads(incident.team_id)
    return []


def who_acts_next(event: Event, asked: list) -> str:
    """Return who is expected to act, in words, for the message."""
    names = ", ".join(user_display_name(user) for user in asked[:3])
    kind = event.kind
    if kind == EventKind.POSTMORTEM_REVIEW_REQUESTED:
        return f"Review: {names}" if names else "Waiting for reviewers"
    if kind in (EventKind.POSTMORTEM_CHANGES_REQUESTED,):
        return f"{names} revises the draft" if names else "The author revises the draft"
    if kind == EventKind.POSTMORTEM_APPROVED:
        return f"{names} can publish it" if names else "Ready to publish"
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return "Read it; follow the action items"
    if kind in (EventKind.ACTION_ITEM_ASSIGNED, EventKind.ACTION_ITEM_DUE_SOON, EventKind.ACTION_ITEM_OVERDUE):
        return f"{names} owns it" if names else "Nobody owns it"
    if kind == EventKind.SOURCE_DELIVERIES_FAILING:
        return f"Team leads ({names}) check the delivery log" if names else "Check the delivery log"
    if kind in (EventKind.INCIDENT_RESOLVED,):
        return f"{names}: write the post-mortem" if names else "Write the post-mortem"
    if event.incident is not None and event.incident.owner_id:
        return f"{user_display_name(event.incident.owner)} leads it"
    if names:
        return f"Nobody leads it yet: {names}, acknowledge it to lead"
    return "Nobody leads it yet: acknowledge it to lead"


def event_facts(event: Event, *, asked: list) -> dict:
    """Return the facts the event's messages carry (without a restricted incident's redaction)."""
    facts: dict = {"details": event.facts.get("details", {}), "team": event.team.name}
    if event.incident_id:
        facts.update(_incident_facts(event.incident))
    if event.postmortem_id:
        postmortem = event.postmortem
        facts["postmortem"] = {"title": postmortem.title, "status": postmortem.status, "version": postmortem.version}
    if event.action_item_id:
        item = event.action_item
        facts["action_item"] = {
            "title": item.title,
            "due_date": item.due_date.isoformat(),
            "owner": user_display_name(item.owner),
            "priority": item.priority,
            "status": item.status,
        }
    if event.source_id:
        source = event.source
        facts["source_name"] = source.name
        facts["source_kind"] = source.kind
    facts["next"] = who_acts_next(event, asked)
    facts["actor"] = user_display_name(event.actor) if event.actor_id else ""
    return facts


def user_may_see(*, user, event: Event) -> bool:
    """Return whether the user may read what the event is about, through the visibility selectors."""
    if not user.is_active:
        return False
    if event.action_item_id:
        return action_items_visible_to(user=user).filter(pk=event.action_item_id).exists()
    if event.postmortem_id:
        return postmortem_list(user=user).filter(pk=event.postmortem_id).exists()
    if event.incident_id:
        return event.incident.__class__.objects.filter(incident_visibility_q(user=user), pk=event.incident_id).exists()
    if event.source_id:
        return source_visible_to(user=user).filter(pk=event.source_id).exists()
    return False


def event_audience(event: Event) -> tuple[list[Recipient], list]:
    """Return who hears the event in the app (asked to act, or told as the team and followers), and who is asked.

    The person who caused it is left out, and so is anyone who may not see its subject.
    """
    asked = [user for user in _asked(event) if user is not None]
    people: dict[int, Recipient] = {}
    for user in asked:
        people[user.pk] = Recipient(user=user, direct=True)
    if event.kind in TEAM_BROADCAST_KINDS:
        for user in _team_members(event.team_id):
            people.setdefault(user.pk, Recipient(user=user, direct=False))
    if event.kind == EventKind.POSTMORTEM_PUBLISHED and event.postmortem_id:
        # Its reviewers follow it, inside the team or not.
        for reviewer in event.postmortem.reviewers.select_related("user"):
            people.setdefault(reviewer.user_id, Recipient(user=reviewer.user, direct=False))
    if event.kind in TEAM_BROADCAST_KINDS and event.incident_id:
        # Whoever follows the incident hears of its updates and of its post-mortem's publication.
        for follow in Follow.objects.filter(incident_id=event.incident_id).select_related("user"):
            people.setdefault(follow.user_id, Recipient(user=follow.user, direct=False))
    if event.actor_id:
        people.pop(event.actor_id, None)
    # The team sees all of its own incidents, post-mortems, actions and sources: ask the selectors for the others.
    members = set(Membership.objects.filter(team_id=event.team_id).values_list("user_id", flat=True))
    audience = [
        recipient
        for recipient in people.values()
        if (recipient.user.pk in members and recipient.user.is_active) or user_may_see(user=recipient.user, event=event)
    ]
    return audience, asked
