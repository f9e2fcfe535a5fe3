"""API of action items: list with filters, read, create, update, bulk status changes."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from config.api import OptionalUrlField
from config.validation import DateField, IdField, IdFilter, IdRelatedField, TextField, form_error, id_parse
from incidents.models import Incident
from incidents.selectors.incidents import incidents_visible_to
from postmortems.models import (
    UNRESOLVED_STATUSES,
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    Postmortem,
)
from postmortems.selectors.actions import action_item_list
from postmortems.selectors.postmortems import postmortems_visible_to
from postmortems.services.actions import (
    ActionItemError,
    ActionItemPermissionError,
    action_item_bulk_set_status,
    action_item_create,
    action_item_update,
)
from teams.models import Team
from teams.selectors import user_display_name

User = get_user_model()

UNKNOWN_OWNER = "No active person with the id or username {value!r}."
UNKNOWN_TEAM = "No team with the id or slug {value!r}."


def raise_api_error(error: ActionItemError):
    """Raise the DRF exception for a service error: 403 for permissions, 400 naming the field otherwise."""
    if isinstance(error, ActionItemPermissionError):
        raise PermissionDenied(error.message) from error
    raise ValidationError({error.field or "non_field_errors": [error.message]}) from error


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = TextField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user_display_name(user)


class ActionItemSerializer(serializers.ModelSerializer):
    owner = PersonSerializer()
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    incident = serializers.PrimaryKeyRelatedField(read_only=True)
    incident_reference = TextField(source="incident.reference", read_only=True)
    postmortem = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    tracker_url = OptionalUrlField(read_only=True, help_text="The issue in an external tracker, or null.")
    overdue = serializers.SerializerMethodField()
    url = TextField(source="get_absolute_url", read_only=True)

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "url",
            "title",
            "description",
            "owner",
            "team",
            "incident",
            "incident_reference",
            "postmortem",
            "kind",
            "priority",
            "due_date",
            "status",
            "wont_do_reason",
            "verification",
            "tracker_url",
            "overdue",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_overdue(self, item) -> bool:
        return item.is_overdue(timezone.localdate())


@extend_schema_field(OpenApiTypes.STR)
class OwnerInput(serializers.Field):
    """A person by id or username."""

    def to_representation(self, value):
        return value.pk

    def to_internal_value(self, data):
        value = str(data).strip()
        person = None
        if id_parse(value) is not None:
            person = User.objects.filter(pk=id_parse(value), is_active=True).first()
        if person is None:
            person = User.objects.filter(username=value[:150], is_active=True).first()
        if person is None:
            raise ValidationError(UNKNOWN_OWNER.format(value=value[:60]))
        return person


class ActionItemWriteSerializer(serializers.Serializer):
    # Blank title and verification reach the service, whose messages say what to write.
    title = TextField(max_length=200, allow_blank=True)
    description = TextField(required=False, allow_blank=True, max_length=20_000)
    owner = OwnerInput()
    kind = serializers.ChoiceField(choices=ActionItemKind.choices, required=False)
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices, required=False)
    due_date = DateField(required=False)
    verification = TextField(max_length=5000, allow_blank=True)
    tracker_url = OptionalUrlField(required=False, max_length=500)


class ActionItemCreateSerializer(ActionItemWriteSerializer):
    incident = IdRelatedField(queryset=Incident.objects.select_related("team"), required=False)
    postmortem = IdRelatedField(queryset=Postmortem.objects.select_related("incident__team"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An incident or post-mortem the caller may not see is answered as missing, like an unknown id.
        request = self.context.get("request")
        if request is not None:
            self.fields["incident"].queryset = incidents_visible_to(user=request.user).select_related("team")
            self.fields["postmortem"].queryset = postmortems_visible_to(user=request.user).select_related(
                "incident__team"
            )

    def validate(self, data):
        if "incident" not in data and "postmortem" not in data:
            raise ValidationError({"incident": ["Give the incident (or post-mortem) the action item follows up."]})
        return data


class ActionItemUpdateSerializer(ActionItemWriteSerializer):
    status = serializers.ChoiceField(choices=ActionItemStatus.choices, required=False)
    wont_do_reason = TextField(required=False, allow_blank=True, max_length=2000)


class BulkStatusSerializer(serializers.Serializer):
    items = serializers.ListField(child=IdField(), max_length=200)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices)
    reason = TextField(required=False, allow_blank=True, max_length=2000)


class OwnerFilterField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value or value == "me":
            return value or None
        if id_parse(value) is not None:
            person = User.objects.filter(pk=id_parse(value)).first()
        else:
            person = User.objects.filter(username=value[:150]).first()
        if person is None:
            raise form_error(UNKNOWN_OWNER.format(value=value[:60]))
        return person


class TeamFilterField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        condition = Q(slug=value[:100])
        if id_parse(value) is not None:
            condition |= Q(pk=id_parse(value))
        team = Team.objects.filter(condition).first()
        if team is None:
            raise form_error(UNKNOWN_TEAM.format(value=value[:60]))
        return team


class OwnerFilter(django_filters.Filter):
    field_class = OwnerFilterField


class TeamFilter(django_filters.Filter):
    field_class = TeamFilterField


class ActionItemFilter(django_filters.FilterSet):
    owner = OwnerFilter(method="filter_owner", help_text='A person\'s id or username, or "me".')
    team = TeamFilter(field_name="team", help_text="A team's id or slug.")
    status = django_filters.MultipleChoiceFilter(choices=ActionItemStatus.choices)
    overdue = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_overdue",
        help_text="true: unresolved and past its due date; false: all others.",
    )
    incident = IdFilter(field_name="incident_id")

    class Meta:
        model = ActionItem
        fields = ["owner", "team", "status", "overdue", "incident"]

    def filter_owner(self, queryset, name, value):
        return queryset.filter(owner=self.request.user if value == "me" else value)

    def filter_overdue(self, queryset, name, value):
        late = Q(status__in=UNRESOLVED_STATUSES, due_date__lt=timezone.localdate())
        return queryset.filter(late) if value == "true" else queryset.exclude(late)


@extend_schema(tags=["action items"])
class ActionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Follow-up action items: one owner, a due date, and how done will be verified."""

    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ActionItem.objects.none()
        return action_item_list(user=self.request.user)

    def get_serializer_class(self):
        return {
            "create": ActionItemCreateSerializer,
            "partial_update": ActionItemUpdateSerializer,
            "update": ActionItemUpdateSerializer,
            "bulk_status": BulkStatusSerializer,
        }.get(self.action, ActionItemSerializer)

    def _answer(self, item, status_code=status.HTTP_200_OK) -> Response:
        item = action_item_list(user=self.request.user).get(pk=item.pk)
        return Response(ActionItemSerializer(item).data, status=status_code)

    @extend_schema(request=ActionItemCreateSerializer, responses={201: ActionItemSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ActionItemCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        postmortem = data.pop("postmortem", None)
        incident = data.pop("incident", None) or postmortem.incident
        try:
            item = action_item_create(incident=incident, postmortem=postmortem, actor=request.user, **data)
        except ActionItemError as error:
            raise_api_error(error)
        return self._answer(item, status.HTTP_201_CREATED)

    @extend_schema(request=ActionItemUpdateSerializer, responses={200: ActionItemSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(request=ActionItemUpdateSerializer, responses={200: ActionItemSerializer})
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    def _update(self, request, *, partial: bool) -> Response:
        item = self.get_object()
        serializer = ActionItemUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            item = action_item_update(item=item, actor=request.user, **serializer.validated_data)
        except ActionItemError as error:
            raise_api_error(error)
        return self._answer(item)

    @extend_schema(request=BulkStatusSerializer, responses={200: ActionItemSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="bulk-status")
    def bulk_status(self, request):
        """Move many items to one status at once: all of them, or none when one may not be changed."""
        serializer = BulkStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            items = action_item_bulk_set_status(
                item_ids=data["items"], actor=request.user, status=data["status"], reason=data.get("reason", "")
            )
        except ActionItemError as error:
            raise_api_error(error)
        fresh = action_item_list(user=request.user).filter(pk__in=[item.pk for item in items])
        return Response(ActionItemSerializer(fresh, many=True).data)
