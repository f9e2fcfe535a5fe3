"""How long insights take at 1M deployments and 100k incidents, against hand-written SQL computing the same numbers.

    .venv/bin/python bench/insights.py [--deployments 1000000] [--incidents 100000] [--rounds 7] [--fresh] [--drop]

Fills a PostgreSQL database with ``generate_series`` (a year of deployments and
incidents over 20 teams and 100 models, 5 % of incidents restricted, 5 % drills;
post-mortems for two incidents in three, with contributing factors and action
items) and keeps it: the next run with the same sizes reuses it (``--fresh``
fills it again, ``--drop`` removes it afterwards). Then, as a member of one team
(so the visibility rule is part of every query), it times:

- each series endpoint ``/api/v1/insights/<series>/`` through Django's test
  client (middleware, auth, filters, queries, JSON), over the last 52 weeks;
- the insights page (every series, figures and tables rendered);

against the hand-written SQL that computes the same numbers, in the same run
on the same data. The numbers are compared and must be equal; the ratio says
what the ORM, the filters and the rendering add to the database's own work.

Environment: BENCH_DATABASE_URL names the server and the prefix of the database ``<prefix>_insights``
(bench/databases.py).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT

BENCH_DB = bench_database_name("insights")
END = date(2026, 11, 15)  # a Sunday: 52 whole weeks end here
START = END - timedelta(weeks=52) + timedelta(days=1)
QUERY = f"period=custom&start={START.isoformat()}&end={END.isoformat()}"


# Raise when fill() changes, so a kept database filled the old way is filled again.
FILL_VERSION = 2


def prepare_database(*, deployments: int, incidents: int, fresh: bool) -> bool:
    """Create the database unless a kept one holds this fill; return whether it must be filled."""
    import psycopg

    wanted = (FILL_VERSION, deployments, incidents)
    with psycopg.connect(bench_admin_url(), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
    if exists and not fresh:
        with psycopg.connect(bench_database_url(BENCH_DB)) as database:
            marker = database.execute("SELECT to_regclass('bench_fill')").fetchone()[0]
            if (
                marker
                and database.execute("SELECT version, deployments, incidents FROM bench_fill").fetchone() == wanted
            ):
                return False
    with psycopg.connect(bench_admin_url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    return True


def drop_database() -> None:
    import psycopg

    with psycopg.connect(bench_admin_url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def fill(*, deployments: int, incidents: int) -> None:
    """Fill the database in a few statements; every value follows from the row number."""
    import re

    from django.db import connection

    def bound(statement: str) -> str:
        # Statements with parameters spell the modulo operator %%.
        return re.sub(r"%(?!\()", "%%", statement)

    end = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO teams_team (name, slug, description, timezone, digest_weekday, digest_hour, created_at)
            SELECT 'Team ' || n, 'team-' || n, '', 'UTC', 0, 9, now() FROM generate_series(1, 20) n;
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                   is_active, date_joined)
            SELECT '!', false, 'person' || n, '', '', '', false, true, now() FROM generate_series(1, 200) n;
            INSERT INTO teams_membership (user_id, team_id, role, joined_at)
            SELECT u.id, t.id, 'member', now() FROM auth_user u
            JOIN teams_team t ON t.slug = 'team-' || (1 + (substr(u.username, 7)::int % 20));
            INSERT INTO incidents_registeredmodel (team_id, name, description, tags, created_at)
            SELECT t.id, 'model-' || n, '', '{}', now() FROM generate_series(1, 100) n
            JOIN teams_team t ON t.slug = 'team-' || (1 + n % 20);
            INSERT INTO incidents_modelversion (model_id, version, version_number, run_id, source_uri, description,
                                                tags, created_at)
            SELECT m.id, v::text, v, '', '', '', '{}', now() FROM incidents_registeredmodel m, generate_series(1, 10) v;
            """
        )
        cursor.execute(
            bound(
                """
            INSERT INTO incidents_deployment (team_id, external_id, model_version_id, environment, status, pipeline,
                run_id, title, sha, ref, run_url, failing_step, started_at, finished_at, committed_at, last_event_at,
                created_at, updated_at)
            SELECT m.team_id, 'run-' || n, v.id,
                   CASE WHEN n % 5 < 3 THEN 'production' ELSE 'staging' END,
                   CASE WHEN n % 50 = 0 THEN 'cancelled' WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
                   'deploy', '', '', md5(n::text), 'main', '', '', at - interval '10 minutes', at,
                   CASE WHEN n % 2 = 0 THEN at - (n % 97) * interval '1 hour' END, at, at, at
            FROM generate_series(1, %(deployments)s) n
            CROSS JOIN LATERAL (SELECT %(end)s::timestamptz - (n % 525600) * interval '1 minute'
                                       - (n % 7) * interval '1 second' AS at) t
            JOIN incidents_registeredmodel m ON m.name = 'model-' || (1 + n % 100)
            JOIN incidents_modelversion v ON v.model_id = m.id AND v.version_number = 1 + (n / 100) % 10
            """
            ),
            {"deployments": deployments, "end": end},
        )
        cursor.execute(
            bound(
                """
            INSERT INTO incidents_incident (team_id, title, kind, severity, status, owner_id, environment, model_id,
                model_unknown, summary, impact, restricted, started_at, detected_at, acknowledged_at, mitigated_at,
                resolved_at, created_at, updated_at)
            SELECT m.team_id, 'Incident ' || n,
                   CASE WHEN n % 20 = 0 THEN 'game_day' ELSE 'failed_deployment' END,
                   'SEV' || (1 + n % 4), 'resolved', o.user_id,
                   CASE WHEN n % 5 < 3 THEN 'production' ELSE 'staging' END, m.id, false, '', '', n % 20 = 7,
                   at, at + (n % 60) * interval '1 minute', at + (n % 60 + n % 13) * interval '1 minute',
                   at + (n % 300) * interval '1 minute', at + (n % 3000) * interval '1 minute', at, at
            FROM generate_series(1, %(incidents)s) n
            CROSS JOIN LATERAL (SELECT %(end)s::timestamptz - (n * 317 % 525600) * interval '1 minute'
                                       - interval '3 days' AS at) t
            JOIN incidents_registeredmodel m ON m.name = 'model-' || (1 + n % 100)
            JOIN LATERAL (SELECT user_id FROM teams_membership WHERE team_id = m.team_id
                          ORDER BY user_id LIMIT 1) o ON true
            """
            ),
            {"incidents": incidents, "end": end},
        )
        cursor.execute(
            bound(
                """
            INSERT INTO incidents_incidentdeployment (incident_id, deployment_id, role, created_at)
            SELECT i.id, d.id, CASE WHEN i.id % 2 = 0 THEN 'cause' ELSE 'suspect' END, now()
            FROM incidents_incident i
            JOIN incidents_deployment d ON d.external_id = 'run-' || (i.id * 7 % %(deployments)s + 1)
            WHERE i.id % 5 = 0;
            INSERT INTO incidents_aliasmove (model_id, alias, from_version_id, to_version_id, kind, moved_at)
            SELECT v.model_id, 'champion', v.id, v.id, 'rollback', now()
            FROM incidents_modelversion v WHERE v.version_number % 4 = 0;
            ANALYZE;
            """
            ),
            {"deployments": deployments},
        )
        fill_postmortems(cursor)
        cursor.execute("CREATE TABLE bench_fill (version int, deployments bigint, incidents bigint)")
        cursor.execute("INSERT INTO bench_fill VALUES (%s, %s, %s)", [FILL_VERSION, deployments, incidents])


