"""Every series on the hand-built organisation of conftest.py; each expected figure is worked out in its comment."""

import random
import statistics
from datetime import timedelta

import pytest
from django.db.models import Count, Q, Sum

from incidents.models import Incident
from insights import selectors
from insights.sql import (
    Counted,
    HoursBetween,
    Percentile,
    PercentileCont,
    Summed,
    grouped_figures,
    percentile_of_sorted,
)
from tests.factories import IncidentFactory, TeamFactory
from tests.insights.conftest import at

pytestmark = pytest.mark.django_db


def week(data: dict, monday: str) -> dict:
    return next(row for row in data["weeks"] if row["week"] == monday)


class TestPercentiles:
    """PostgreSQL's percentile_cont and the SQLite aggregate give the same numbers: both equal these."""

    def test_interpolates_between_ranks_like_postgresql(self):
        # sorted [1, 2, 10]: median the middle value; p90 at rank 0.9 * 2 = 1.8, so 2 + 0.8 * (10 - 2) = 8.4.
        team = TeamFactory()
        start = at(1)
        for hours in (10, 1, 2):
            IncidentFactory(team=team, started_at=start, detected_at=start, resolved_at=start + timedelta(hours=hours))
        figures = Incident.objects.aggregate(
            median=PercentileCont(HoursBetween("resolved_at", "started_at"), 0.5),
            p90=PercentileCont(HoursBetween("resolved_at", "started_at"), 0.9),
            p0=PercentileCont(HoursBetween("resolved_at", "started_at"), 0.0),
        )
        assert figures["median"] == pytest.approx(2.0)
        assert figures["p90"] == pytest.approx(8.4)
        assert figures["p0"] == pytest.approx(1.0)

    def test_equal_to_statistics_quantiles_on_random_data(self):
        team = TeamFactory()
        generator = random.Random(20260318)
        minutes = [generator.randint(1, 60 * 24 * 14) for _ in range(101)]
        start = at(1)
        for value in minutes:
            IncidentFactory(
                team=team, started_at=start, detected_at=start, resolved_at=start + timedelta(minutes=value)
            )
        hours = sorted(value / 60 for value in minutes)
        deciles = statistics.quantiles(hours, n=10, method="inclusive")
        figures = Incident.objects.aggregate(
            **{
                f"p{tenth}": PercentileCont(HoursBetween("resolved_at", "started_at"), tenth / 10)
                for tenth in range(1, 10)
            }
        )
        for tenth in range(1, 10):
            assert figures[f"p{tenth}"] == pytest.approx(deciles[tenth - 1], abs=1e-6)
            assert percentile_of_sorted(hours, tenth / 10) == pytest.approx(deciles[tenth - 1])

    def test_ignores_nulls_and_is_null_when_nothing_is_measured(self):
        team = TeamFactory()
        IncidentFactory(team=team, started_at=at(1), detected_at=at(1), resolved_at=None)
        figures = Incident.objects.aggregate(median=PercentileCont(HoursBetween("resolved_at", "started_at"), 0.5))
        assert figures["median"] is None

    def test_filter_keeps_only_the_matching_rows(self):
        team = TeamFactory()
        for hours, severity in ((1, "SEV1"), (5, "SEV2"), (9, "SEV1")):
            IncidentFactory(
                team=team,
                severity=severity,
                started_at=at(1),
                detected_at=at(1),
                resolved_at=at(1) + timedelta(hours=hours),
            )
        figures = Incident.objects.aggregate(
            median=PercentileCont(HoursBetween("resolved_at", "started_at"), 0.5, filter=Q(severity="SEV1"))
        )
        assert figures["median"] == pytest.approx(5.0)  # of [1, 9]


