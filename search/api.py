"""Search across learnings, post-mortems and incidents, under /api/v1/search/."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.validation import DateField, IdRelatedField, QueryParams, TextField
from incidents.models import RegisteredModel
from postmortems.learnings_forms import DATES_REVERSED
from postmortems.models import FactorCategory
from search.forms import QUERY_TOO_LONG
from search.models import SearchKind
from search.selectors import MAX_PAGE, MAX_QUERY_LENGTH, search
from search.views import filters_from
from teams.models import Team

QUERY_REQUIRED = "Give the words to search for in q."


class SearchParamsSerializer(QueryParams):
    q = TextField(
        max_length=MAX_QUERY_LENGTH,
        trim_whitespace=True,
        error_messages={
            "required": QUERY_REQUIRED,
            "blank": QUERY_REQUIRED,
            "max_length": QUERY_TOO_LONG.format(limit=MAX_QUERY_LENGTH),
        },
    )
    kind = serializers.ChoiceField(choices=SearchKind.choices, required=False)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False)
    model = IdRelatedField(queryset=RegisteredModel.objects.all(), required=False)
    category = serializers.ChoiceField(choices=FactorCategory.choices, required=False)
    tag = TextField(max_length=60, required=False)
    since = DateField(required=False)
    until = DateField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, default=1)

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError({"since": [DATES_REVERSED]})
        return data


class SearchHitSerializer(serializers.Serializer):
    kind = TextField()
    id = serializers.IntegerField(source="object_id")
    title = TextField(help_text="HTML: escaped, matches in <mark>.")
    snippet = TextField(help_text="HTML: escaped, matches in <mark>.")
    url = TextField()
    reference = TextField()
    team = TextField(source="team_name")
    occurred_at = serializers.DateTimeField()
    score = serializers.FloatField()


class SearchAnswerSerializer(serializers.Serializer):
    query = TextField()
    page = serializers.IntegerField()
    has_next = serializers.BooleanField()
    results = SearchHitSerializer(many=True, source="hits")


class SearchView(APIView):
    """Search learnings, post-mortems and incidents the caller may see; best matches first."""

    @extend_schema(
        tags=["search"],
        parameters=[SearchParamsSerializer],
        responses={200: SearchAnswerSerializer},
        description="Full-text with ranking on PostgreSQL; every word must appear elsewhere.",
    )
    def get(self, request):
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        tag = (data.get("tag") or "").strip().lower()
        filters = filters_from({**data, "tag": tag})
        results = search(user=request.user, query=data["q"], filters=filters, page=data["page"])
        return Response(SearchAnswerSerializer(results).data)
