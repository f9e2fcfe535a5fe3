"""API of the learnings library."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from config.markdown import render_markdown
from config.validation import IdRelatedField, TextField
from incidents.models import RegisteredModel
from postmortems.models import FactorCategory, Learning
from postmortems.selectors.learnings import learning_list, learnings_with_relations
from postmortems.services.learnings import (
    LearningError,
    LearningPermissionError,
    learning_create,
    learning_update,
)
from teams.models import Team


def raise_api_error(error: LearningError):
    if isinstance(error, LearningPermissionError):
        raise PermissionDenied(error.message) from error
    raise ValidationError({error.field or "non_field_errors": [error.message]}) from error


class LearningSerializer(serializers.ModelSerializer):
    # A learning of the whole organisation belongs to no team.
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    models = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    source_postmortems = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    body_html = serializers.SerializerMethodField()
    url = TextField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Learning
        fields = [
            "id",
            "url",
            "title",
            "body",
            "body_html",
            "team",
            "tags",
            "models",
            "categories",
            "source_postmortems",
            "author",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, learning) -> list[str]:
        return [tag.name for tag in learning.tags.all()]

    def get_models(self, learning) -> list[dict]:
        return [{"id": model.pk, "name": model.name} for model in learning.registered_models.all()]

    def get_categories(self, learning) -> list[str]:
        return [row.category for row in learning.categories.all()]

    def get_body_html(self, learning) -> str:
        return render_markdown(learning.body)


class LearningWriteSerializer(serializers.Serializer):
    title = TextField(max_length=200)
    body = TextField(max_length=20_000)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    tags = serializers.ListField(child=TextField(max_length=60), required=False, max_length=12)
    models = IdRelatedField(
        queryset=RegisteredModel.objects.all(), many=True, required=False, source="registered_models"
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=FactorCategory.choices), required=False, max_length=20
    )


class LearningFilter(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="slug", field_name="team")
    tag = django_filters.CharFilter(field_name="tags__name", max_length=60)
    category = django_filters.ChoiceFilter(choices=FactorCategory.choices, field_name="categories__category")
    model = django_filters.ModelChoiceFilter(queryset=RegisteredModel.objects.all(), field_name="registered_models")

    class Meta:
        model = Learning
        fields = ["team", "tag", "category", "model"]


@extend_schema(tags=["learnings"])
class LearningViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Short, reusable lessons; anyone signed in reads them all."""

    serializer_class = LearningSerializer
    filterset_class = LearningFilter

    def get_queryset(self):
        return learning_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action in {"create", "partial_update", "update"}:
            return LearningWriteSerializer
        return LearningSerializer

    def _answer(self, learning, status_code=status.HTTP_200_OK) -> Response:
        fresh = learnings_with_relations(user=self.request.user).get(pk=learning.pk)
        return Response(LearningSerializer(fresh).data, status=status_code)

    @extend_schema(request=LearningWriteSerializer, responses={201: LearningSerializer})
    def create(self, request, *args, **kwargs):
        serializer = LearningWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            learning = learning_create(author=request.user, **serializer.validated_data)
        except LearningError as error:
            raise_api_error(error)
        return self._answer(learning, status.HTTP_201_CREATED)

    @extend_schema(request=LearningWriteSerializer, responses={200: LearningSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(request=LearningWriteSerializer, responses={200: LearningSerializer})
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    def _update(self, request, *, partial: bool) -> Response:
        learning = self.get_object()
        serializer = LearningWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            learning = learning_update(learning=learning, actor=request.user, **serializer.validated_data)
        except LearningError as error:
            raise_api_error(error)
        return self._answer(learning)