def fill_postmortems(cursor) -> None:
    """Give two incidents in three a post-mortem (one in three published), 1-3 factors and two action items."""
    from postmortems.models import ActionItemKind, FactorCategory

    cursor.execute(
        """
        INSERT INTO postmortems_postmortem (incident_id, template_name, sections, title, content, facts, status,
            version, revision, created_at, updated_at, published_at, published_version)
        SELECT i.id, 'Failed deployment', '[]', 'Post-mortem of ' || i.title, '{}', '{}',
               CASE WHEN i.id % 3 = 1 THEN 'published' ELSE 'draft' END, 1, 1, i.resolved_at, i.resolved_at,
               CASE WHEN i.id % 3 = 1 THEN i.resolved_at + (i.id % 11) * interval '1 day'
                                              + (i.id % 7) * interval '1 hour' END,
               CASE WHEN i.id % 3 = 1 THEN 1 END
        FROM incidents_incident i WHERE i.id % 3 <> 0;
        INSERT INTO postmortems_contributingfactor (postmortem_id, category, description, position, created_at)
        SELECT p.id, (%(categories)s::text[])[1 + (p.id * 7 + k) % cardinality(%(categories)s::text[])],
               'A factor.', k, now()
        FROM postmortems_postmortem p CROSS JOIN generate_series(0, 2) k WHERE k <= p.id % 3;
        INSERT INTO postmortems_actionitem (team_id, incident_id, postmortem_id, title, description, owner_id, kind,
            priority, due_date, status, wont_do_reason, verification, tracker_url, created_at, updated_at,
            resolved_at)
        SELECT i.team_id, i.id, p.id, 'Action ' || k, '', i.owner_id,
               (%(kinds)s::text[])[1 + (p.id + k) % cardinality(%(kinds)s::text[])], 'P3',
               (p.created_at + (7 + (p.id + k) % 21) * interval '1 day')::date,
               CASE WHEN (p.id + k) % 4 = 0 THEN 'open' ELSE 'done' END, '', 'A test shows it.', '',
               p.created_at, p.created_at,
               CASE WHEN (p.id + k) % 4 <> 0 THEN p.created_at + ((p.id * 3 + k) % 30) * interval '1 day' END
        FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
        CROSS JOIN generate_series(0, 1) k;
        ANALYZE;
        """.replace("%", "%%").replace("%%(", "%("),
        {"categories": list(FactorCategory.values), "kinds": list(ActionItemKind.values)},
    )


