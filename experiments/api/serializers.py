"""Serializers of the experiment and game-day API. They shape data; services make changes."""

from rest_framework import serializers

from config.validation import DateTimeField, IdField, IdOrNameField, TextField, id_parse
from experiments.models import (
    Arm,
    Experiment,
    ExperimentIncident,
    ExperimentKind,
    GameDay,
    InjectionKind,
    TrafficStep,
    share_number,
)
from experiments.selectors import experiment_context
from experiments.services.experiments import ACTION_FOR_OUTCOME
from incidents.api.serializers import ModelRefSerializer, TeamField, TeamRefSerializer, UserField, UserRefSerializer
from incidents.models import ModelVersion, RegisteredModel

MODEL_UNKNOWN = "No registered model {value!r} in this team: give a model id or name."
VERSION_UNKNOWN = "No version {value!r} of this model: give a version id or its version string."
USE_ACTION = "{field} cannot be changed here: use POST /api/v1/{path}/{{id}}/{action}/."


class VersionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = TextField()


def share_field(**options) -> serializers.DecimalField:
    """Return a traffic share as the API reads and writes it: a JSON number from 0 to 100, in hundredths."""
    return serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False, **options
    )


class TrafficStepSerializer(serializers.ModelSerializer):
    percent = share_field(read_only=True)

    class Meta:
        model = TrafficStep
        fields = ["id", "percent", "step_index", "at", "note"]
        read_only_fields = fields


class ExperimentSerializer(serializers.ModelSerializer):
    reference = TextField(read_only=True)
    web_url = TextField(source="get_absolute_url", read_only=True)
    team = TeamRefSerializer(read_only=True)
    model = ModelRefSerializer(read_only=True)
    candidate_version = VersionRefSerializer(read_only=True)
    control_version = VersionRefSerializer(read_only=True, allow_null=True)
    steps = TrafficStepSerializer(many=True, read_only=True)
    traffic_percent = serializers.SerializerMethodField(help_text="The candidate's share now, in percent.")

    class Meta:
        model = Experiment
        fields = [
            "id",
            "reference",
            "web_url",
            "team",
            "model",
            "environment",
            "kind",
            "candidate_version",
            "control_version",
            "hypothesis",
            "deciding_metric",
            "outcome",
            "outcome_reason",
            "traffic_percent",
            "steps",
            "started_at",
            "ended_at",
            "restricted",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_traffic_percent(self, experiment) -> float | None:
        steps = list(experiment.steps.all())
        return share_number(steps[-1].percent) if steps else None


def _model_in_team(team, value) -> RegisteredModel:
    text = str(value).strip()
    model_id = id_parse(text)
    models = RegisteredModel.objects.filter(team=team)
    model = models.filter(pk=model_id).first() if model_id else models.filter(name=text).first()
    if model is None:
        raise serializers.ValidationError({"model": [MODEL_UNKNOWN.format(value=text[:200])]})
    return model


def _version_of(model, value, field: str) -> ModelVersion | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    versions = ModelVersion.objects.filter(model=model).select_related("model")
    version = versions.filter(version=text).first()
    if version is None and id_parse(text):
        version = versions.filter(pk=id_parse(text)).first()
    if version is None:
        raise serializers.ValidationError({field: [VERSION_UNKNOWN.format(value=text[:64])]})
    return version


class ExperimentCreateSerializer(serializers.Serializer):
    team = TeamField()
    model = IdOrNameField(max_length=200, help_text="Model id or name in the team.")
    environment = TextField(max_length=100)
    kind = serializers.ChoiceField(choices=ExperimentKind.choices, default=ExperimentKind.CANARY)
    candidate_version = IdOrNameField(max_length=64, help_text="Version string (or id) of the candidate.")
    control_version = IdOrNameField(
        max_length=64, required=False, allow_blank=True, allow_null=True, help_text="Version string (or id)."
    )
    hypothesis = TextField(required=False, allow_blank=True, default="", max_length=20_000)
    deciding_metric = TextField(required=False, allow_blank=True, default="", max_length=200)
    traffic_percent = share_field(required=False, allow_null=True)
    started_at = DateTimeField(required=False, allow_null=True)
    restricted = serializers.BooleanField(default=False)

    def validate(self, attrs):
        model = _model_in_team(attrs["team"], attrs["model"])
        attrs["model"] = model
        attrs["candidate_version"] = _version_of(model, attrs["candidate_version"], "candidate_version")
        attrs["control_version"] = _version_of(model, attrs.get("control_version"), "control_version")
        return attrs


class ExperimentUpdateSerializer(serializers.Serializer):
    hypothesis = TextField(required=False, allow_blank=True, max_length=20_000)
    deciding_metric = TextField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=ExperimentKind.choices, required=False)
    restricted = serializers.BooleanField(required=False)

    def validate(self, attrs):
        for name, action in (("outcome", "conclude"), ("steps", "steps")):
            if name in self.initial_data:
                raise serializers.ValidationError(
                    {name: [USE_ACTION.format(field=name, path="experiments", action=action)]}
                )
        return attrs