class TestGroupedFigures:
    """Several groupings of one reading give what Django's one grouping per query gives (on either database)."""

    def test_equal_to_one_grouped_query_per_grouping(self, org):
        hours = HoursBetween("resolved_at", "started_at")
        grouped = grouped_figures(
            Incident.objects.order_by().values("team_id", "severity", worked=hours, sev1=Q(severity="SEV1")),
            groupings={"team": ("team_id",), "team_severity": ("team_id", "severity"), "overall": ()},
            figures={
                "team": {"total": Counted(), "p90": Percentile("worked", 0.9)},
                "team_severity": {"total": Counted(), "hours": Summed("worked"), "median": Percentile("worked", 0.5)},
                "overall": {"total": Counted(), "sev1": Counted("sev1", true=True), "measured": Counted("worked")},
            },
        )
        by_team = (
            Incident.objects.order_by().values("team_id").annotate(total=Count("id"), p90=PercentileCont(hours, 0.9))
        )
        assert sorted(grouped["team"], key=str) == sorted(by_team, key=str)
        by_severity = (
            Incident.objects.order_by()
            .values("team_id", "severity")
            .annotate(total=Count("id"), hours=Sum(hours), median=PercentileCont(hours, 0.5))
        )
        assert sorted(grouped["team_severity"], key=str) == sorted(by_severity, key=str)
        assert grouped["overall"] == [
            Incident.objects.aggregate(
                total=Count("id"), sev1=Count("id", filter=Q(severity="SEV1")), measured=Count(hours)
            )
        ]
        assert len(grouped["team_severity"]) > len(grouped["team"]) >= 1

    def test_two_groupings_by_the_same_columns_are_refused(self):
        with pytest.raises(ValueError, match="same columns"):
            grouped_figures(
                Incident.objects.values("team_id"),
                groupings={"a": ("team_id",), "b": ("team_id",)},
                figures={"a": {"n": Counted()}, "b": {"n": Counted()}},
            )


class TestDora:
    def test_member_sees_every_key(self, org, member, view):
        data = selectors.dora_series(user=member, filters=view)
        overall = data["overall"]
        assert data["environment"] == "production"
        # d1..d5 in production; staging, cancelled and February's are out. Two weeks: 5 / 2.
        assert overall["deployments"] == 5
        assert overall["deploys_per_week"] == 2.5
        # d2 failed, d4 caused i1, d5 caused the restricted i3 (the member sees it).
        assert overall["change_failures"] == 3
        assert overall["change_failure_rate"] == 0.6
        # Restore: i1 2 h, i2 1 h, i3 3 h; the drill is left out. Median 2, p90 2 + 0.8 * 1.
        assert overall["restore_count"] == 3
        assert overall["restore_median_hours"] == 2.0
        assert overall["restore_p90_hours"] == 2.8
        # Lead times 4, 24 and 12 h: median 12, p90 12 + 0.8 * 12.
        assert overall["lead_time_count"] == 3
        assert overall["lead_time_median_hours"] == 12.0
        assert overall["lead_time_p90_hours"] == 21.6
        assert overall["bands"] == {
            "deploy_frequency": "high",
            "change_failure_rate": "low",
            "time_to_restore": "high",
            "lead_time": "elite",
            "overall": "low",
        }

    def test_per_team_and_model(self, org, member, view, team):
        data = selectors.dora_series(user=member, filters=view)
        assert [(row["name"], row["deployments"], row["change_failures"]) for row in data["teams"]] == [
            (team.name, 5, 3)
        ]
        assert [(row["name"], row["team"], row["restore_median_hours"]) for row in data["models"]] == [
            ("fraud-detector", team.name, 2.0)
        ]
        (model,) = data["models"]
        assert [(w["week"], w["deployments"], w["change_failures"]) for w in model["weeks"]] == [
            ("2026-03-02", 3, 1),  # d1, d2 (failed), d3
            ("2026-03-09", 2, 2),  # d4 and d5, both causes
        ]

    def test_weeks(self, org, member, view):
        data = selectors.dora_series(user=member, filters=view)
        assert data["weeks"] == [
            # d1, d2 (failed), d3
            {"week": "2026-03-02", "deployments": 3, "change_failures": 1, "change_failure_rate": 0.3333},
            # d4 and d5, both causes
            {"week": "2026-03-09", "deployments": 2, "change_failures": 2, "change_failure_rate": 1.0},
        ]

    def test_outsider_does_not_count_the_restricted_incident(self, org, outsider, view):
        overall = selectors.dora_series(user=outsider, filters=view)["overall"]
        assert overall["change_failures"] == 2  # d5's cause is restricted
        assert overall["change_failure_rate"] == 0.4
        assert overall["restore_count"] == 2
        assert overall["restore_median_hours"] == 1.5  # of [1, 2]
        assert overall["restore_p90_hours"] == 1.9

    def test_previous_period_and_environment(self, org, member, view):
        assert selectors.dora_series(user=member, filters=view.previous())["overall"]["deployments"] == 1
        from dataclasses import replace

        staging = selectors.dora_series(user=member, filters=replace(view, environment="staging"))
        assert staging["environment"] == "staging"
        assert (staging["overall"]["deployments"], staging["overall"]["change_failures"]) == (1, 1)

    def test_bands_cut_points(self):
        assert selectors.band_at_least(7.0, selectors.DEPLOY_FREQUENCY_BANDS) == "elite"
        assert selectors.band_at_least(0.2, selectors.DEPLOY_FREQUENCY_BANDS) == "low"
        assert selectors.band_at_most(0.05, selectors.CHANGE_FAILURE_RATE_BANDS) == "elite"
        assert selectors.band_at_most(0.16, selectors.CHANGE_FAILURE_RATE_BANDS) == "low"
        assert selectors.band_at_most(None, selectors.RESTORE_HOURS_BANDS) is None