# ---------------------------------------------------------------- the hand-written SQL
# Each series' numbers, all of them, in the fewest statements a person would write by hand.

VISIBLE = "(i.restricted = false OR i.team_id IN (SELECT team_id FROM teams_membership WHERE user_id = %(user)s))"
ITEM_VISIBLE = (
    "(i.restricted = false OR a.team_id IN (SELECT team_id FROM teams_membership WHERE user_id = %(user)s)"
    " OR a.owner_id = %(user)s)"
)
HOURS = "EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0"
WEEK = "date_trunc('week', {} AT TIME ZONE 'UTC')"
PERIOD = "{column} >= %(since)s AND {column} < %(until)s"
MEDIAN_P90 = (
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}), percentile_cont(0.9) WITHIN GROUP (ORDER BY {value})"
)
MILESTONE_HOURS = [
    HOURS.format(end="i.detected_at", start="i.started_at"),
    HOURS.format(end="i.acknowledged_at", start="i.detected_at"),
    HOURS.format(end="i.mitigated_at", start="i.started_at"),
    HOURS.format(end="i.resolved_at", start="i.started_at"),
]
RESTORE_HOURS = HOURS.format(end="coalesce(i.mitigated_at, i.resolved_at)", start="i.started_at")
OPERATIONAL_KINDS = "('mitigate', 'process', 'rollback_runbook', 'retrain_backfill')"

