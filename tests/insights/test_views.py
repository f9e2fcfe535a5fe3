"""The insights page, its CSV downloads and the API: the same numbers everywhere, the filters everywhere."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from insights.charts import CHARTS, SERIES
from insights.filters import (
    CUSTOM_PERIOD_NEEDS_DATES,
    PERIOD_ENDS_BEFORE_START,
    PERIOD_TOO_LONG,
    UNKNOWN_MODEL,
    UNKNOWN_TEAM,
)

pytestmark = pytest.mark.django_db

VIEW = "period=custom&start=2026-03-02&end=2026-03-15"


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def as_text(value) -> str:
    return "" if value is None else str(value)


class TestApi:
    @pytest.mark.parametrize("series", list(SERIES))
    def test_every_series_answers(self, org, member, token_client_for, series):
        response = token_client_for(member).get(f"/api/v1/insights/{series}/?{VIEW}")
        assert response.status_code == 200
        assert response.json()["period"] == {"start": "2026-03-02", "end": "2026-03-15"}

    @pytest.mark.parametrize("chart", CHARTS, ids=[chart.key for chart in CHARTS])
    def test_json_matches_the_csv_table(self, org, member, token_client_for, client, chart):
        """The CSV (the page's table) is built from exactly what the API answers."""
        data = token_client_for(member).get(f"/api/v1/insights/{chart.series}/?{VIEW}").json()
        client.force_login(member)
        rows = csv_rows(client.get(reverse("insights:csv", args=[chart.key]) + f"?{VIEW}"))
        table = chart.table(data)
        assert rows[0] == [column.label for column in table.columns]
        assert rows[1:] == [[as_text(value) for value in row] for row in table.rows]
        assert len(rows) > 1

    def test_numbers_in_the_json_are_the_selectors(self, org, member, token_client_for):
        dora = token_client_for(member).get(f"/api/v1/insights/dora/?{VIEW}").json()
        assert (dora["overall"]["deployments"], dora["overall"]["change_failures"]) == (5, 3)
        csv_dora = token_client_for(member).get(f"/api/v1/insights/dora/?{VIEW}&environment=staging").json()
        assert csv_dora["overall"]["deployments"] == 1

    def test_restricted_incidents_count_only_for_those_who_may_see_them(
        self, org, member, outsider, staff, token_client_for
    ):
        def failures(user):
            return token_client_for(user).get(f"/api/v1/insights/dora/?{VIEW}").json()["overall"]["change_failures"]

        assert (failures(member), failures(staff), failures(outsider)) == (3, 3, 2)
        incidents = token_client_for(outsider).get(f"/api/v1/insights/incidents/?{VIEW}").json()
        assert incidents["overall"]["total"] == 2

    def test_compare_adds_the_previous_period(self, org, member, token_client_for):
        data = token_client_for(member).get(f"/api/v1/insights/dora/?{VIEW}&compare=1").json()
        assert data["previous"]["period"] == {"start": "2026-02-16", "end": "2026-03-01"}
        assert data["previous"]["overall"]["deployments"] == 1

    def test_filters_by_team_and_model(self, org, member, token_client_for, team):
        client = token_client_for(member)
        other = client.get(f"/api/v1/insights/dora/?{VIEW}&model={org['model'].pk}").json()
        assert other["overall"]["deployments"] == 5
        by_team = client.get(f"/api/v1/insights/incidents/?{VIEW}&team={team.slug}").json()
        assert by_team["overall"]["total"] == 3

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("period=custom", CUSTOM_PERIOD_NEEDS_DATES),
            ("period=custom&start=2026-03-10&end=2026-03-01", PERIOD_ENDS_BEFORE_START),
            ("period=custom&start=2020-01-01&end=2026-03-01", PERIOD_TOO_LONG),
            ("team=nobody", UNKNOWN_TEAM),
            ("model=999999", UNKNOWN_MODEL),
        ],
    )
    def test_bad_filters_are_a_clear_400(self, member, token_client_for, query, message):
        response = token_client_for(member).get(f"/api/v1/insights/dora/?{query}")
        assert response.status_code == 400
        assert message in response.json()["message"]

    @pytest.mark.parametrize("query", ["period=decade", "model=abc", "start=yesterday&period=custom", "model=-1"])
    def test_malformed_filters_are_a_400(self, member, token_client_for, query):
        assert token_client_for(member).get(f"/api/v1/insights/incidents/?{query}").status_code == 400

    def test_needs_a_signed_in_reader(self, db, api_client):
        assert api_client.get("/api/v1/insights/dora/").status_code in (401, 403)

    def test_documented_in_the_schema(self, member, client):
        client.force_login(member)
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
        for series in SERIES:
            assert f"/api/v1/insights/{series}/" in schema
        assert "compare" in schema


