"""Serializers of the incident and registry API. They shape data; services make changes."""

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.validation import DateTimeField, IdOrNameField, TextField, id_parse
from incidents.models import Incident, IncidentKind, ModelVersion, RegisteredModel, Severity
from incidents.services.incidents import NOTE_MAX_LENGTH

User = get_user_model()

TEAM_UNKNOWN = "No team {value!r}: give a team id or slug."
MODEL_UNKNOWN = "No registered model {value!r} in this team: give a model id or name."
USER_UNKNOWN = "No active user {value!r}: give a user id or username."
USE_ACTION = "{field} cannot be changed here: use POST /api/v1/incidents/{{id}}/{action}/."
MANAGED_FIELDS = {
    "status": "mitigate|resolve|close|reopen",
    "severity": "severity",
    "owner": "assign",
    "team": "",
}


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = TextField()
    full_name = TextField(source="get_full_name")


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = TextField()
    name = TextField()


class ModelRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = TextField()


class IncidentSerializer(serializers.ModelSerializer):
    reference = TextField(read_only=True)
    web_url = TextField(source="get_absolute_url", read_only=True)
    team = TeamRefSerializer(read_only=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    model = ModelRefSerializer(read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "web_url",
            "title",
            "team",
            "kind",
            "severity",
            "status",
            "owner",
            "environment",
            "model",
            "model_unknown",
            "tags",
            "summary",
            "impact",
            "restricted",
            "started_at",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, incident) -> list[str]:
        return [tag.name for tag in incident.tags.all()]


@extend_schema_field(OpenApiTypes.STR)
class TeamField(serializers.Field):
    """A team given by id or slug."""

    def to_internal_value(self, data):
        from teams.models import Team

        text = str(data).strip()
        team_id = id_parse(text)
        team = Team.objects.filter(pk=team_id).first() if team_id else Team.objects.filter(slug=text).first()
        if team is None:
            raise serializers.ValidationError(TEAM_UNKNOWN.format(value=text[:100]))
        return team

    def to_representation(self, value):
        return value.pk


@extend_schema_field(OpenApiTypes.STR)
class UserField(serializers.Field):
    """An active user given by id or username; null for nobody."""

    def to_internal_value(self, data):
        text = str(data).strip()
        user_id = id_parse(text)
        user = (
            User.objects.filter(pk=user_id, is_active=True).first()
            if user_id
            else User.objects.filter(username=text, is_active=True).first()
        )
        if user is None:
            raise serializers.ValidationError(USER_UNKNOWN.format(value=text[:150]))
        return user

    def to_representation(self, value):
        return value.pk


class _ManagedFieldsMixin:
    def validate(self, attrs):
        refused = {}
        for field, action in MANAGED_FIELDS.items():
            if field in self.initial_data:
                refused[field] = (
                    USE_ACTION.format(field=field.capitalize(), action=action)
                    if action
                    else "An incident's team cannot be changed."
                )
        if refused:
            raise serializers.ValidationError(refused)
        return super().validate(attrs)


class IncidentCreateSerializer(serializers.Serializer):
    team = TeamField()
    title = TextField(max_length=300)
    kind = serializers.ChoiceField(choices=IncidentKind.choices, default=IncidentKind.OTHER)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV3)
    environment = TextField(max_length=100, required=False, allow_blank=True, default="")
    model = IdOrNameField(max_length=200, required=False, allow_blank=True, default="")
    summary = TextField(required=False, allow_blank=True, default="", max_length=50_000)
    impact = TextField(required=False, allow_blank=True, default="", max_length=50_000)
    tags = serializers.ListField(child=TextField(max_length=80), required=False, default=list)
    restricted = serializers.BooleanField(required=False, default=False)
    started_at = DateTimeField(required=False, allow_null=True, default=None)
    detected_at = DateTimeField(required=False, allow_null=True, default=None)
    owner = UserField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        name = attrs.get("model", "").strip()
        if name:
            models = RegisteredModel.objects.filter(team=attrs["team"])
            model_id = id_parse(name)
            model = models.filter(pk=model_id).first() if model_id else models.filter(name=name).first()
            if model is None:
                raise serializers.ValidationError({"model": MODEL_UNKNOWN.format(value=name)})
            attrs["model"] = model
        else:
            attrs["model"] = None
        return attrs