SQL = {
    "dora": [
        f"""
        WITH d AS (
            SELECT d.team_id, v.model_id, {WEEK.format("d.last_event_at")} AS week,
                   d.status = 'failed' OR d.id IN (
                       SELECT l.deployment_id FROM incidents_incidentdeployment l
                       JOIN incidents_incident i ON i.id = l.incident_id
                       WHERE l.role = 'cause' AND {VISIBLE} AND i.kind <> 'game_day'
                   ) AS failure,
                   CASE WHEN d.status = 'succeeded' AND d.committed_at IS NOT NULL
                        THEN {HOURS.format(end="d.last_event_at", start="d.committed_at")} END AS lead
            FROM incidents_deployment d LEFT JOIN incidents_modelversion v ON v.id = d.model_version_id
            WHERE d.status IN ('succeeded', 'failed') AND d.environment = 'production'
              AND {PERIOD.format(column="d.last_event_at")}
        )
        SELECT grouping(team_id), grouping(model_id), grouping(week), team_id, model_id, week, count(*),
               count(*) FILTER (WHERE failure), count(lead), {MEDIAN_P90.format(value="lead")}
        FROM d GROUP BY GROUPING SETS ((team_id), (model_id), (), (model_id, week))
        """,
        f"""
        SELECT grouping(i.team_id), grouping(i.model_id), i.team_id, i.model_id,
               count(coalesce(i.mitigated_at, i.resolved_at)),
               {MEDIAN_P90.format(value=RESTORE_HOURS)}
        FROM incidents_incident i
        WHERE {VISIBLE} AND i.kind <> 'game_day' AND i.environment = 'production'
          AND {PERIOD.format(column="i.detected_at")}
        GROUP BY GROUPING SETS ((i.team_id), (i.model_id), ())
        """,
        "SELECT id, name, slug FROM teams_team UNION ALL SELECT id, name, '' FROM incidents_registeredmodel",
    ],
    "incidents": [
        f"""
        SELECT {WEEK.format("i.detected_at")} AS week, count(*),
               {", ".join(f"count(*) FILTER (WHERE i.severity = 'SEV{n}')" for n in range(1, 5))},
               {", ".join(MEDIAN_P90.format(value=hours) for hours in MILESTONE_HOURS)}
        FROM incidents_incident i
        WHERE {VISIBLE} AND i.kind <> 'game_day' AND {PERIOD.format(column="i.detected_at")}
        GROUP BY ROLLUP (1)
        """
    ],
    "versions": [
        f"""
        WITH inc AS (
            SELECT i.id FROM incidents_incident i
            WHERE {VISIBLE} AND i.kind <> 'game_day' AND {PERIOD.format(column="i.detected_at")}
        ), deployed AS (
            SELECT model_version_id, count(*) AS total, count(*) FILTER (WHERE status = 'failed') AS failed
            FROM incidents_deployment
            WHERE model_version_id IS NOT NULL AND {PERIOD.format(column="last_event_at")}
            GROUP BY 1
        ), links AS (
            SELECT model_version_id AS version_id, incident_id FROM incidents_incidentmodelversion
            WHERE incident_id IN (SELECT id FROM inc)
            UNION
            SELECT d.model_version_id, l.incident_id FROM incidents_incidentdeployment l
            JOIN incidents_deployment d ON d.id = l.deployment_id
            WHERE l.incident_id IN (SELECT id FROM inc) AND d.model_version_id IS NOT NULL
        ), linked AS (SELECT version_id, count(*) AS total FROM links GROUP BY 1)
        SELECT m.name, v.version, coalesce(deployed.total, 0), coalesce(deployed.failed, 0),
               coalesce(linked.total, 0),
               EXISTS (SELECT 1 FROM incidents_aliasmove a WHERE a.from_version_id = v.id AND a.kind = 'rollback')
        FROM incidents_modelversion v JOIN incidents_registeredmodel m ON m.id = v.model_id
        LEFT JOIN deployed ON deployed.model_version_id = v.id LEFT JOIN linked ON linked.version_id = v.id
        WHERE deployed.total IS NOT NULL OR linked.total IS NOT NULL
        ORDER BY m.name, v.version_number NULLS LAST, v.version
        """
    ],
    "operational-load": [
        f"""
        SELECT i.team_id, {WEEK.format("i.acknowledged_at")},
               sum({HOURS.format(end="i.resolved_at", start="i.acknowledged_at")}), count(*)
        FROM incidents_incident i
        WHERE {VISIBLE} AND i.owner_id IS NOT NULL AND i.resolved_at IS NOT NULL AND i.kind <> 'game_day'
          AND {PERIOD.format(column="i.acknowledged_at")}
        GROUP BY 1, 2
        """,
        f"""
        SELECT a.team_id, {WEEK.format("a.resolved_at")}, count(*)
        FROM postmortems_actionitem a JOIN incidents_incident i ON i.id = a.incident_id
        WHERE {ITEM_VISIBLE} AND a.status = 'done' AND a.kind IN {OPERATIONAL_KINDS}
          AND {PERIOD.format(column="a.resolved_at")}
        GROUP BY 1, 2
        """,
        """
        SELECT t.id, t.operations_budget_hours, count(m.id)
        FROM teams_team t LEFT JOIN teams_membership m ON m.team_id = t.id GROUP BY t.id
        """,
    ],
    "game-days": [
        f"""
        WITH drills AS (
            SELECT i.id, {WEEK.format("i.detected_at")} AS week FROM incidents_incident i
            WHERE {VISIBLE} AND i.kind = 'game_day' AND {PERIOD.format(column="i.detected_at")}
        )
        SELECT week, count(*), 0, 0, 0 FROM drills GROUP BY week
        UNION ALL
        SELECT d.week, 0, count(*), 0, 0 FROM drills d
        JOIN postmortems_postmortem p ON p.incident_id = d.id
        JOIN postmortems_contributingfactor f ON f.postmortem_id = p.id GROUP BY d.week
        UNION ALL
        SELECT d.week, 0, 0, count(*), count(*) FILTER (WHERE a.status = 'done') FROM drills d
        JOIN postmortems_actionitem a ON a.incident_id = d.id GROUP BY d.week
        """
    ],
    "follow-through": [
        f"""
        SELECT {WEEK.format("a.created_at")}, count(*)
        FROM postmortems_actionitem a JOIN incidents_incident i ON i.id = a.incident_id
        WHERE {ITEM_VISIBLE} AND {PERIOD.format(column="a.created_at")}
        GROUP BY 1
        """,
        f"""
        SELECT {WEEK.format("a.resolved_at")}, count(*),
               count(*) FILTER (WHERE (a.resolved_at AT TIME ZONE 'UTC')::date <= a.due_date)
        FROM postmortems_actionitem a JOIN incidents_incident i ON i.id = a.incident_id
        WHERE {ITEM_VISIBLE} AND a.status = 'done' AND {PERIOD.format(column="a.resolved_at")}
        GROUP BY 1
        """,
        f"""
        SELECT count(*)
        FROM postmortems_actionitem a JOIN incidents_incident i ON i.id = a.incident_id
        WHERE {ITEM_VISIBLE} AND a.status IN ('open', 'in_progress') AND a.due_date < %(overdue_on)s
        """,
        f"""
        SELECT count(*), count(p.id), count(p.id) FILTER (WHERE p.status = 'published'),
               {MEDIAN_P90.format(value=HOURS.format(end="p.published_at", start="i.resolved_at") + " / 24.0")}
               FILTER (WHERE p.status = 'published')
        FROM incidents_incident i LEFT JOIN postmortems_postmortem p ON p.incident_id = i.id
        WHERE {VISIBLE} AND i.kind <> 'game_day' AND {PERIOD.format(column="i.resolved_at")}
        """,
    ],
    "factors": [
        f"""
        SELECT {WEEK.format("i.detected_at")}, f.category, count(*)
        FROM postmortems_contributingfactor f JOIN postmortems_postmortem p ON p.id = f.postmortem_id
        JOIN incidents_incident i ON i.id = p.incident_id
        WHERE {VISIBLE} AND i.kind <> 'game_day' AND {PERIOD.format(column="i.detected_at")}
        GROUP BY 1, 2
        """
    ],
}