class TestIncidents:
    def test_weekly_counts_by_severity_without_drills(self, org, member, view):
        data = selectors.incident_series(user=member, filters=view)
        first, second = week(data, "2026-03-02"), week(data, "2026-03-09")
        assert (first["sev1"], first["sev4"], first["total"]) == (1, 0, 1)  # i2; the SEV4 drill is out
        assert (second["sev2"], second["sev3"], second["total"]) == (1, 1, 2)  # i1 and the restricted i3

    def test_time_to_figures(self, org, member, view):
        overall = selectors.incident_series(user=member, filters=view)["overall"]
        # Detect 10, 30 and 10 minutes; acknowledge 10, 60, 10 minutes after detection.
        assert (overall["detect_median"], overall["detect_p90"]) == (0.17, 0.43)
        assert (overall["acknowledge_median"], overall["acknowledge_p90"]) == (0.17, 0.83)
        assert (overall["mitigate_median"], overall["mitigate_p90"]) == (2.0, 2.8)
        # Resolve 4, 50 and 6 hours: median 6, p90 6 + 0.8 * 44.
        assert (overall["resolve_median"], overall["resolve_p90"]) == (6.0, 41.2)
        second = week(selectors.incident_series(user=member, filters=view), "2026-03-09")
        assert (second["resolve_median"], second["resolve_p90"]) == (5.0, 5.8)

    def test_outsider(self, org, outsider, view):
        data = selectors.incident_series(user=outsider, filters=view)
        assert week(data, "2026-03-09")["total"] == 1
        assert data["overall"]["total"] == 2


class TestVersions:
    def test_versions_in_order_with_rollback(self, org, member, outsider, view):
        rows = selectors.version_series(user=member, filters=view)["versions"]
        assert [
            (r["label"], r["deployments"], r["failed_deployments"], r["incidents"], r["rolled_back"]) for r in rows
        ] == [
            # d1, d2, d3 and the failed staging one; i2 linked directly
            ("fraud-detector v1", 4, 2, 1, False),
            # d4, d5 and the cancelled one; i1 and i3 through their deployments; rolled back from
            ("fraud-detector v2", 3, 0, 2, True),
        ]
        rows = selectors.version_series(user=outsider, filters=view)["versions"]
        assert [r["incidents"] for r in rows] == [1, 1]


class TestFactors:
    def test_categories_per_week(self, org, member, outsider, view):
        data = selectors.factor_series(user=member, filters=view)
        assert [(c["key"], c["total"]) for c in data["categories"]] == [("data_drift", 2), ("tooling", 1)]
        assert week(data, "2026-03-09") == {"week": "2026-03-09", "data_drift": 2, "tooling": 1}
        assert week(data, "2026-03-02") == {"week": "2026-03-02", "data_drift": 0, "tooling": 0}
        data = selectors.factor_series(user=outsider, filters=view)
        assert [(c["key"], c["total"]) for c in data["categories"]] == [("data_drift", 1), ("tooling", 1)]


