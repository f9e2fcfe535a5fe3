from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.validation import IdOrNameField, TextField
from notifications.messages import message_for_event
from notifications.models import ALL_EVENTS, Channel, ChannelKind, EventKind, Follow, Notification, NotificationSend


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(source="event.kind", choices=EventKind.choices, read_only=True)
    title = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    url = TextField(source="event.url", read_only=True)
    facts = serializers.JSONField(source="event.facts", read_only=True)
    read = serializers.SerializerMethodField()
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "text",
            "url",
            "direct",
            "read",
            "read_at",
            "created_at",
            "occurred_at",
            "facts",
        ]
        read_only_fields = fields

    def get_title(self, notification) -> str:
        return message_for_event(notification.event).title

    def get_text(self, notification) -> str:
        return message_for_event(notification.event).text

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": [ALL_EVENTS, *EventKind.values]},
        "description": 'Event names this channel hears, or ["*"] for all of them.',
        "example": ["incident.opened", "postmortem.published"],
    }
)
class EventsField(serializers.JSONField):
    pass


class ChannelSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    team_slug = TextField(source="team.slug", read_only=True)
    events = EventsField()
    url = serializers.SerializerMethodField(help_text="The URL or address; shown in full to the team's leads only.")

    class Meta:
        model = Channel
        fields = ["id", "team", "team_slug", "kind", "name", "url", "events", "active", "paused_reason", "created_at"]
        read_only_fields = fields

    def get_url(self, channel) -> str:
        if self.context.get("can_manage", {}).get(channel.team_id):
            return channel.url
        # A chat webhook URL is a credential: members see where it points, not the whole of it.
        head = channel.url.split("/")
        return "/".join(head[:3]) + "/…" if len(head) > 3 else channel.url[:6] + "…"


class ChannelCreatedSerializer(ChannelSerializer):
    secret = TextField(
        read_only=True,
        allow_blank=True,
        help_text="Webhook channels only: the whsec_ signing key, shown in this answer only.",
    )

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ChannelWriteSerializer(serializers.Serializer):
    team = IdOrNameField(help_text="The team's id or slug.")
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    name = TextField(max_length=120)
    url = TextField(max_length=1000)
    events = EventsField()
    active = serializers.BooleanField(default=True)


class ChannelUpdateSerializer(serializers.Serializer):
    name = TextField(max_length=120, required=False)
    url = TextField(max_length=1000, required=False)
    events = EventsField(required=False)
    active = serializers.BooleanField(required=False)


class NotificationSendSerializer(serializers.ModelSerializer):
    event = serializers.SerializerMethodField()
    message_id = TextField(read_only=True)

    class Meta:
        model = NotificationSend
        fields = [
            "id",
            "message_id",
            "channel",
            "event",
            "status",
            "attempts",
            "replays",
            "response_code",
            "error",
            "created_at",
            "next_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields

    def get_event(self, send) -> str | None:
        return send.event.kind if send.event_id else None


class FollowSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", read_only=True)
    reference = TextField(source="incident.reference", read_only=True)
    title = TextField(source="incident.title", read_only=True)
    status = TextField(source="incident.status", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Follow
        fields = ["id", "incident", "reference", "title", "status", "url", "created_at"]
        read_only_fields = fields

    def get_url(self, follow) -> str:
        from django.conf import settings

        return f"{settings.SITE_URL}{follow.incident.get_absolute_url()}"


class FollowCreateSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, help_text="The id of an incident you may read.")