class TestPage:
    def test_every_chart_with_its_figure_table_and_csv(self, org, member, client):
        client.force_login(member)
        response = client.get(reverse("insights:page") + f"?{VIEW}")
        assert response.status_code == 200
        html = response.content.decode()
        for chart in CHARTS:
            assert f'id="{chart.key}"' in html
            assert f'id="chart-{chart.key}-0"' in html  # the figure's JSON
            assert reverse("insights:csv", args=[chart.key]) + "?" in html
        assert html.count("<summary>Table view</summary>") == len(CHARTS)

    def test_no_inline_script_or_style(self, org, member, client):
        client.force_login(member)
        html = client.get(reverse("insights:page") + f"?{VIEW}").content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert "<style" not in html
        assert " style=" not in html

    def test_links_carry_the_filters(self, org, member, client, team):
        client.force_login(member)
        html = client.get(
            reverse("insights:page") + f"?{VIEW}&team={team.slug}&environment=production&compare=1"
        ).content.decode()
        csv_link = reverse("insights:csv", args=["dora"]) + "?"
        query = html.split(csv_link, 1)[1].split('"', 1)[0]
        for part in ("period=custom", "start=2026-03-02", "end=2026-03-15", f"team={team.slug}", "compare=1"):
            assert part in query
        assert f"period=year&amp;team={team.slug}" in html  # the presets keep the team

    def test_empty_states_say_what_would_fill_them(self, db, member, client):
        client.force_login(member)
        html = client.get(reverse("insights:page")).content.decode()
        for chart in CHARTS:
            assert chart.empty in html
        assert "data-figure" not in html

    def test_bad_filters_show_the_error(self, member, client):
        client.force_login(member)
        response = client.get(reverse("insights:page") + "?period=custom&start=2026-03-10&end=2026-03-01")
        assert response.status_code == 400
        assert PERIOD_ENDS_BEFORE_START in response.content.decode()

    def test_csv_of_an_unknown_chart_is_404(self, member, client):
        client.force_login(member)
        assert client.get(reverse("insights:csv", args=["nothing"])).status_code == 404

    def test_in_the_navigation(self, member, client):
        client.force_login(member)
        assert f'href="{reverse("insights:page")}"' in client.get("/").content.decode()

    def test_query_count_does_not_grow_with_the_data(self, org, member, client, team):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from tests.factories import DeploymentFactory, IncidentFactory
        from tests.insights.conftest import at

        client.force_login(member)
        url = reverse("insights:page") + f"?{VIEW}&compare=1"

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            return len(queries)

        before = count()
        for day in range(2, 15):
            DeploymentFactory(model_version=org["v2"], last_event_at=at(day, 8), status="failed")
            IncidentFactory(team=team, model=org["model"], detected_at=at(day, 9), started_at=at(day, 8))
        assert count() == before
        # Session and user, the filter choices, and a few grouped queries per series (about 30), twice (compare).
        assert before <= 70