def run_sql(series: str, params: dict) -> list[list[tuple]]:
    from django.db import connection

    results = []
    with connection.cursor() as cursor:
        for statement in SQL[series]:
            cursor.execute(statement, params)
            results.append(cursor.fetchall())
    return results


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 0.006


def week(value) -> str:
    return value.date().isoformat()


def check(series: str, data: dict, rows: list[list[tuple]]) -> None:
    """Assert that every number of the endpoint is the hand-written SQL's."""
    getattr(sys.modules[__name__], "check_" + series.replace("-", "_"))(data, rows)


def assert_dora_row(row: dict, deployed: tuple | None, restored: tuple | None) -> None:
    deployments, failures, leads, lead_median, lead_p90 = deployed[6:11] if deployed else (0, 0, 0, None, None)
    assert (row["deployments"], row["change_failures"], row["lead_time_count"]) == (deployments, failures, leads)
    assert close(row["lead_time_median_hours"], lead_median) and close(row["lead_time_p90_hours"], lead_p90)
    restores, restore_median, restore_p90 = restored[4:7] if restored else (0, None, None)
    assert row["restore_count"] == restores
    assert close(row["restore_median_hours"], restore_median) and close(row["restore_p90_hours"], restore_p90)


def check_dora(data: dict, rows: list[list[tuple]]) -> None:
    deployed, restored, names = rows
    names = {(row[0], row[1]) for row in names}
    by_set = {}
    for row in deployed:
        by_set.setdefault(row[:3], {})[(row[3], row[4], row[5])] = row
    teams, models, (overall,) = by_set[(0, 1, 1)], by_set[(1, 0, 1)], by_set[(1, 1, 1)].values()
    model_weeks = by_set[(1, 0, 0)]
    restored_by_set = {}
    for row in restored:
        restored_by_set.setdefault(row[:2], {})[(row[2], row[3])] = row
    assert_dora_row(data["overall"], overall, next(iter(restored_by_set[(1, 1)].values())))
    team_rows = {key[0]: row for key, row in teams.items()}
    team_restored = {key[0]: row for key, row in restored_by_set[(0, 1)].items()}
    assert {team["id"] for team in data["teams"]} == set(team_rows) | set(team_restored)
    for team in data["teams"]:
        assert (team["id"], team["name"]) in names
        assert_dora_row(team, team_rows.get(team["id"]), team_restored.get(team["id"]))
    model_rows = {key[1]: row for key, row in models.items() if key[1] is not None}
    model_restored = {key[1]: row for key, row in restored_by_set[(1, 0)].items() if key[1] is not None}
    assert {model["id"] for model in data["models"]} == set(model_rows) | set(model_restored)
    weeks: dict[str, list[int]] = {}
    per_model_week = {}
    for (_, model_id, when), row in model_weeks.items():
        weeks.setdefault(week(when), [0, 0])
        weeks[week(when)][0] += row[6]
        weeks[week(when)][1] += row[7]
        per_model_week[(model_id, week(when))] = row
    for model in data["models"]:
        assert_dora_row(model, model_rows.get(model["id"]), model_restored.get(model["id"]))
        for w in model["weeks"]:
            expected = per_model_week.get((model["id"], w["week"]))
            assert (w["deployments"], w["change_failures"]) == (expected[6:8] if expected else (0, 0))
    for w in data["weeks"]:
        assert [w["deployments"], w["change_failures"]] == weeks.get(w["week"], [0, 0])


