"""API of experiments and game days: the same visibility and team rules as incidents.

Everyone signed in reads them, restricted ones only their team and staff;
members of the team change them. Starting and finishing a game day is for its
facilitator, the team's leads and staff; any member may abort it.
"""

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from config.validation import id_parse
from experiments.api.serializers import (
    ConcludeSerializer,
    ExperimentCreateSerializer,
    ExperimentIncidentSerializer,
    ExperimentSerializer,
    ExperimentUpdateSerializer,
    GameDayAbortSerializer,
    GameDayCreateSerializer,
    GameDayFinishSerializer,
    GameDaySerializer,
    GameDayUpdateSerializer,
    IncidentAttachSerializer,
    TrafficStepCreateSerializer,
    TrafficStepSerializer,
)
from experiments.models import ExperimentKind, ExperimentOutcome, GameDayState, InjectionKind
from experiments.selectors import experiment_list, game_day_list
from experiments.services import experiments as experiment_services
from experiments.services import game_days as game_day_services
from experiments.services.transitions import InvalidTransition
from incidents.pagination import CappedPageNumberPagination
from incidents.selectors.incidents import incident_get_visible
from teams.selectors import user_is_team_member

ID_PATTERN = "[0-9]{1,18}"
INCIDENT_UNKNOWN = "No incident with this id that you can see."


def _validation_error(error: ValidationError) -> ApiValidationError:
    if hasattr(error, "error_dict"):
        return ApiValidationError(error.message_dict)
    return ApiValidationError({"non_field_errors": error.messages})


class TransitionRefused(APIException):
    """A move the lifecycle forbids: 400 with the message, the current state and the allowed actions."""

    status_code = status.HTTP_400_BAD_REQUEST


def _call(service, **arguments):
    """Return what the service returns; a refusal of the service is a 400 (a forbidden move names the allowed)."""
    try:
        return service(**arguments)
    except InvalidTransition as error:
        raise TransitionRefused(
            {"message": str(error), "state": error.current, "allowed": error.allowed_actions}
        ) from error
    except ValidationError as error:
        raise _validation_error(error) from error


class _TeamModelEnvironmentFilterSet(django_filters.FilterSet):
    team = django_filters.CharFilter(method="filter_team", max_length=100, help_text="Team id or slug.")
    model = django_filters.CharFilter(method="filter_model", max_length=200, help_text="Model id or name.")
    environment = django_filters.CharFilter(field_name="environment", lookup_expr="iexact", max_length=100)

    def filter_team(self, queryset, name, value):
        team_id = id_parse(value)
        return queryset.filter(team_id=team_id) if team_id else queryset.filter(team__slug=value.strip())

    def filter_model(self, queryset, name, value):
        model_id = id_parse(value)
        return queryset.filter(model_id=model_id) if model_id else queryset.filter(model__name=value.strip())


class ExperimentFilterSet(_TeamModelEnvironmentFilterSet):
    state = django_filters.MultipleChoiceFilter(
        field_name="outcome", choices=ExperimentOutcome.choices, distinct=False, help_text="The outcome."
    )
    kind = django_filters.ChoiceFilter(choices=ExperimentKind.choices)


class GameDayFilterSet(_TeamModelEnvironmentFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=GameDayState.choices, distinct=False)
    injection_kind = django_filters.ChoiceFilter(choices=InjectionKind.choices)


class _TeamChangeMixin:
    # The services' refusal, raised before the request's values are read (the services check it again).
    not_a_member: str

    def _changeable(self):
        obj = self.get_object()
        if not user_is_team_member(user=self.request.user, team=obj.team):
            raise PermissionDenied(self.not_a_member.format(team=obj.team))
        return obj

    def _fresh(self, pk) -> dict:
        obj = get_object_or_404(self.get_queryset(), pk=pk)
        return self.serializer_class(obj, context=self.get_serializer_context()).data

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().update(request, *args, **kwargs)


