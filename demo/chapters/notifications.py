"""The last chapter of the demo: people heard of the story as it happened. Safe to run again.

The events earlier chapters recorded (today, as the chapters run the
services) are dated when they happened in the story and dispatched at those
times, so every demo person's bell and "Needs you" hold what they were
told and asked. Then Fraud gets the channels a team connects first, a Slack
channel and a signed webhook to its operations data lake, with the delivery
log they would have by now: messages sent, one answered 503 and sent on the
second attempt, one refused for good and replayed, one failed waiting for a
replay, and the test message each channel starts with. Every message of the
log is written as done, so nothing of it is sent when a worker starts.

Their URLs are placeholders (the Slack one answers 4xx, ``example.com`` does
not resolve), so both channels are paused, saying so on their pages: what
happens next in the demo is not sent to them, and a lead makes one real by
giving it the team's URL and resuming it, in one edit. A demo seeded before
they were paused has them paused on its next run, unless a lead gave them a
URL of their own.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model

from incidents.models import TimelineEntry
from notifications.models import Channel, ChannelKind, Event, EventKind, NotificationSend, SendStatus
from notifications.services.channels import channel_create
from notifications.services.sends import event_dispatch
from teams.models import Team

User = get_user_model()

SLACK_NAME = "#fraud-incidents"
# The placeholder Slack's own documentation uses for an incoming webhook.
SLACK_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
SLACK_EVENTS = [
    EventKind.INCIDENT_OPENED,
    EventKind.INCIDENT_SEVERITY_RAISED,
    EventKind.INCIDENT_MITIGATED,
    EventKind.INCIDENT_RESOLVED,
    EventKind.POSTMORTEM_PUBLISHED,
    EventKind.ACTION_ITEM_OVERDUE,
]
# The data lake keeps the incidents and their reviews, not the day-to-day of action items.
WEBHOOK_EVENTS = [
    EventKind.INCIDENT_OPENED,
    EventKind.INCIDENT_MITIGATED,
    EventKind.INCIDENT_RESOLVED,
    EventKind.INCIDENT_REOPENED,
    EventKind.POSTMORTEM_PUBLISHED,
]
WEBHOOK_NAME = "Ops data lake"
WEBHOOK_URL = "https://ops.example.com/hooks/kintsugi"
# Why each is paused, on its pages: its URL is a placeholder, and how to make it real.
SLACK_PAUSED = (
    "Demo channel: its URL is a placeholder, so nothing is sent to it. To make it real, edit it: "
    "paste your team's Slack incoming-webhook URL and tick Active."
)
# The demo's signing secret was never shown, so a real receiver could not verify this channel's messages.
WEBHOOK_PAUSED = (
    "Demo channel: its URL is a placeholder, so nothing is sent to it. Its signing secret was never shown: "
    "to send to a real receiver, add a webhook channel (its secret is shown once) and delete this one."
)
PLACEHOLDERS = {SLACK_NAME: (SLACK_URL, SLACK_PAUSED), WEBHOOK_NAME: (WEBHOOK_URL, WEBHOOK_PAUSED)}
LOG_LENGTH = 12
# What befell a few messages of the log, counted from the newest: (attempts, status, code, error, replays).
MISHAPS = {
    SLACK_NAME: {3: (2, SendStatus.SENT, 200, "", 0)},
    WEBHOOK_NAME: {
        1: (1, SendStatus.FAILED, 404, "The receiver answered 404.", 0),
        5: (1, SendStatus.SENT, 200, "", 1),
    },
}


def seed() -> None:
    """Dispatch the story's waiting events, then add Fraud's paused channels and their log; once they exist, only
    pause those still at their placeholder URL."""
    fraud = Team.objects.filter(slug="fraud").first()
    lead = User.objects.filter(username="lucia").first()
    if fraud is None or lead is None:
        return
    if Channel.objects.filter(team=fraud, name=SLACK_NAME).exists():
        _placeholders_paused(fraud)
        return
    waiting = Event.objects.filter(dispatched_at__isnull=True).select_related("incident", "postmortem", "action_item")
    for event in waiting:
        _at_story_time(event)
    for event in Event.objects.filter(dispatched_at__isnull=True).order_by("occurred_at", "id"):
        event_dispatch(event_id=event.pk, now=event.occurred_at)
    _person_sends_forgotten()
    slack = channel_create(
        team=fraud,
        actor=lead,
        kind=ChannelKind.SLACK,
        name=SLACK_NAME,
        url=SLACK_URL,
        events=SLACK_EVENTS,
        paused_reason=SLACK_PAUSED,
    )
    webhook = channel_create(
        team=fraud,
        actor=lead,
        kind=ChannelKind.WEBHOOK,
        name=WEBHOOK_NAME,
        url=WEBHOOK_URL,
        events=WEBHOOK_EVENTS,
        paused_reason=WEBHOOK_PAUSED,
    )
    for channel in (slack, webhook):
        _log_write(channel)


def _placeholders_paused(team: Team) -> None:
    """Pause the demo's channels still at their placeholder URL, saying why (a demo seeded before left them active).

    A message still waiting for them then ends unsent at its next try, saying why (``send_deliver``).
    """
    for name, (url, reason) in PLACEHOLDERS.items():
        Channel.objects.filter(team=team, name=name, url=url).exclude(paused_reason=reason).update(
            active=False, paused_reason=reason
        )


def _at_story_time(event: Event) -> None:
    """Date the event when it happened in the story (the chapters run the services today, at pinned times)."""
    at = None
    if event.action_item_id:
        at = event.action_item.created_at
    elif event.postmortem_id:
        postmortem = event.postmortem
        at = postmortem.published_at if event.kind == EventKind.POSTMORTEM_PUBLISHED else postmortem.submitted_at
    elif event.kind == EventKind.INCIDENT_OPENED:
        at = event.incident.detected_at
    elif event.incident_id:
        # The incident's other events are keyed by the timeline entry that records the change.
        entry_id = event.dedupe_key.rsplit(":", 1)[-1]
        if entry_id.isdigit():
            at = (
                TimelineEntry.objects.filter(pk=int(entry_id), incident_id=event.incident_id)
                .values_list("occurred_at", flat=True)
                .first()
            )
    if at is not None and at < event.occurred_at:
        Event.objects.filter(pk=event.pk).update(occurred_at=at, last_occurred_at=at)


def _person_sends_forgotten() -> None:
    """Drop the story's emails before they are sent: the story is past, and the seed emails nobody."""
    NotificationSend.objects.filter(user__isnull=False, status=SendStatus.PENDING).delete()