def check_incidents(data: dict, rows: list[list[tuple]]) -> None:
    (weekly,) = rows
    milestones = ("detect", "acknowledge", "mitigate", "resolve")

    def same(got: dict, row: tuple | None) -> None:
        if row is None:
            assert got["total"] == 0
            return
        assert [got["total"], got["sev1"], got["sev2"], got["sev3"], got["sev4"]] == list(row[1:6])
        figures = [got[f"{name}_{which}"] for name in milestones for which in ("median", "p90")]
        assert all(close(a, b) for a, b in zip(figures, row[6:], strict=True))

    by_week = {week(row[0]): row for row in weekly if row[0] is not None}
    same(data["overall"], next(row for row in weekly if row[0] is None))
    for w in data["weeks"]:
        same(w, by_week.get(w["week"]))


def check_versions(data: dict, rows: list[list[tuple]]) -> None:
    (versions,) = rows
    expected = [(f"{r[0]} v{r[1]}", r[2], r[3], r[4], r[5]) for r in versions]
    got = [
        (v["label"], v["deployments"], v["failed_deployments"], v["incidents"], v["rolled_back"])
        for v in data["versions"]
    ]
    assert got == expected


def check_operational_load(data: dict, rows: list[list[tuple]]) -> None:
    from django.conf import settings

    incidents, items, teams = rows
    hours = {(r[0], week(r[1])): (r[2], r[3]) for r in incidents}
    actions = {(r[0], week(r[1])): r[2] for r in items}
    budgets = {
        r[0]: float(r[1])
        if r[1]
        else round(r[2] * settings.INSIGHTS_WORKING_HOURS_PER_WEEK * settings.INSIGHTS_OPERATIONS_SHARE, 2)
        for r in teams
    }
    assert {team["id"] for team in data["teams"]} == {key[0] for key in hours} | {key[0] for key in actions}
    for team in data["teams"]:
        assert team["budget_hours"] == budgets[team["id"]]
        for w in team["weeks"]:
            incident_hours, count = hours.get((team["id"], w["week"]), (0.0, 0))
            assert close(w["incident_hours"], incident_hours) and w["incidents"] == count
            assert w["action_items"] == actions.get((team["id"], w["week"]), 0)


