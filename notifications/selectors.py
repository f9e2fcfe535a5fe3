"""Reads of notifications: a person's notices, "needs you", what they follow, a team's channels and their log."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

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
from teams.selectors import user_is_team_member, user_team_ids


def _still_visible(user) -> Q:
    # An incident restricted after the notice was written hides the notice too.
    if user.is_staff:  # staff see every incident (an empty condition would drop out of the OR below)
        return Q()
    return Q(event__incident__isnull=True) | incident_visibility_q(user=user, prefix="event__incident__")


def notification_list(*, user, unread: bool = False) -> QuerySet[Notification]:
    """Return the user's notifications, newest first, with their events; only the unread ones when asked."""
    notifications = (
        Notification.objects.filter(user=user)
        .filter(_still_visible(user))
        .select_related("event")
        .order_by("-created_at", "-id")
    )
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def notification_unread_count(*, user) -> int:
    """Return how many notifications the user has not read."""
    return notification_list(user=user, unread=True).count()


def notifications_needing_you(*, user, limit: int = 6) -> list[Notification]:
    """Return the user's unread asks to act (reviews, ownership, actions), newest first: the home page's "needs you"."""
    return list(notification_list(user=user, unread=True).filter(direct=True)[:limit])


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