def _log_write(channel: Channel) -> None:
    """Write the channel's log: its test message, then one message per event it heard, newest ``LOG_LENGTH``."""
    events = [
        event
        for event in Event.objects.filter(team=channel.team).order_by("-occurred_at", "-id")
        if channel.hears(event.kind)
    ][:LOG_LENGTH]
    if not events:
        return
    started = events[-1].occurred_at - timedelta(days=1)
    Channel.objects.filter(pk=channel.pk).update(created_at=started)
    sends = [
        NotificationSend(
            channel=channel,
            status=SendStatus.SENT,
            attempts=1,
            response_code=200,
            created_at=started + timedelta(minutes=2),
            sent_at=started + timedelta(minutes=2, seconds=1),
        )
    ]
    mishaps = MISHAPS.get(channel.name, {})
    for index, event in enumerate(events):
        attempts, status, code, error, replays = mishaps.get(index, (1, SendStatus.SENT, 200, "", 0))
        # A retried message went out after the first backoff; a replayed one when a lead replayed it next morning.
        delay = timedelta(seconds=2 + 30 * (attempts - 1) + 86_400 * replays)
        sends.append(
            NotificationSend(
                event=event,
                channel=channel,
                status=status,
                attempts=attempts,
                replays=replays,
                response_code=code,
                error=error,
                created_at=event.occurred_at,
                sent_at=event.occurred_at + delay if status == SendStatus.SENT else None,
            )
        )
    NotificationSend.objects.bulk_create(sends)
