"""Reads of notifications: a person's notices, "needs you", what they follow, a team's channels and their log."""

from dataclasses import dataclass

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from incidents.models import IncidentStatus
from incidents.selectors.incidents import incident_visibility_q
from notifications.models import (
    DIRECT_ASK_KINDS,
    EMAILED_BY_REMINDERS,
    Channel,
    EmailPreference,
    EmailWhen,
    EventKind,
    Follow,
    Notification,
    NotificationSend,
)
from postmortems.models import PostmortemReview, PostmortemStatus, ReviewDecision
from postmortems.models.actions import UNRESOLVED_STATUSES
from teams.selectors import user_is_team_member, user_team_ids


def _still_visible(user) -> Q:
    # An incident restricted after the notice was written hides the notice too.
    if user.is_staff:  # staff see every incident (an empty condition would drop out of the OR below)
        return Q()
    return Q(event__incident__isnull=True) | incident_visibility_q(user=user, prefix="event__incident__")


UNRESOLVED_INCIDENT = (IncidentStatus.OPEN, IncidentStatus.MITIGATED)
RESOLVED_INCIDENT = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


def _ask_still_open() -> Q:
    """Return the condition, on a notification, that what its event asked of its reader is still to do.

    Read from the current state of the incident, post-mortem or action item,
    never from who clicked what: an incident acknowledged by someone else, a
    post-mortem published through the API, an item closed by a teammate all
    end the ask. An event kind without a rule here keeps asking.
    """
    incident = "event__incident__"
    reader_leads_or_nobody = Q(**{f"{incident}owner__isnull": True}) | Q(**{f"{incident}owner": F("user")})
    reviewed_this_version = PostmortemReview.objects.filter(
        postmortem=OuterRef("event__postmortem"),
        reviewer=OuterRef("user"),
        revision=OuterRef("event__postmortem__revision"),
        version=OuterRef("event__postmortem__version"),
        decision__in=(ReviewDecision.APPROVE, ReviewDecision.REQUEST_CHANGES),
    )
    open_while = {
        # "Acknowledge it to lead": done once anyone acknowledged it (resolving by hand acknowledges too).
        EventKind.INCIDENT_OPENED: Q(
            **{f"{incident}status__in": UNRESOLVED_INCIDENT, f"{incident}acknowledged_at": None}
        ),
        EventKind.INCIDENT_REOPENED: Q(**{f"{incident}status__in": UNRESOLVED_INCIDENT}) & reader_leads_or_nobody,
        EventKind.INCIDENT_SEVERITY_RAISED: Q(**{f"{incident}status__in": UNRESOLVED_INCIDENT})
        & reader_leads_or_nobody,
        EventKind.INCIDENT_OWNER_ASSIGNED: Q(
            **{f"{incident}status__in": UNRESOLVED_INCIDENT, f"{incident}owner": F("user")}
        ),
        EventKind.INCIDENT_MITIGATED: Q(**{f"{incident}status": IncidentStatus.MITIGATED}) & reader_leads_or_nobody,
        # "Write the post-mortem": done once it is published or the team decided it needs none.
        EventKind.INCIDENT_RESOLVED: Q(**{f"{incident}status__in": RESOLVED_INCIDENT})
        & ~Q(**{f"{incident}postmortem__status": PostmortemStatus.PUBLISHED})
        & Q(**{f"{incident}postmortem_not_needed__isnull": True}),
        EventKind.POSTMORTEM_REVIEW_REQUESTED: Q(event__postmortem__status=PostmortemStatus.IN_REVIEW)
        & ~Exists(reviewed_this_version),
        EventKind.POSTMORTEM_CHANGES_REQUESTED: Q(event__postmortem__status=PostmortemStatus.DRAFT),
        EventKind.POSTMORTEM_APPROVED: Q(event__postmortem__status=PostmortemStatus.IN_REVIEW),
    }
    item_open = Q(event__action_item__status__in=UNRESOLVED_STATUSES, event__action_item__owner=F("user"))
    for kind in (EventKind.ACTION_ITEM_ASSIGNED, EventKind.ACTION_ITEM_DUE_SOON, EventKind.ACTION_ITEM_OVERDUE):
        open_while[kind] = item_open
    ruled = Q(event__kind__in=list(open_while))
    open_by_rule = Q()
    for kind, condition in open_while.items():
        open_by_rule |= Q(event__kind=kind) & condition
    return Q(direct=True) & (open_by_rule | ~ruled)


