"""Insights series as JSON under /api/v1/insights/<series>/, with the page's filters, for other dashboards."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from insights.charts import SERIES
from insights.filters import InsightsFilterForm, Period, insights_filters_default
from insights.views import insights_data

FILTER_PARAMETERS = [
    OpenApiParameter("team", OpenApiTypes.STR, description="A team's slug."),
    OpenApiParameter("model", OpenApiTypes.INT, description="A registered model's id."),
    OpenApiParameter(
        "environment",
        OpenApiTypes.STR,
        description="Only this environment. DORA figures count `production` when none is given.",
    ),
    OpenApiParameter("period", OpenApiTypes.STR, enum=Period.values, description="Preset period; default `quarter`."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day of a `custom` period."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (included) of a `custom` period."),
    OpenApiParameter(
        "compare", OpenApiTypes.BOOL, description="Add the same series over the period just before, as `previous`."
    ),
]

DESCRIPTIONS = {
    "dora": "DORA's four keys per team and per model (with their performance bands), overall, and per week.",
    "incidents": "Incidents per week by severity, and time to detect/acknowledge/mitigate/resolve in hours.",
    "versions": "Deployments, failed deployments and incidents per model version in version order; rollbacks.",
    "factors": "Contributing factors per category and week.",
    "follow-through": "Action items opened, done and done on time per week; overdue; post-mortem timeliness.",
    "operational-load": "Each team's operational hours per week against its budget.",
    "game-days": "Drills run, their findings and action items per week.",
}


class InsightsSeriesView(APIView):
    """One insights series. Restricted incidents count only for readers who may see them."""

    series = ""

    def get(self, request):
        form = InsightsFilterForm(request.query_params or None)
        if form.is_bound and not form.is_valid():
            raise ValidationError(
                {
                    ("non_field_errors" if field == "__all__" else field): [str(error) for error in errors]
                    for field, errors in form.errors.items()
                }
            )
        filters = form.filters() if form.is_bound else insights_filters_default()
        return Response(insights_data(user=request.user, filters=filters, series=self.series))


def _view(series: str):
    name = "".join(part.title() for part in series.split("-"))

    # The schema is declared on the method: drf-spectacular warns (W002) when an operation id sits on a class.
    @extend_schema(
        operation_id=f"insights_{series.replace('-', '_')}",
        summary=f"Insights: {series}",
        description=DESCRIPTIONS[series],
        parameters=FILTER_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["insights"],
    )
    def get(self, request):
        return InsightsSeriesView.get(self, request)

    view = type(f"Insights{name}View", (InsightsSeriesView,), {"series": series, "get": get})
    return view.as_view()


INSIGHTS_API_VIEWS = {series: _view(series) for series in SERIES}
