"""Events worth telling people about, the notices people read in the app, and every send to a channel or inbox.

An Event is recorded once per fact (``dedupe_key``) in the transaction that
caused it; a task after commit turns it into Notifications (one per person,
in the app) and NotificationSends (one per channel, and one per person who
wants the email). Each send is a row claimed before it is attempted, so an
event reaches each channel once however often the tasks run.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventKind(models.TextChoices):
    INCIDENT_OPENED = "incident.opened", "Incident opened"
    INCIDENT_SEVERITY_RAISED = "incident.severity_raised", "Severity raised"
    INCIDENT_OWNER_ASSIGNED = "incident.owner_assigned", "Owner assigned"
    INCIDENT_MITIGATED = "incident.mitigated", "Incident mitigated"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    INCIDENT_REOPENED = "incident.reopened", "Incident reopened"
    POSTMORTEM_REVIEW_REQUESTED = "postmortem.review_requested", "Post-mortem review requested"
    POSTMORTEM_CHANGES_REQUESTED = "postmortem.changes_requested", "Post-mortem changes requested"
    POSTMORTEM_APPROVED = "postmortem.approved", "Post-mortem approved"
    POSTMORTEM_PUBLISHED = "postmortem.published", "Post-mortem published"
    ACTION_ITEM_ASSIGNED = "action_item.assigned", "Action item assigned"
    ACTION_ITEM_DUE_SOON = "action_item.due_soon", "Action item due soon"
    ACTION_ITEM_OVERDUE = "action_item.overdue", "Action item overdue"
    SOURCE_DELIVERIES_FAILING = "source.deliveries_failing", "Source deliveries failing"


# Events that ask someone to act by their nature; the others tell a team, and ask only the incident's owner.
DIRECT_ASK_KINDS = frozenset(
    {
        EventKind.INCIDENT_OWNER_ASSIGNED,
        EventKind.POSTMORTEM_REVIEW_REQUESTED,
        EventKind.POSTMORTEM_CHANGES_REQUESTED,
        EventKind.POSTMORTEM_APPROVED,
        EventKind.ACTION_ITEM_ASSIGNED,
        EventKind.ACTION_ITEM_DUE_SOON,
        EventKind.ACTION_ITEM_OVERDUE,
        EventKind.SOURCE_DELIVERIES_FAILING,
    }
)

# The owner's email for these is the daily reminder itself (postmortems/services/reminders.py), sent once.
EMAILED_BY_REMINDERS = frozenset({EventKind.ACTION_ITEM_DUE_SOON, EventKind.ACTION_ITEM_OVERDUE})

ALL_EVENTS = "*"


class Event(models.Model):
    """One fact people may need to hear of, with what they need to know without opening the app."""

    kind = models.CharField(max_length=40, choices=EventKind.choices)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="notification_events")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="notification_events"
    )
    postmortem = models.ForeignKey(
        "postmortems.Postmortem", null=True, blank=True, on_delete=models.CASCADE, related_name="notification_events"
    )
    action_item = models.ForeignKey(
        "postmortems.ActionItem", null=True, blank=True, on_delete=models.CASCADE, related_name="notification_events"
    )
    source = models.ForeignKey(
        "incidents.Source", null=True, blank=True, on_delete=models.CASCADE, related_name="notification_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied from the incident when the event happened: who may hear of it, and how much chat may say.
    restricted = models.BooleanField(default=False)
    # The people asked to act (ids): emailed by default, shown under "needs you".
    direct_user_ids = models.JSONField(default=list, blank=True)
    # Facts as they were: title, severity, model and version, environment, run URL, who acts next.
    facts = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=300, help_text="The page this event is about, relative to the site.")
    # One fact, one event: the same fact emitted twice (a retried task) is stored once.
    dedupe_key = models.CharField(max_length=200, unique=True)
    # Events with one coalescing key inside its window fold into the first: a flapping pipeline says it once.
    coalesce_key = models.CharField(max_length=200, blank=True)
    repeats = models.PositiveIntegerField(default=0)
    occurred_at = models.DateTimeField()
    last_occurred_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="notification_event_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["coalesce_key", "-occurred_at"], name="notification_event_coalesce"),
            models.Index(
                fields=["occurred_at"], condition=Q(dispatched_at__isnull=True), name="notification_event_waiting"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.dedupe_key})"

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"


class Notification(models.Model):
    """The notice one person reads in the app about one event."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    # Asked to act (owner, reviewer, author…), not only told: listed under "needs you".
    direct = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_once_per_user_event")]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_recent"),
            models.Index(
                fields=["user", "-created_at"], condition=Q(read_at__isnull=True), name="notification_user_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} for {self.user}"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    MATTERMOST = "mattermost", "Mattermost"
    DISCORD = "discord", "Discord"
    WEBHOOK = "webhook", "Outbound webhook"


CHAT_KINDS = (ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.MATTERMOST, ChannelKind.DISCORD)


def new_signing_secret() -> str:
    """Return a Standard Webhooks signing key: ``whsec_`` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Channel(models.Model):
    """Where a team hears of events: a mailing list, a chat webhook, or a signed outbound webhook."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=120)
    # A webhook URL, or the address of an email channel.
    url = models.CharField(max_length=1000)
    # Event kinds this channel hears, or ["*"] for all.
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    # Why a paused channel waits, shown to its team: nothing is sent to it, test messages included, until a
    # lead changes its URL or resumes it.
    paused_reason = models.CharField(max_length=300, blank=True)
    # Outbound webhooks only: the Standard Webhooks key (whsec_…), shown once when created.
    secret = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid"),
            models.UniqueConstraint(fields=["team", "name"], name="channel_unique_team_name"),
            models.CheckConstraint(condition=~Q(kind="webhook") | ~Q(secret=""), name="channel_webhook_has_secret"),
            models.CheckConstraint(condition=Q(paused_reason="") | Q(active=False), name="channel_reason_when_paused"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def hears(self, kind: str) -> bool:
        return ALL_EVENTS in self.events or kind in self.events


class SendStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationSend(models.Model):
    """One message of one event to one channel, or by email to one person: claimed, attempted, logged.

    A test message has no event. The unique constraints make "each event
    reaches each channel (and each inbox) once" a fact of the data.
    """

    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="sends")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="sends")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="notification_sends"
    )
    status = models.CharField(max_length=16, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    replays = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt runs: a worker lost half-way leaves the send to the sweeper after this.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SendStatus.values), name="notification_send_status_valid"),
            models.CheckConstraint(
                condition=Q(channel__isnull=False, user__isnull=True) | Q(channel__isnull=True, user__isnull=False),
                name="notification_send_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=Q(event__isnull=False, channel__isnull=False),
                name="notification_send_once_per_channel",
            ),
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(event__isnull=False, user__isnull=False),
                name="notification_send_once_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="notification_send_channel"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying", "sending"]),
                name="notification_send_waiting",
            ),
        ]

    def __str__(self) -> str:
        to = self.channel or self.user
        return f"{self.event or 'test message'} to {to}: {self.status}"

    @property
    def is_test(self) -> bool:
        return self.event_id is None

    @property
    def message_id(self) -> str:
        """Return the id receivers see (``webhook-id``): the same on every attempt and replay of this send."""
        return f"msg_{self.pk}"


class EmailWhen(models.TextChoices):
    ASKED = "asked", "When I am asked to act"
    ALWAYS = "always", "Always"
    NEVER = "never", "Never"


class EmailPreference(models.Model):
    """When a person wants the email of one kind of event; without a row, only when asked to act."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences")
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    when = models.CharField(max_length=8, choices=EmailWhen.choices, default=EmailWhen.ASKED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_once_per_kind"),
            models.CheckConstraint(condition=Q(when__in=EmailWhen.values), name="email_preference_when_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.when}"


class Follow(models.Model):
    """A person following one incident: told of its updates and of its post-mortem's publication.

    Anyone who may read the incident may follow it, inside its team or not;
    each event still reaches only those who may see it when it is dispatched.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="follow_once_per_user_incident")]
        indexes = [models.Index(fields=["user", "-created_at"], name="follow_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.incident_id}"