def check_game_days(data: dict, rows: list[list[tuple]]) -> None:
    (parts,) = rows
    expected: dict[str, list[int]] = {}
    for when, *counts in parts:
        total = expected.setdefault(week(when), [0, 0, 0, 0])
        expected[week(when)] = [a + b for a, b in zip(total, counts, strict=True)]
    for w in data["weeks"]:
        got = [w["drills"], w["findings"], w["actions"], w["actions_done"]]
        assert got == expected.get(w["week"], [0, 0, 0, 0])


def check_follow_through(data: dict, rows: list[list[tuple]]) -> None:
    opened, done, ((overdue,),), ((resolved, with_postmortem, published, median, p90),) = rows
    opened = {week(r[0]): r[1] for r in opened}
    done = {week(r[0]): (r[1], r[2]) for r in done}
    for w in data["weeks"]:
        assert w["opened"] == opened.get(w["week"], 0)
        assert (w["done"], w["done_on_time"]) == done.get(w["week"], (0, 0))
    overall = data["overall"]
    assert (overall["opened"], overall["done"]) == (sum(opened.values()), sum(d for d, _ in done.values()))
    assert overall["overdue"] == overdue
    assert (overall["resolved_incidents"], overall["with_postmortem"], overall["published"]) == (
        resolved,
        with_postmortem,
        published,
    )
    assert close(overall["days_to_publish_median"], median) and close(overall["days_to_publish_p90"], p90)


def check_factors(data: dict, rows: list[list[tuple]]) -> None:
    (factors,) = rows
    expected = {(week(r[0]), r[1]): r[2] for r in factors}
    got = {(w["week"], c["key"]): w[c["key"]] for w in data["weeks"] for c in data["categories"] if w[c["key"]]}
    assert got == expected


def timed(function, rounds: int) -> float:
    """Return the median milliseconds of ``rounds`` calls, after one warm-up call."""
    function()
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="Fill the database again even if a kept one fits.")
    parser.add_argument("--drop", action="store_true", help="Drop the database afterwards.")
    parser.add_argument("--only", nargs="*", choices=list(SQL), help="Time these series only (and not the page).")
    args = parser.parse_args()

    must_fill = prepare_database(deployments=args.deployments, incidents=args.incidents, fresh=args.fresh)
    os.environ["DATABASE_URL"] = bench_database_url(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-that-is-long-enough-to-pass-checks-1234567890")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    try:
        call_command("migrate", verbosity=0)
        if must_fill:
            started = time.perf_counter()
            fill(deployments=args.deployments, incidents=args.incidents)
            print(f"Filled in {time.perf_counter() - started:.0f} s.")
        print(f"{args.deployments:,} deployments and {args.incidents:,} incidents; 52 weeks from {START} to {END}.")
        reader = get_user_model().objects.get(username="person1")
        client = Client()
        client.force_login(reader)
        since = datetime.combine(START, datetime.min.time(), tzinfo=UTC)
        until = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        params = {
            "user": reader.pk,
            "since": since,
            "until": until,
            "overdue_on": min(END, timezone.localdate()),
        }

        print(f"{'what':<28}{'Kintsugi ms':>12}{'SQL ms':>10}{'ratio':>8}")
        total_sql = 0.0
        for series in args.only or SQL:
            url = f"/api/v1/insights/{series}/?{QUERY}"
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            check(series, response.json(), run_sql(series, params))
            ours = timed(lambda url=url: client.get(url), args.rounds)
            theirs = timed(lambda series=series: run_sql(series, params), args.rounds)
            total_sql += theirs
            print(f"{'/api/v1/insights/' + series + '/':<28}{ours:>12.1f}{theirs:>10.1f}{ours / theirs:>8.2f}")
        if args.only:
            return
        page = f"/insights/?{QUERY}"
        assert client.get(page).status_code == 200
        ours = timed(lambda: client.get(page), args.rounds)
        everything = timed(lambda: [run_sql(series, params) for series in SQL], args.rounds)
        print(f"{'/insights/ (every series)':<28}{ours:>12.1f}{everything:>10.1f}{ours / everything:>8.2f}")
        print("Every endpoint's numbers equal the hand-written SQL's.")
    finally:
        from django.db import connections

        connections.close_all()
        if args.drop:
            drop_database()


if __name__ == "__main__":
    main()