class ExperimentViewSet(
    _TeamChangeMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Rollouts of a candidate model version beside a control, with their traffic steps and outcome."""

    serializer_class = ExperimentSerializer
    not_a_member = experiment_services.NOT_A_TEAM_MEMBER
    filterset_class = ExperimentFilterSet
    lookup_value_regex = ID_PATTERN
    pagination_class = CappedPageNumberPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return experiment_list(user=self.request.user).prefetch_related("steps")

    @extend_schema(request=ExperimentCreateSerializer, responses={201: ExperimentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ExperimentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        experiment = _call(
            experiment_services.experiment_start,
            actor=request.user,
            initial_percent=data.pop("traffic_percent", None),
            **data,
        )
        return Response(self._fresh(experiment.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=ExperimentUpdateSerializer, responses={200: ExperimentSerializer})
    def partial_update(self, request, *args, **kwargs):
        experiment = self._changeable()
        serializer = ExperimentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        _call(
            experiment_services.experiment_update,
            experiment=experiment,
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(self._fresh(experiment.pk))

    @extend_schema(request=TrafficStepCreateSerializer, responses={201: TrafficStepSerializer})
    @action(detail=True, methods=["post"])
    def steps(self, request, pk=None):
        experiment = self._changeable()
        serializer = TrafficStepCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = _call(
            experiment_services.traffic_step_add, experiment=experiment, actor=request.user, **serializer.validated_data
        )
        return Response(TrafficStepSerializer(step).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=IncidentAttachSerializer,
        responses={201: ExperimentIncidentSerializer, 400: OpenApiResponse(), 403: OpenApiResponse()},
    )
    @action(detail=True, methods=["post"])
    def incidents(self, request, pk=None):
        """Attach an incident of the team (declared by a person) to the arm it hit, at the traffic of its start."""
        experiment = self._changeable()
        serializer = IncidentAttachSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = incident_get_visible(user=request.user, pk=serializer.validated_data["incident"])
        if incident is None:
            raise ApiValidationError({"incident": [INCIDENT_UNKNOWN]})
        link = _call(
            experiment_services.experiment_incident_attach,
            experiment=experiment,
            incident=incident,
            arm=serializer.validated_data["arm"],
            actor=request.user,
        )
        return Response(ExperimentIncidentSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConcludeSerializer, responses={200: ExperimentSerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def conclude(self, request, pk=None):
        experiment = self._changeable()
        serializer = ConcludeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refused = _call(
            experiment_services.experiment_conclude,
            experiment=experiment,
            actor=request.user,
            **serializer.validated_data,
        )
        if isinstance(refused, Response):
            return refused
        return Response(self._fresh(experiment.pk))


class GameDayViewSet(
    _TeamChangeMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Planned failure injections: plan, start (opens a drill incident), finish or abort."""

    serializer_class = GameDaySerializer
    not_a_member = game_day_services.NOT_A_TEAM_MEMBER
    filterset_class = GameDayFilterSet
    lookup_value_regex = ID_PATTERN
    pagination_class = CappedPageNumberPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return game_day_list(user=self.request.user)

    @extend_schema(request=GameDayCreateSerializer, responses={201: GameDaySerializer})
    def create(self, request, *args, **kwargs):
        serializer = GameDayCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        game_day = _call(game_day_services.game_day_plan, actor=request.user, **data)
        return Response(self._fresh(game_day.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=GameDayUpdateSerializer, responses={200: GameDaySerializer})
    def partial_update(self, request, *args, **kwargs):
        game_day = self._changeable()
        serializer = GameDayUpdateSerializer(data=request.data, partial=True, context={"team": game_day.team})
        serializer.is_valid(raise_exception=True)
        _call(game_day_services.game_day_update, game_day=game_day, actor=request.user, **serializer.validated_data)
        return Response(self._fresh(game_day.pk))

    def _run(self, request, service, serializer_class=None):
        game_day = self._changeable()
        data = {}
        if serializer_class is not None:
            serializer = serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        _call(service, game_day=game_day, actor=request.user, **data)
        return Response(self._fresh(game_day.pk))

    @extend_schema(request=None, responses={200: GameDaySerializer, 400: OpenApiResponse(), 403: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start the game day and open its drill incident (kind game day)."""
        return self._run(request, game_day_services.game_day_start)

    @extend_schema(
        request=GameDayFinishSerializer,
        responses={200: GameDaySerializer, 400: OpenApiResponse(), 403: OpenApiResponse()},
    )
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        """Finish a running game day: whether the hypothesis held, what was observed; starts its post-mortem."""
        return self._run(request, game_day_services.game_day_finish, GameDayFinishSerializer)

    @extend_schema(request=GameDayAbortSerializer, responses={200: GameDaySerializer, 400: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        """Abort a planned or running game day, with the reason; any member of the team may."""
        return self._run(request, game_day_services.game_day_abort, GameDayAbortSerializer)
