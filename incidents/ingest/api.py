"""API of deliveries (read, replay) and deployments (read)."""

import base64

import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from config.api import OptionalUrlField
from config.validation import IdFilter, IdOrNameFilter, TextField
from incidents.models import Delivery, Deployment, DeploymentStatus
from incidents.selectors.deliveries import delivery_list_for_user, deployment_list_for_user
from incidents.services.deliveries import delivery_replay
from teams.selectors import user_is_team_member

REPLAY_FORBIDDEN = "Only members of the source's team can replay its deliveries."
REPLAY_QUEUED = "Delivery queued to be processed again."


class DeliveryFilter(django_filters.FilterSet):
    source = IdFilter(field_name="source_id")
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    event = django_filters.CharFilter()

    class Meta:
        model = Delivery
        fields = ["source", "status", "event"]


class DeliverySerializer(serializers.ModelSerializer):
    source_name = TextField(source="source.name", read_only=True)
    team = serializers.IntegerField(source="source.team_id", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "source",
            "source_name",
            "team",
            "delivery_id",
            "event",
            "status",
            "attempts",
            "replay_count",
            "error",
            "model_found",
            "deployment",
            "content_type",
            "received_at",
            "processed_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    body = serializers.SerializerMethodField()
    body_encoding = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "headers", "normalized", "body_encoding", "body"]
        read_only_fields = fields

    def _text(self, delivery) -> str | None:
        try:
            return bytes(delivery.body).decode("utf-8")
        except UnicodeDecodeError:
            return None

    def get_body_encoding(self, delivery) -> str:
        return "utf-8" if self._text(delivery) is not None else "base64"

    def get_body(self, delivery) -> str:
        text = self._text(delivery)
        return text if text is not None else base64.b64encode(bytes(delivery.body)).decode()


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deliveries of the sources your teams own (staff: all), newest first; members replay them."""

    filterset_class = DeliveryFilter
    queryset = Delivery.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        deliveries = delivery_list_for_user(user=self.request.user)
        if self.action == "list":
            return deliveries.defer("body", "headers", "normalized")
        return deliveries.defer(None)

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "DeliveryReplayed",
                {
                    "message": TextField(),
                    "delivery": serializers.IntegerField(),
                    "status": TextField(),
                },
            )
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Process the delivery again from its stored body (after a fix, or to re-check)."""
        delivery = self.get_object()
        if not user_is_team_member(user=request.user, team=delivery.source.team):
            raise PermissionDenied(REPLAY_FORBIDDEN)
        delivery = delivery_replay(delivery=delivery, actor=request.user)
        return Response(
            {"message": REPLAY_QUEUED, "delivery": delivery.pk, "status": delivery.status},
            status=status.HTTP_202_ACCEPTED,
        )


class DeploymentFilter(django_filters.FilterSet):
    source = IdFilter(field_name="source_id")
    team = IdOrNameFilter(id_field="team_id", name_field="team__slug", help_text="Team id or slug.")
    model = IdOrNameFilter(
        id_field="model_version__model_id",
        name_field="model_version__model__name",
        help_text="Registered model id or name.",
    )
    status = django_filters.ChoiceFilter(choices=DeploymentStatus.choices)
    environment = django_filters.CharFilter()

    class Meta:
        model = Deployment
        fields = ["source", "team", "model", "status", "environment"]


class DeploymentSerializer(serializers.ModelSerializer):
    team_slug = TextField(source="team.slug", read_only=True)
    run_url = OptionalUrlField(read_only=True)
    model = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "team",
            "team_slug",
            "source",
            "external_id",
            "model",
            "version",
            "model_version",
            "environment",
            "status",
            "pipeline",
            "run_id",
            "title",
            "sha",
            "ref",
            "run_url",
            "failing_step",
            "started_at",
            "finished_at",
            "last_event_at",
        ]
        read_only_fields = fields

    def get_model(self, deployment) -> str | None:
        return deployment.model_version.model.name if deployment.model_version_id else None

    def get_version(self, deployment) -> str | None:
        return deployment.model_version.version if deployment.model_version_id else None


class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deployments of every team, newest event first: successes count too."""

    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilter
    queryset = Deployment.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        return deployment_list_for_user(user=self.request.user)