class IncidentUpdateSerializer(_ManagedFieldsMixin, serializers.Serializer):
    title = TextField(max_length=300, required=False)
    kind = serializers.ChoiceField(choices=IncidentKind.choices, required=False)
    environment = TextField(max_length=100, required=False, allow_blank=True)
    summary = TextField(required=False, allow_blank=True, max_length=50_000)
    impact = TextField(required=False, allow_blank=True, max_length=50_000)
    tags = serializers.ListField(child=TextField(max_length=80), required=False)
    restricted = serializers.BooleanField(required=False)
    started_at = DateTimeField(required=False)
    detected_at = DateTimeField(required=False)
    acknowledged_at = DateTimeField(required=False, allow_null=True)
    mitigated_at = DateTimeField(required=False, allow_null=True)
    resolved_at = DateTimeField(required=False, allow_null=True)


class TransitionSerializer(serializers.Serializer):
    note = TextField(required=False, allow_blank=True, max_length=500, default="")


class SeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    note = TextField(required=False, allow_blank=True, max_length=500, default="")


class AssignSerializer(serializers.Serializer):
    owner = UserField(allow_null=True)


class NoteSerializer(serializers.Serializer):
    text = TextField(max_length=NOTE_MAX_LENGTH)


class TimelineItemSerializer(serializers.Serializer):
    """An entry of the timeline, or an alias move of a linked model (``id`` null, ``alias_move`` set)."""

    id = serializers.SerializerMethodField()
    kind = TextField()
    occurred_at = serializers.DateTimeField()
    text = TextField()
    author = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    old_value = serializers.SerializerMethodField()
    new_value = serializers.SerializerMethodField()
    starred = serializers.BooleanField()
    deployment = serializers.SerializerMethodField()
    alias_move = serializers.SerializerMethodField()

    def get_id(self, item) -> int | None:
        return item.entry.pk if item.entry else None

    def get_author(self, item) -> dict | None:
        if item.entry and item.entry.author:
            return UserRefSerializer(item.entry.author).data
        return None

    def get_source(self, item) -> str:
        if item.entry:
            return "" if item.entry.author_id else (item.entry.source_label or "Kintsugi")
        return "Model registry"

    def get_old_value(self, item) -> str:
        return item.entry.old_value if item.entry else ""

    def get_new_value(self, item) -> str:
        return item.entry.new_value if item.entry else ""

    def get_deployment(self, item) -> int | None:
        return item.entry.deployment_id if item.entry else None

    def get_alias_move(self, item) -> dict | None:
        move = item.alias_move
        if move is None:
            return None
        return {
            "model": move.model.name,
            "alias": move.alias,
            "kind": move.kind,
            "from_version": move.from_version.version if move.from_version_id else None,
            "to_version": move.to_version.version if move.to_version_id else None,
        }


class RegisteredModelSerializer(serializers.ModelSerializer):
    team = TeamRefSerializer(read_only=True)
    version_count = serializers.IntegerField(read_only=True)
    open_incident_count = serializers.IntegerField(read_only=True)
    aliases = serializers.SerializerMethodField()
    web_url = TextField(source="get_absolute_url", read_only=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "team",
            "description",
            "version_count",
            "open_incident_count",
            "aliases",
            "web_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_aliases(self, model) -> dict[str, str]:
        return {alias.alias: alias.version.version for alias in model.aliases.all()}


class ModelVersionSerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()
    latest_deployments = serializers.SerializerMethodField()
    incidents = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "version", "run_id", "source_uri", "created_at", "aliases", "latest_deployments", "incidents"]
        read_only_fields = fields

    def _summary(self, version) -> dict:
        return self.context["summaries"].get(version.id, {"aliases": [], "deployments": [], "links": []})

    def get_aliases(self, version) -> list[str]:
        return self._summary(version)["aliases"]

    def get_latest_deployments(self, version) -> list[dict]:
        return [
            {
                "id": deployment.id,
                "environment": deployment.environment,
                "status": deployment.status,
                "at": serializers.DateTimeField().to_representation(deployment.last_event_at),
                "run_url": deployment.run_url,
            }
            for deployment in self._summary(version)["deployments"]
        ]

    def get_incidents(self, version) -> list[dict]:
        return [{"id": link.incident_id, "role": link.role} for link in self._summary(version)["links"]]
