"""The insights page, its CSV downloads, and the small charts other pages embed."""

import csv
from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from incidents.models import Deployment, RegisteredModel
from insights.charts import CHARTS, CHARTS_BY_KEY, SERIES, Chart, Table, dora_weeks_figure
from insights.filters import InsightsFilterForm, InsightsFilters, Period, insights_filters_default
from insights.selectors import delivery_weekly_series
from teams.models import Team


def insights_data(*, user, filters: InsightsFilters, series: str) -> dict:
    """Return one series for the view, with the previous period's under ``previous`` when comparing."""
    data = SERIES[series](user=user, filters=filters)
    data["period"] = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.compare:
        before = filters.previous()
        data["previous"] = SERIES[series](user=user, filters=before)
        data["previous"]["period"] = {"start": before.start.isoformat(), "end": before.end.isoformat()}
    return data


@dataclass
class Section:
    chart: Chart
    table: Table
    has_data: bool
    figures: list[tuple[str, dict]]
    csv_query: str


def _sections(*, user, filters: InsightsFilters) -> tuple[list[Section], dict]:
    cache: dict[str, dict] = {}
    sections = []
    for chart in CHARTS:
        if chart.series not in cache:
            cache[chart.series] = insights_data(user=user, filters=filters, series=chart.series)
        data = cache[chart.series]
        has_data = chart.has_data(data)
        builders = [chart.figure, *chart.figures] if has_data else []
        figures = [(f"chart-{chart.key}-{index}", builder(data)) for index, builder in enumerate(builders)]
        sections.append(Section(chart, chart.table(data), has_data, figures, filters.query()))
    return sections, cache


def _form(request) -> InsightsFilterForm:
    return InsightsFilterForm(request.GET or None)


def insights_page(request):
    """Show every insights chart for the chosen team, model, environment and period."""

    form = _form(request)
    status = 200
    if form.is_bound and not form.is_valid():
        filters, status = insights_filters_default(), 400
    else:
        filters = form.filters() if form.is_bound else insights_filters_default()
    sections, data = _sections(user=request.user, filters=filters)
    context = {
        "form": form,
        "filters": filters,
        "sections": sections,
        "data": data,
        "periods": Period.choices,
        "presets": [
            (value, label, filters.query(period=value, start=None, end=None))
            for value, label in Period.choices
            if value != Period.CUSTOM
        ],
        "teams": Team.objects.order_by("name").only("id", "name", "slug"),
        "models": RegisteredModel.objects.select_related("team").order_by("name").only("id", "name", "team__name"),
        "environments": _environments(),
    }
    return render(request, "insights/page.html", context, status=status)


def _environments() -> list[str]:

    # A handful of names, read from the (environment, …) index.
    return list(Deployment.objects.order_by("environment").values_list("environment", flat=True).distinct()[:50])


def insights_csv(request, chart: str):
    """Download one chart's table as CSV, for the same view as the page."""
    definition = CHARTS_BY_KEY.get(chart)
    if definition is None:
        raise Http404("No such chart.")
    form = _form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters() if form.is_bound else insights_filters_default()
    data = insights_data(user=request.user, filters=filters, series=definition.series)
    table = definition.table(data)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = slugify(f"kintsugi-{chart}-{filters.start}-{filters.end}")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow([column.label for column in table.columns])
    writer.writerows(table.rows)
    return response


def embedded_dora(*, user, team=None, model=None) -> dict:
    """Return the small deployment-frequency and change-failure-rate chart of a team or model page.

    The view is the default period (a quarter) in the DORA environment; the link opens the full insights.
    """
    default = insights_filters_default()
    filters = InsightsFilters(start=default.start, end=default.end, team=team, model=model)
    data = delivery_weekly_series(user=user, filters=filters)
    overall = data["overall"]
    subject = team.name if team else model.name
    figure = dora_weeks_figure(data, title=f"{subject}: deployments and change failure rate per week", height=280)
    return {
        "id": f"dora-embed-{'team' if team else 'model'}",
        "figure": figure,
        "overall": overall,
        "has_data": any(week["deployments"] for week in data["weeks"]),
        "table": CHARTS_BY_KEY["dora-weeks"].table(data),
        "environment": data["environment"],
        "query": filters.query(),
    }
