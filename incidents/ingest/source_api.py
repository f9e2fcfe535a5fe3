"""API of sources: create (the secret is answered once), read, change options, rotate the secret, test."""

from datetime import timedelta

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from config.validation import IdOrNameFilter, IdRelatedField, TextField, id_parse
from incidents.ingest.views import source_send_test_delivery
from incidents.models import RegisteredModel, Source, SourceKind
from incidents.models.sources import ModelPatternField
from incidents.selectors.sources import source_visible_to
from incidents.services.sources import (
    MAX_GRACE_SECONDS,
    MAX_RATE_LIMIT_PER_MINUTE,
    OPTION_FIELDS,
    UNKNOWN_KIND,
    SourceRuleError,
    source_create,
    source_rotate_secret,
    source_update,
)
from teams.models import Team
from teams.selectors import user_is_team_member

UNKNOWN_TEAM = "Unknown team {team!r}: give the id or the slug of a team."
NOT_YOUR_TEAM = "You can only add sources to teams you belong to."
NOT_AN_OPTION = "{field!r} cannot be changed; options are: {options}."


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "The team's id or slug.", "example": "fraud"}
)
class TeamReferenceField(serializers.Field):
    """A team given by id (``3``, ``"3"``) or by slug (``"fraud"``); answered as its id."""

    default_error_messages = {"unknown": UNKNOWN_TEAM}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            self.fail("unknown", team=data)
        team_id = id_parse(data)
        if team_id is None and isinstance(data, int):
            self.fail("unknown", team=data)
        team = Team.objects.filter(Q(pk=team_id) if team_id is not None else Q(slug=data[:100])).first()
        if team is None:
            self.fail("unknown", team=data)
        return team

    def to_representation(self, value):
        return value.pk


class SourceSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    team_slug = TextField(source="team.slug", read_only=True)
    kind_label = TextField(source="get_kind_display", read_only=True)
    webhook_url = TextField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "team",
            "team_slug",
            "kind",
            "kind_label",
            "webhook_url",
            "is_active",
            "environment_severity",
            "model_pattern",
            "model_pattern_field",
            "default_model",
            "rate_limit_per_minute",
            "created_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, source) -> str:
        return reverse("incidents:source-detail", kwargs={"pk": source.pk})


class SourceCreateSerializer(serializers.Serializer):
    team = TeamReferenceField()
    kind = TextField()
    name = TextField(max_length=120)
    environment_severity = serializers.JSONField(required=False)
    model_pattern = TextField(max_length=300, required=False, allow_blank=True, trim_whitespace=False)
    model_pattern_field = serializers.ChoiceField(choices=ModelPatternField.choices, required=False)
    default_model = IdRelatedField(queryset=RegisteredModel.objects.all(), required=False, allow_null=True)
    rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=MAX_RATE_LIMIT_PER_MINUTE, required=False)

    def validate_kind(self, value: str) -> str:
        if value not in SourceKind.values:
            raise serializers.ValidationError(UNKNOWN_KIND.format(kind=value, kinds=", ".join(SourceKind.values)))
        return value


class SourceCreatedSerializer(SourceSerializer):
    secret = TextField(read_only=True, help_text="Shown in this answer only.")

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SourceOptionsSerializer(serializers.Serializer):
    name = TextField(max_length=120, required=False)
    is_active = serializers.BooleanField(required=False)
    environment_severity = serializers.JSONField(required=False)
    model_pattern = TextField(max_length=300, required=False, allow_blank=True, trim_whitespace=False)
    model_pattern_field = serializers.ChoiceField(choices=ModelPatternField.choices, required=False)
    default_model = IdRelatedField(queryset=RegisteredModel.objects.all(), required=False, allow_null=True)
    rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=MAX_RATE_LIMIT_PER_MINUTE, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(OPTION_FIELDS))
            if unknown:
                raise serializers.ValidationError(
                    {field: [NOT_AN_OPTION.format(field=field, options=", ".join(OPTION_FIELDS))] for field in unknown}
                )
        return super().to_internal_value(data)