def notification_list(*, user, unread: bool = False) -> QuerySet[Notification]:
    """Return the user's notifications, newest first, with their events; only the waiting ones when asked.

    Each carries ``ask_open``: it asks the user to act and that is still to
    do. A notice is waiting while unread, unless it asked and that is done.
    """
    notifications = (
        Notification.objects.filter(user=user)
        .filter(_still_visible(user))
        .select_related("event")
        .annotate(
            ask_open=Case(When(_ask_still_open(), then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .order_by("-created_at", "-id")
    )
    if unread:
        notifications = notifications.filter(read_at__isnull=True).exclude(direct=True, ask_open=False)
    return notifications


def notification_unread_count(*, user) -> int:
    """Return how many notifications wait for the user: unread, leaving out asks already done (the bell)."""
    return notification_list(user=user, unread=True).count()


def notifications_needing_you(*, user, limit: int = 6) -> list[Notification]:
    """Return the user's unread asks still to act on (reviews, ownership, actions), newest first: "needs you"."""
    return list(notification_list(user=user, unread=True).filter(ask_open=True)[:limit])


def notification_get(*, user, pk: int) -> Notification | None:
    """Return the user's notification with this id, or None (another person's answers the same as a missing one)."""
    return notification_list(user=user).filter(pk=pk).first()


def channels_visible_to(*, user) -> QuerySet[Channel]:
    """Return the channels of the user's teams (every team's for staff)."""
    channels = Channel.objects.select_related("team")
    if user.is_staff:
        return channels
    return channels.filter(team_id__in=user_team_ids(user=user))


def channel_list(*, team) -> list[Channel]:
    """Return the team's channels, by name."""
    return list(Channel.objects.filter(team=team).select_related("team").order_by("name", "id"))


def channel_send_log(*, team=None, channel: Channel | None = None) -> QuerySet[NotificationSend]:
    """Return the messages sent (or waiting) to the team's channels, or one channel's, newest first."""
    sends = NotificationSend.objects.select_related("channel", "event").order_by("-created_at", "-id")
    if channel is not None:
        return sends.filter(channel=channel)
    return sends.filter(channel__team=team)


def channel_sends_visible_to(*, user) -> QuerySet[NotificationSend]:
    """Return the messages to the channels of the user's teams (every team's for staff), newest first.

    Emails to a person are theirs alone: they are not in any channel's log.
    """
    return (
        NotificationSend.objects.filter(channel__in=channels_visible_to(user=user))
        .select_related("channel__team", "event")
        .order_by("-created_at", "-id")
    )


def user_may_read_channels(*, user, team) -> bool:
    """Return whether the user may see the team's channels (its members and staff)."""
    return user_is_team_member(user=user, team=team)


@dataclass(frozen=True)
class EmailChoice:
    kind: str
    label: str
    when: str
    note: str = ""


def email_choices(*, user) -> list[EmailChoice]:
    """Return, for every kind of event, when the user gets its email (by default: when asked to act)."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "when"))
    choices = []
    for kind in EventKind:
        note = (
            "Asks you when it is yours to act on."
            if kind in DIRECT_ASK_KINDS
            else "Asks you when you own the incident (or triage it)."
        )
        if kind == EventKind.POSTMORTEM_PUBLISHED:
            note = "Asks nobody: your team and the reviewers are told."
        if kind in EMAILED_BY_REMINDERS:
            note = "The email is the morning reminder to the item's owner."
        choices.append(EmailChoice(kind.value, kind.label, chosen.get(kind.value, EmailWhen.ASKED), note))
    return choices


def follow_list(*, user) -> QuerySet[Follow]:
    """Return the incidents the user follows (as follows), newest first, leaving out those they may no longer read."""
    follows = Follow.objects.filter(user=user).select_related("incident").order_by("-created_at", "-id")
    if user.is_staff:
        return follows
    return follows.filter(incident_visibility_q(user=user, prefix="incident__"))


def incident_follow_state(*, incident, user) -> tuple[bool, int]:
    """Return whether the user follows the incident, and how many people do."""
    user_ids = list(Follow.objects.filter(incident=incident).values_list("user_id", flat=True))
    return user.pk in user_ids, len(user_ids)