class TestFollowThrough:
    def test_actions_and_postmortems(self, org, member, view):
        data = selectors.follow_through_series(user=member, filters=view)
        assert week(data, "2026-03-02") == {"week": "2026-03-02", "opened": 3, "done": 0, "done_on_time": 0}
        assert week(data, "2026-03-09") == {"week": "2026-03-09", "opened": 2, "done": 2, "done_on_time": 1}
        assert data["overall"] == {
            "opened": 5,
            "done": 2,
            "done_on_time": 1,
            "done_on_time_rate": 0.5,
            "overdue": 1,  # due 6 March, still open
            "resolved_incidents": 3,
            "with_postmortem": 2,
            "postmortem_rate": 0.6667,
            "published": 1,
            "days_to_publish_median": 3.0,
            "days_to_publish_p90": 3.0,
        }

    def test_outsider(self, org, outsider, view):
        overall = selectors.follow_through_series(user=outsider, filters=view)["overall"]
        assert (overall["opened"], overall["resolved_incidents"], overall["with_postmortem"]) == (4, 2, 1)


class TestOperationalLoad:
    def test_hours_against_budget(self, org, member, view, team, settings):
        settings.INSIGHTS_ACTION_ITEM_HOURS = 4.0
        data = selectors.operational_load_series(user=member, filters=view)
        (fraud,) = data["teams"]
        assert (fraud["name"], fraud["members"], fraud["budget_hours"]) == (team.name, 2, 40.0)  # 2 x 40 h x 50 %
        assert fraud["budget_set_by_team"] is False
        first, second = fraud["weeks"]
        # i2 acknowledged 3 March 11:30, resolved 5 March 12:00: 48.5 h, over the 40 h budget.
        assert (first["incident_hours"], first["hours"], first["over_budget"]) == (48.5, 48.5, True)
        assert first["budget_share"] == pytest.approx(1.2125)
        # i1 3 h 40 min and i3 5 h 40 min, plus the mitigate item done on 12 March (4 h).
        assert (second["incidents"], second["incident_hours"], second["action_items"]) == (2, 9.33, 1)
        assert (second["hours"], second["over_budget"]) == (13.33, False)
        assert fraud["weeks_over_budget"] == 1

    def test_budget_share_is_configurable(self, org, member, view, settings):
        settings.INSIGHTS_OPERATIONS_SHARE = 0.25
        (fraud,) = selectors.operational_load_series(user=member, filters=view)["teams"]
        assert fraud["budget_hours"] == 20.0

    def test_a_budget_the_team_set_replaces_the_default(self, org, member, view, team):
        team.operations_budget_hours = 50
        team.save()
        (fraud,) = selectors.operational_load_series(user=member, filters=view)["teams"]
        assert (fraud["budget_hours"], fraud["budget_set_by_team"]) == (50.0, True)
        first, _ = fraud["weeks"]
        # The same 48.5 hours that were over the default 40 h fit in 50 h.
        assert (first["hours"], first["budget_hours"], first["over_budget"]) == (48.5, 50.0, False)
        assert first["budget_share"] == pytest.approx(0.97)
        assert fraud["weeks_over_budget"] == 0

    def test_outsider(self, org, outsider, view):
        (fraud,) = selectors.operational_load_series(user=outsider, filters=view)["teams"]
        assert fraud["weeks"][1]["hours"] == 7.67  # i1 and the item; i3 is restricted


class TestGameDays:
    def test_drills_counted_on_their_own(self, org, member, view):
        data = selectors.game_day_series(user=member, filters=view)
        assert week(data, "2026-03-02") == {
            "week": "2026-03-02",
            "drills": 1,
            "findings": 1,
            "actions": 1,
            "actions_done": 0,
        }
        assert data["overall"] == {"drills": 1, "findings": 1, "actions": 1, "actions_done": 0}


class TestEmpty:
    def test_every_series_answers_with_no_data(self, db, outsider, view):
        for series in (
            selectors.dora_series,
            selectors.incident_series,
            selectors.version_series,
            selectors.factor_series,
            selectors.follow_through_series,
            selectors.operational_load_series,
            selectors.game_day_series,
        ):
            data = series(user=outsider, filters=view)
            assert data is not None
        dora = selectors.dora_series(user=outsider, filters=view)
        assert dora["teams"] == [] and dora["overall"]["change_failure_rate"] is None
        assert [w["deployments"] for w in dora["weeks"]] == [0, 0]