class TestEmbeddedCharts:
    """The lineage and team pages draw their own deployments-per-week and change-failure-rate chart."""

    def test_model_lineage(self, org, member, client):
        client.force_login(member)
        with time_machine.travel(datetime(2026, 3, 12, 12, tzinfo=UTC), tick=False):
            html = client.get(org["model"].get_absolute_url()).content.decode()
        assert 'data-figure="dora-embed-model"' in html
        figure = json.loads(html.split('id="dora-embed-model" type="application/json">', 1)[1].split("</script>")[0])
        # d1, d2, d3 in the week of 2 March; d4, d5 in the week of 9 March (both caused an incident).
        deployments = dict(zip(figure["data"][0]["x"], figure["data"][0]["y"], strict=True))
        assert (deployments["2026-03-02"], deployments["2026-03-09"]) == (3, 2)
        assert f"model={org['model'].pk}" in html  # the link to every insight keeps the model

    def test_team_page(self, org, member, client, team):
        client.force_login(member)
        html = client.get(team.get_absolute_url()).content.decode()
        assert 'data-figure="dora-embed-team"' in html
        assert f"team={team.slug}" in html

    def test_empty_state(self, db, member, client, team):
        client.force_login(member)
        html = client.get(team.get_absolute_url()).content.decode()
        assert "No deployment to production this quarter" in html


# Versions differ from one period to the next, and a second line per model would double the per-model chart:
# those two compare in the DORA bars (per team and model) instead.
COMPARED = {"dora", "dora-weeks", "incidents", "mttx", "factors", "follow-through", "operational-load", "game-days"}


def test_every_chart_where_it_makes_sense_draws_the_previous_period(org, member, team, view):
    from dataclasses import replace

    from insights.views import insights_data
    from tests.factories import IncidentFactory
    from tests.insights.conftest import at

    # Load in the period before, for the operational-load line (2 h on 24 February).
    IncidentFactory(team=team, owner=member, acknowledged_at=at(24, 9, month=2), resolved_at=at(24, 11, month=2))
    drawn, alone = set(), set()
    for compare, seen in ((True, drawn), (False, alone)):
        filters = replace(view, compare=compare)
        for chart in CHARTS:
            data = insights_data(user=member, filters=filters, series=chart.series)
            for figure in (build(data) for build in [chart.figure, *chart.figures]):
                if any("previous period" in trace.get("name", "").lower() for trace in figure["data"]):
                    seen.add(chart.key)
    assert drawn == COMPARED
    assert alone == set()


def test_the_previous_period_is_drawn_at_the_same_week_of_this_one(org, member, view):
    from dataclasses import replace

    from insights.charts import CHARTS_BY_KEY
    from insights.views import insights_data

    data = insights_data(user=member, filters=replace(view, compare=True), series="dora")
    figure = CHARTS_BY_KEY["dora-weeks"].figure(data)
    (before,) = [trace for trace in figure["data"] if trace["name"] == "Deployments, previous period"]
    # The two weeks before 2 March, drawn over 2 and 9 March; the one deployment of 20 February in the first.
    assert before["x"] == ["2026-03-02", "2026-03-09"]
    assert before["customdata"] == ["2026-02-16", "2026-02-23"]
    assert before["y"] == [1, 0]


def test_a_dora_band_too_narrow_for_its_name_is_shaded_but_not_named():
    from insights import selectors
    from insights.charts import _band_shapes

    cuts = tuple(selectors.DEPLOY_FREQUENCY_BANDS)
    shapes, annotations = _band_shapes(cuts, "x", more_is_better=True, top=20.0)
    named = [annotation["text"] for annotation in annotations]
    assert len(shapes) == len(cuts) + 1
    assert "elite" in named and "low" not in named  # low spans 0.23 deploys a week of a 20-a-week axis
    widths = {shape["x1"] - shape["x0"] for shape in shapes}
    extent = max(shape["x1"] for shape in shapes)
    assert min(widths) < extent * 0.08 <= max(widths)
