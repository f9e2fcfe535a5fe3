"""Teams under /api/v1/teams/ (staff create, leads change) and the caller under /api/v1/users/me/."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from teams.api.serializers import MeSerializer, TeamSerializer
from teams.models import Team
from teams.selectors import user_is_team_lead
from teams.services import team_create, team_update


class TeamPermission(permissions.BasePermission):
    message = "Only staff can create teams, and only the team's leads (or staff) can change it."

    def has_permission(self, request, view):
        if request.method == "POST":
            return request.user.is_staff
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return user_is_team_lead(user=request.user, team=obj)


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Teams: everyone signed in reads; staff create; leads update."""

    serializer_class = TeamSerializer
    permission_classes = [permissions.IsAuthenticated, TeamPermission]
    queryset = Team.objects.prefetch_related("memberships__user")
    lookup_field = "slug"
    filterset_fields = ["slug"]

    def perform_create(self, serializer):
        try:
            serializer.instance = team_create(**serializer.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error

    def perform_update(self, serializer):
        try:
            serializer.instance = team_update(team=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error


class MeView(APIView):
    """The signed-in user and their teams."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)
