"""Filters of the incident list, shared by the page and the API."""

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Case, IntegerField, Q, Value, When

from config.validation import DateTimeFilter, id_parse
from config.widgets import IsoDateInput
from incidents.models import Incident, IncidentKind, IncidentStatus, RegisteredModel, Severity

SORTS = {
    "-detected": ("Newest first", ("-detected_at", "-id")),
    "detected": ("Oldest first", ("detected_at", "id")),
    "severity": ("Most severe first", ("severity", "-detected_at", "-id")),
    "-updated": ("Recently updated", ("-updated_at", "-id")),
    "status": ("Status (open first)", ("status_rank", "-detected_at", "-id")),
    "title": ("Title A to Z", ("title", "id")),
}
DEFAULT_SORT = "-detected"
STATUS_RANK = Case(
    *(When(status=status, then=Value(rank)) for rank, status in enumerate(IncidentStatus.values)),
    output_field=IntegerField(),
)
SEARCH_MAX_LENGTH = 200


def _date_only(value: str) -> bool:
    return len(value.strip()) == 10


class IncidentFilterSet(django_filters.FilterSet):
    """Team (id or slug), status, severity, kind, model (id or name), environment, detected range, text, sort."""

    q = django_filters.CharFilter(
        method="filter_q",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search title and summary"}),
    )
    team = django_filters.CharFilter(method="filter_team", label="Team", max_length=100)
    # No join multiplies rows here, so no DISTINCT (django-filter adds one by default, and it is slow).
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices, label="Status", distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label="Severity", distinct=False)
    kind = django_filters.ChoiceFilter(choices=IncidentKind.choices, label="Kind", empty_label="Any kind")
    model = django_filters.CharFilter(method="filter_model", label="Model", max_length=200)
    environment = django_filters.CharFilter(
        field_name="environment", lookup_expr="iexact", label="Environment", max_length=100
    )
    detected_after = DateTimeFilter(method="filter_detected_after", label="Detected from", widget=IsoDateInput())
    detected_before = DateTimeFilter(method="filter_detected_before", label="Detected until", widget=IsoDateInput())
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        method="filter_sort",
        label="Sort",
        empty_label=None,
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        # A form left on "any" sends empty values ("status="): they mean no filter, not a bad choice.
        if data is not None and hasattr(data, "getlist"):
            data = data.copy()
            for key in list(data.keys()):
                values = [value for value in data.getlist(key) if value.strip()]
                if values:
                    data.setlist(key, values)
                else:
                    del data[key]
        super().__init__(data, *args, **kwargs)

    def filter_q(self, queryset, name, value):
        words = value.split()
        for word in words[:8]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(summary__icontains=word))
        return queryset

    # Slugs and names are resolved to ids first: the planner then picks the (team, status, detected)
    # index instead of walking every incident of a status through a join.
    def filter_team(self, queryset, name, value):
        from teams.models import Team

        value = value.strip()
        team_id = id_parse(value)
        if team_id is None:
            team_id = Team.objects.filter(slug=value).values_list("pk", flat=True).first()
        return queryset.filter(team_id=team_id) if team_id is not None else queryset.none()

    def filter_model(self, queryset, name, value):
        value = value.strip()
        model_id = id_parse(value)
        if model_id is not None:
            return queryset.filter(model_id=model_id)
        return queryset.filter(
            model_id__in=list(RegisteredModel.objects.filter(name=value).values_list("pk", flat=True))
        )

    def filter_detected_after(self, queryset, name, value):
        return queryset.filter(detected_at__gte=value)

    def filter_detected_before(self, queryset, name, value):
        # A bare date includes the whole day.
        if _date_only(self.data.get(name, "")):
            return queryset.filter(detected_at__lt=value + timedelta(days=1))
        return queryset.filter(detected_at__lte=value)

    def filter_sort(self, queryset, name, value):
        return queryset

    @property
    def qs(self):
        queryset = super().qs
        sort = self.form.cleaned_data.get("sort") if self.is_bound and self.form.is_valid() else None
        ordering = SORTS.get(sort or DEFAULT_SORT, SORTS[DEFAULT_SORT])[1]
        if "status_rank" in ordering:
            queryset = queryset.annotate(status_rank=STATUS_RANK)
        return queryset.order_by(*ordering)

    @property
    def active_count(self) -> int:
        """Return how many filters (not sort, not search) the request sets."""
        if not self.is_bound or not self.form.is_valid():
            return 0
        return sum(
            1
            for key, value in self.form.cleaned_data.items()
            if key not in ("sort", "q") and value not in (None, "", [])
        )
