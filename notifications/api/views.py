"""API of notifications (the caller's own), the incidents they follow, and team channels with their delivery log."""

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from config.validation import IdFilter, QueryParams, id_parse
from notifications.api.serializers import (
    ChannelCreatedSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    ChannelWriteSerializer,
    FollowCreateSerializer,
    FollowSerializer,
    NotificationSendSerializer,
    NotificationSerializer,
)
from notifications.models import Follow, Notification, NotificationSend, SendStatus
from notifications.selectors import (
    channel_send_log,
    channel_sends_visible_to,
    channels_visible_to,
    follow_list,
    notification_list,
    notification_unread_count,
)
from notifications.services.channels import (
    NOT_A_LEAD,
    channel_create,
    channel_delete,
    channel_send_test,
    channel_update,
)
from notifications.services.follows import follow_start, follow_stop
from notifications.services.inbox import notification_mark_all_read, notification_mark_read
from notifications.services.sends import send_replay
from teams.models import Membership, Team
from teams.selectors import user_is_team_lead, user_is_team_member

UNKNOWN_TEAM = "Unknown team {team!r}: give the id or the slug of one of your teams."
UNKNOWN_INCIDENT = "No incident {incident} that you may read."
REPLAY_QUEUED = "Message queued to be sent again, with the same webhook-id."


def _as_api_error(error: DjangoValidationError):
    raise serializers.ValidationError(error.message_dict) from error


class NotificationListParams(QueryParams):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only the unread notifications.")


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in person's notifications, newest first. Another person's answer 404."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is built without a user
            return Notification.objects.none()
        unread = False
        if self.action == "list":
            params = NotificationListParams(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            unread = params.validated_data["unread"]
        return notification_list(user=self.request.user, unread=unread)

    @extend_schema(parameters=[NotificationListParams])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark the notification read (again is harmless)."""
        notification = self.get_object()
        notification_mark_read(notification=notification, user=request.user)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: inline_serializer("ReadAll", {"marked": serializers.IntegerField()})})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark every unread notification read; answer how many were."""
        return Response({"marked": notification_mark_all_read(user=request.user)})

    @extend_schema(responses={200: inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})})
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        """Answer how many notifications are unread (what the bell shows)."""
        return Response({"unread": notification_unread_count(user=request.user)})


class ChannelViewSet(viewsets.ModelViewSet):
    """Channels of the caller's teams (every team's for staff): members read them, leads manage them."""

    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        channels = channels_visible_to(user=self.request.user).order_by("team__name", "name", "id")
        team = self.request.query_params.get("team", "")
        if team:
            channels = channels.filter(Q(team__slug=team) | Q(team_id=id_parse(team)))
        return channels

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = self.request.user
        if user.is_staff:
            led = set(Team.objects.values_list("pk", flat=True))
        else:
            led = set(Membership.objects.filter(user=user, role=Membership.Role.LEAD).values_list("team_id", flat=True))
        context["can_manage"] = dict.fromkeys(led, True)
        return context

    def _team(self, reference: str) -> Team:
        lookup = Q(slug=reference)
        if reference.isascii() and reference.isdigit() and len(reference) < 18:
            lookup |= Q(pk=int(reference))
        team = Team.objects.filter(lookup).first()
        if team is None or not user_is_team_member(user=self.request.user, team=team):
            raise serializers.ValidationError({"team": [UNKNOWN_TEAM.format(team=reference[:60])]})
        return team

    @extend_schema(
        parameters=[OpenApiParameter("team", OpenApiTypes.STR, description="Only this team's (id or slug).")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ChannelWriteSerializer, responses={201: ChannelCreatedSerializer})
    def create(self, request):
        """Create a channel (leads); a ``webhook`` channel's answer holds its signing ``secret``, never shown again."""
        serializer = ChannelWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = self._team(data.pop("team"))
        try:
            channel = channel_create(team=team, actor=request.user, **data)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except DjangoValidationError as error:
            _as_api_error(error)
        context = {**self.get_serializer_context(), "can_manage": {team.pk: True}}
        return Response(ChannelCreatedSerializer(channel, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelUpdateSerializer, responses={200: ChannelSerializer})
    def partial_update(self, request, pk=None):
        """Change the name, URL, events or active flag (leads)."""
        channel = self.get_object()
        serializer = ChannelUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            channel_update(channel=channel, actor=request.user, **serializer.validated_data)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except DjangoValidationError as error:
            _as_api_error(error)
        return Response(ChannelSerializer(channel, context=self.get_serializer_context()).data)

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request, pk=None):
        """Delete the channel and its delivery log (leads)."""
        channel = self.get_object()
        try:
            channel_delete(channel=channel, actor=request.user)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: NotificationSendSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Queue a test message (leads); follow its send in ``sends``."""
        channel = self.get_object()
        try:
            send = channel_send_test(channel=channel, actor=request.user)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(NOT_A_LEAD.format(team=channel.team)) from error
        except DjangoValidationError as error:
            _as_api_error(error)
        return Response(NotificationSendSerializer(send).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: NotificationSendSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def sends(self, request, pk=None):
        """The channel's delivery log, newest first: status, attempts, answer code, next try."""
        channel = self.get_object()
        page = self.paginate_queryset(channel_send_log(channel=channel))
        return self.get_paginated_response(NotificationSendSerializer(page, many=True).data)


class FollowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The incidents the signed-in person follows: their updates and their post-mortem's publication reach them."""

    serializer_class = FollowSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is built without a user
            return Follow.objects.none()
        return follow_list(user=self.request.user)

    @extend_schema(request=FollowCreateSerializer, responses={200: FollowSerializer, 201: FollowSerializer})
    def create(self, request):
        """Follow an incident; following it again answers 200 with the same follow."""
        from incidents.selectors.incidents import incident_list

        serializer = FollowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident_id = serializer.validated_data["incident"]
        incident = incident_list(user=request.user).filter(pk=incident_id).first()
        if incident is None:
            raise serializers.ValidationError({"incident": [UNKNOWN_INCIDENT.format(incident=incident_id)]})
        try:
            follow, created = follow_start(incident=incident, user=request.user)
        except PermissionError as error:
            raise PermissionDenied(str(error)) from error
        follow.incident = incident
        return Response(
            FollowSerializer(follow).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def destroy(self, request, pk=None):
        """Stop following the incident."""
        follow = self.get_object()
        follow_stop(incident=follow.incident, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SendFilter(django_filters.FilterSet):
    channel = IdFilter(field_name="channel_id")
    status = django_filters.ChoiceFilter(choices=SendStatus.choices)

    class Meta:
        model = NotificationSend
        fields = ["channel", "status"]


class SendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log of your teams' channels (staff: all), newest first; leads replay a sent or failed message."""

    serializer_class = NotificationSendSerializer
    filterset_class = SendFilter
    queryset = NotificationSend.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is built without a user
            return NotificationSend.objects.none()
        return channel_sends_visible_to(user=self.request.user)

    @extend_schema(request=None, responses={202: NotificationSendSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send the message again (leads), with the same ``webhook-id``: only a sent or failed one; follow it here."""
        send = self.get_object()
        if not user_is_team_lead(user=request.user, team=send.channel.team):
            raise PermissionDenied(NOT_A_LEAD.format(team=send.channel.team))
        try:
            send = send_replay(send=send)
        except ValueError as error:
            raise serializers.ValidationError({"status": [str(error)]}) from error
        return Response(NotificationSendSerializer(send).data, status=status.HTTP_202_ACCEPTED)