class TrafficStepCreateSerializer(serializers.Serializer):
    percent = share_field()
    at = DateTimeField(required=False, allow_null=True)
    step_index = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000)
    note = TextField(required=False, allow_blank=True, default="", max_length=300)


class ConcludeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[(value, value) for value in ACTION_FOR_OUTCOME])
    reason = TextField(max_length=10_000)
    at = DateTimeField(required=False, allow_null=True)


class GameDaySerializer(serializers.ModelSerializer):
    reference = TextField(read_only=True)
    web_url = TextField(source="get_absolute_url", read_only=True)
    team = TeamRefSerializer(read_only=True)
    model = ModelRefSerializer(read_only=True, allow_null=True)
    facilitator = UserRefSerializer(read_only=True, allow_null=True)
    participants = UserRefSerializer(many=True, read_only=True)
    incident = serializers.SerializerMethodField()

    class Meta:
        model = GameDay
        fields = [
            "id",
            "reference",
            "web_url",
            "team",
            "title",
            "hypothesis",
            "model",
            "environment",
            "component",
            "injection_kind",
            "injection",
            "blast_radius",
            "abort_conditions",
            "scheduled_at",
            "duration_minutes",
            "facilitator",
            "participants",
            "state",
            "started_at",
            "ended_at",
            "hypothesis_held",
            "observations",
            "abort_reason",
            "incident",
            "restricted",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_incident(self, game_day) -> int | None:
        """Return the drill incident's id (readable through /api/v1/incidents/ by whoever may see it)."""
        return game_day.incident_id


class GameDayPlanSerializer(serializers.Serializer):
    title = TextField(max_length=200)
    hypothesis = TextField(max_length=20_000)
    model = IdOrNameField(max_length=200, required=False, allow_blank=True, allow_null=True)
    environment = TextField(max_length=100, required=False, allow_blank=True)
    component = TextField(max_length=200, required=False, allow_blank=True)
    injection_kind = serializers.ChoiceField(choices=InjectionKind.choices, required=False)
    injection = TextField(max_length=20_000, required=False, allow_blank=True)
    blast_radius = TextField(max_length=20_000, required=False, allow_blank=True)
    abort_conditions = TextField(max_length=20_000, required=False, allow_blank=True)
    scheduled_at = DateTimeField()
    duration_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)
    facilitator = UserField(required=False, allow_null=True)
    participants = serializers.ListField(child=UserField(), required=False, max_length=100)
    restricted = serializers.BooleanField(required=False)


class GameDayCreateSerializer(GameDayPlanSerializer):
    team = TeamField()

    def validate(self, attrs):
        if attrs.get("model") not in (None, ""):
            attrs["model"] = _model_in_team(attrs["team"], attrs["model"])
        else:
            attrs["model"] = None
        return attrs


class GameDayUpdateSerializer(GameDayPlanSerializer):
    def validate(self, attrs):
        for name, action in (("state", "start|finish|abort"), ("hypothesis_held", "finish"), ("team", "")):
            if name in self.initial_data:
                message = (
                    USE_ACTION.format(field=name, path="game-days", action=action)
                    if action
                    else f"{name} cannot be changed."
                )
                raise serializers.ValidationError({name: [message]})
        if "model" in attrs:
            attrs["model"] = (
                _model_in_team(self.context["team"], attrs["model"]) if attrs["model"] not in (None, "") else None
            )
        return attrs


class GameDayFinishSerializer(serializers.Serializer):
    hypothesis_held = serializers.BooleanField(allow_null=True)
    observations = TextField(required=False, allow_blank=True, default="", max_length=20_000)


class GameDayAbortSerializer(serializers.Serializer):
    reason = TextField(max_length=10_000)


class IncidentAttachSerializer(serializers.Serializer):
    incident = IdField(help_text="The id of an incident of the experiment's team.")
    arm = serializers.ChoiceField(choices=Arm.choices, default=Arm.CANDIDATE)


class ExperimentIncidentSerializer(serializers.ModelSerializer):
    traffic_percent = share_field(read_only=True, allow_null=True)
    context = serializers.SerializerMethodField(help_text='"during the canary of fraud-detector v9 at 10 % traffic"')

    class Meta:
        model = ExperimentIncident
        fields = ["incident", "arm", "traffic_percent", "context", "created_at"]
        read_only_fields = fields

    def get_context(self, link) -> str:
        return experiment_context(link=link)
