"""API of incidents, their timelines and the model registry."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from config.validation import id_parse
from incidents.api.serializers import (
    AssignSerializer,
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    ModelVersionSerializer,
    NoteSerializer,
    RegisteredModelSerializer,
    SeveritySerializer,
    TimelineItemSerializer,
    TransitionSerializer,
)
from incidents.filters import IncidentFilterSet
from incidents.models import RegisteredModel
from incidents.pagination import CappedPageNumberPagination
from incidents.selectors.incidents import (
    TimelineItem,
    incident_list,
    incident_timeline,
    user_can_change_incident,
)
from incidents.selectors.registry import model_list, model_version_summaries, model_versions_newest_first
from incidents.services import incidents as services
from incidents.services.incidents import NOT_A_TEAM_MEMBER, IncidentRuleError, InvalidTransition

NOT_IN_TEAM = "Only members of {team} (and staff) can declare its incidents."
MILESTONE_FIELDS = set(services.MILESTONES)

TRANSITIONS = {
    "mitigate": services.incident_mitigate,
    "resolve": services.incident_resolve,
    "close": services.incident_close,
    "reopen": services.incident_reopen,
}


def _validation_error(error: ValidationError) -> ApiValidationError:
    if hasattr(error, "message_dict"):
        return ApiValidationError(error.message_dict)
    return ApiValidationError({"non_field_errors": error.messages})


def _invalid_transition(error: InvalidTransition) -> Response:
    return Response(
        {
            "message": str(error),
            "status": error.current,
            "allowed": error.allowed,
            "allowed_actions": error.allowed_actions,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def _rule_error(error: IncidentRuleError) -> Response:
    return Response({"message": str(error)}, status=status.HTTP_400_BAD_REQUEST)


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents the caller may see; members of the incident's team (and staff) change them."""

    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    pagination_class = CappedPageNumberPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return incident_list(user=self.request.user).defer(None).prefetch_related("tags")

    def _changeable(self):
        incident = self.get_object()
        if not user_can_change_incident(user=self.request.user, incident=incident):
            raise PermissionDenied(NOT_A_TEAM_MEMBER.format(team=incident.team))
        return incident

    def _fresh(self, pk) -> dict:
        incident = get_object_or_404(self.get_queryset(), pk=pk)
        return IncidentSerializer(incident, context=self.get_serializer_context()).data

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        from teams.selectors import user_is_team_member

        if not user_is_team_member(user=request.user, team=data["team"]):
            raise PermissionDenied(NOT_IN_TEAM.format(team=data["team"]))
        owner = data.pop("owner")
        if owner is not None and not user_is_team_member(user=owner, team=data["team"]):
            raise ApiValidationError(
                {"owner": [services.OWNER_NOT_MEMBER.format(user=owner.username, team=data["team"])]}
            )
        try:
            tags = services.tag_names_clean(data.pop("tags"))
            incident = services.incident_open(created_by=request.user, owner=owner, tags=tags, **data)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response(self._fresh(incident.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request, *args, **kwargs):
        incident = self._changeable()
        serializer = IncidentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        milestones = {name: data.pop(name) for name in list(data) if name in MILESTONE_FIELDS}
        try:
            if data:
                incident = services.incident_update(incident=incident, actor=request.user, **data)
            if milestones:
                services.incident_update_milestones(incident=incident, actor=request.user, **milestones)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response(self._fresh(incident.pk))

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().update(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        incident = self._changeable()
        try:
            services.incident_acknowledge(incident=incident, actor=request.user)
        except IncidentRuleError as error:
            return _rule_error(error)
        return Response(self._fresh(incident.pk))

    def _transition(self, request, name: str):
        incident = self._changeable()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            TRANSITIONS[name](incident=incident, actor=request.user, note=serializer.validated_data["note"])
        except InvalidTransition as error:
            return _invalid_transition(error)
        return Response(self._fresh(incident.pk))

    @extend_schema(request=TransitionSerializer, responses={200: IncidentSerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def mitigate(self, request, pk=None):
        return self._transition(request, "mitigate")

    @extend_schema(request=TransitionSerializer, responses={200: IncidentSerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._transition(request, "resolve")

    @extend_schema(request=TransitionSerializer, responses={200: IncidentSerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, "close")

    @extend_schema(request=TransitionSerializer, responses={200: IncidentSerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, "reopen")

    @extend_schema(request=SeveritySerializer, responses={200: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        incident = self._changeable()
        serializer = SeveritySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.incident_change_severity(incident=incident, actor=request.user, **serializer.validated_data)
        except IncidentRuleError as error:
            return _rule_error(error)
        return Response(self._fresh(incident.pk))

    @extend_schema(request=AssignSerializer, responses={200: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        incident = self._changeable()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.incident_assign_owner(
                incident=incident, owner=serializer.validated_data["owner"], actor=request.user
            )
        except IncidentRuleError as error:
            return _rule_error(error)
        return Response(self._fresh(incident.pk))

    @extend_schema(
        methods=["GET"],
        request=None,
        # The whole timeline in one answer, with its length: it is read as one story, never paged.
        responses={
            200: inline_serializer(
                "Timeline",
                {"count": serializers.IntegerField(), "results": TimelineItemSerializer(many=True)},
            )
        },
        filters=False,
    )
    @extend_schema(methods=["POST"], request=NoteSerializer, responses={201: TimelineItemSerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def timeline(self, request, pk=None):
        if request.method == "POST":
            incident = self._changeable()
            serializer = NoteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                entry = services.timeline_note_add(
                    incident=incident, author=request.user, text=serializer.validated_data["text"]
                )
            except ValidationError as error:
                raise _validation_error(error) from error
            item = TimelineItem(entry.occurred_at, entry.kind, entry.text, entry=entry)
            return Response(TimelineItemSerializer(item).data, status=status.HTTP_201_CREATED)
        incident = self.get_object()
        items = incident_timeline(incident=incident)
        return Response({"count": len(items), "results": TimelineItemSerializer(items, many=True).data})


class RegisteredModelFilterSet(filters.FilterSet):
    team = filters.CharFilter(method="filter_team", max_length=100)
    q = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = RegisteredModel
        fields: list[str] = []

    def filter_team(self, queryset, name, value):
        team_id = id_parse(value)
        return queryset.filter(team_id=team_id) if team_id else queryset.filter(team__slug=value.strip())


class RegisteredModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Registered models with their team, version count, aliases and open incidents; versions newest first."""

    serializer_class = RegisteredModelSerializer
    filterset_class = RegisteredModelFilterSet
    pagination_class = CappedPageNumberPagination

    def get_queryset(self):
        return model_list(user=self.request.user).prefetch_related("aliases__version")

    @extend_schema(responses={200: ModelVersionSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def versions(self, request, pk=None):
        model = get_object_or_404(RegisteredModel, pk=pk)
        page = self.paginate_queryset(model_versions_newest_first(model=model))
        summaries = model_version_summaries(user=request.user, versions=page)
        serializer = ModelVersionSerializer(page, many=True, context={"summaries": summaries})
        return self.get_paginated_response(serializer.data)