class RotateSecretSerializer(serializers.Serializer):
    grace_seconds = serializers.IntegerField(
        min_value=0,
        max_value=MAX_GRACE_SECONDS,
        help_text="How long the current secrets keep working (0 to 604800 seconds).",
    )


class SourceFilter(django_filters.FilterSet):
    team = IdOrNameFilter(id_field="team_id", name_field="team__slug", label="Team id or slug")
    kind = django_filters.ChoiceFilter(choices=SourceKind.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Source
        fields = ["team", "kind", "is_active"]


def _raise_as_api_error(error: DjangoValidationError):
    raise serializers.ValidationError(error.message_dict) from error


class SourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sources of the caller's teams (all of them for staff). Others' sources answer 404."""

    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return source_visible_to(user=self.request.user).order_by("team__name", "name", "id")

    @extend_schema(request=SourceCreateSerializer, responses={201: SourceCreatedSerializer})
    def create(self, request):
        """Create a source; the answer holds its secret, which is never shown again."""
        serializer = SourceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = data.pop("team")
        if not user_is_team_member(user=request.user, team=team):
            raise PermissionDenied(NOT_YOUR_TEAM)
        try:
            source, secret = source_create(team=team, created_by=request.user, **data)
        except DjangoValidationError as error:
            _raise_as_api_error(error)
        source.secret = secret
        return Response(SourceCreatedSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SourceOptionsSerializer, responses={200: SourceSerializer})
    def partial_update(self, request, pk=None):
        """Change options: name, is_active, environment_severity, model pattern, default model, rate limit."""
        source = self.get_object()
        serializer = SourceOptionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            source_update(source=source, **serializer.validated_data)
        except DjangoValidationError as error:
            _raise_as_api_error(error)
        return Response(SourceSerializer(source).data)

    @extend_schema(
        request=RotateSecretSerializer,
        responses={
            200: inline_serializer(
                "RotatedSecret",
                {"secret": TextField(), "previous_expires_at": serializers.DateTimeField(allow_null=True)},
            )
        },
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """Issue a new secret (answered once); the current ones keep working for ``grace_seconds``."""
        source = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        had_secret = source.secrets.exists()
        grace = timedelta(seconds=serializer.validated_data["grace_seconds"])
        secret = source_rotate_secret(source=source, grace=grace, now=now)
        return Response({"secret": secret, "previous_expires_at": (now + grace) if had_secret else None})

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "TestDeliveryResult",
                {
                    "accepted": serializers.BooleanField(),
                    "webhook_status": serializers.IntegerField(),
                    "message": TextField(),
                    "answer": serializers.DictField(),
                    "delivery": serializers.IntegerField(allow_null=True),
                    "delivery_url": TextField(allow_null=True),
                    "test": serializers.BooleanField(),
                    "outcome": TextField(),
                },
            ),
            409: OpenApiResponse(description="The source is inactive or has no valid secret."),
        },
    )
    @action(detail=True, methods=["post"], url_path="test-delivery")
    def test_delivery(self, request, pk=None):
        """Send the sender's sample delivery through the webhook; report what the webhook answered."""
        source = self.get_object()
        try:
            result = source_send_test_delivery(source=source)
        except SourceRuleError as error:
            return Response({"message": str(error)}, status=status.HTTP_409_CONFLICT)
        delivery = result.delivery
        return Response(
            {
                "accepted": result.accepted,
                "webhook_status": result.status_code,
                "message": result.message,
                "answer": result.answer,
                "delivery": delivery.pk if delivery else None,
                # Marked as a test: read like any other delivery, applied to nothing.
                "test": bool(delivery and delivery.is_test),
                "outcome": result.outcome,
                "delivery_url": reverse(
                    "incidents:delivery-detail", kwargs={"pk": source.pk, "delivery_pk": delivery.pk}
                )
                if delivery
                else None,
            }
        )
