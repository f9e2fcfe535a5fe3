"""How long the source pages take on a large delivery log, against the bare SQL they cannot avoid.

    .venv/bin/python bench/source_pages.py [--deliveries 200000] [--sources 40] [--rounds 30]

Creates a fresh PostgreSQL database, fills it with sources and deliveries spread
over 30 days, then renders each page in this process through Django's test
client (the whole view: middleware, session, queries, template) and times it.
The baseline for each page, measured in the same run on the same data, is the
hand-written SQL that fetches exactly what the page shows: the ratio says what
the ORM, the permission checks and the template add to the database's own work.

Environment: BENCH_DATABASE_URL names the server and the prefix of the database ``<prefix>_sources``,
created anew (bench/databases.py).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT on the path

BENCH_DB = bench_database_name("sources")
EVENTS = ["workflow_run", "workflow_job", "deployment_status", "ping"]
STATUSES = ["processed"] * 14 + ["ignored"] * 3 + ["failed"] * 2 + ["received"]
BODY = (
    b'{"action":"completed","workflow_run":{"id":30433642,"name":"Deploy fraud-detector",'
    b'"display_title":"deploy fraud-detector v17 to production","head_branch":"main",'
    b'"head_sha":"acb5820ced9479c074f688cc328bf03f341a511d","conclusion":"failure"}}'
)


def recreate_database(server_url: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    return bench_database_url(BENCH_DB)


def drop_database(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def timed(function, rounds: int) -> float:
    """Return the median milliseconds of ``rounds`` calls, after two warm-up calls."""
    function()
    function()
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def fill(*, sources: int, deliveries: int):
    from django.contrib.auth import get_user_model

    from incidents.models import Delivery, Source, SourceSecret
    from teams.models import Membership, Team

    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    teams = [Team.objects.create(name=f"Team {index}", slug=f"team-{index}") for index in range(4)]
    for team in teams:
        Membership.objects.create(user=user, team=team, role="member")
    created = []
    for index in range(sources):
        source = Source.objects.create(team=teams[index % len(teams)], name=f"pipeline-{index:03}", kind="github")
        SourceSecret.objects.create(source=source, value=f"secret-{index}")
        created.append(source)
    now = datetime.now(UTC)
    # Half the deliveries go to the first source (the big log); the rest spread over the others.
    batch = []
    for number in range(deliveries):
        source = created[0] if number % 2 == 0 or len(created) == 1 else created[1 + number % (len(created) - 1)]
        batch.append(
            Delivery(
                source=source,
                delivery_id=f"d-{number}",
                event=EVENTS[number % len(EVENTS)],
                headers={"x-github-event": EVENTS[number % len(EVENTS)]},
                content_type="application/json",
                body=BODY,
                received_at=now - timedelta(seconds=number * (30 * 86400 / deliveries)),
                status=STATUSES[number % len(STATUSES)],
                error="Payload has no workflow_run.id." if STATUSES[number % len(STATUSES)] == "failed" else "",
                model_found="fraud-detector v17",
            )
        )
        if len(batch) == 5000:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return user, created[0], Delivery.objects.filter(source=created[0]).order_by("-received_at").first()


def raw(sql: str, params: list) -> callable:
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


def both(*functions) -> callable:
    def run():
        for function in functions:
            function()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    server_url = bench_admin_url()
    os.environ["DATABASE_URL"] = recreate_database(server_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        user, big, newest = fill(sources=args.sources, deliveries=args.deliveries)
        print(
            f"{args.deliveries} deliveries over {args.sources} sources, "
            f"{big.deliveries.count()} on the largest; filled in {time.perf_counter() - started:.1f}s"
        )
        # The query log of DEBUG would cost time on every query; pages run as in production.
        settings.DEBUG = False
        client = Client()
        client.force_login(user)
        delivery_table = "incidents_delivery"
        last = (
            f"SELECT {{column}} FROM {delivery_table} WHERE source_id = s.id ORDER BY received_at DESC, id DESC LIMIT 1"
        )
        figures = raw(
            f"""SELECT s.id, s.name, t.name, ({last.format(column="received_at")}), ({last.format(column="status")}),
                   count(d.id), count(d.id) FILTER (WHERE d.status = 'failed'),
                   count(d.id) FILTER (WHERE d.status = 'processed'), count(d.id) FILTER (WHERE d.status = 'ignored'),
                   count(d.id) FILTER (WHERE d.status = 'received'), count(d.id) FILTER (WHERE d.status = 'replayed')
               FROM incidents_source s JOIN teams_team t ON t.id = s.team_id
               LEFT JOIN {delivery_table} d ON d.source_id = s.id AND d.received_at >= now() - interval '24 hours'
               GROUP BY s.id, s.name, t.name ORDER BY lower(t.name), lower(s.name) LIMIT 50""",
            [],
        )
        log_page = f"""SELECT id, received_at, event, status, attempts, model_found, error FROM {delivery_table}
                       WHERE source_id = %s ORDER BY received_at DESC, id DESC LIMIT 25 OFFSET %s"""
        log_count = f"SELECT count(*) FROM {delivery_table} WHERE source_id = %s"
        deep_page = 2000
        cases = [
            ("source list", lambda: client.get("/sources/"), figures),
            (
                "delivery log, page 1",
                lambda: client.get(f"/sources/{big.pk}/"),
                both(raw(log_page, [big.pk, 0]), raw(log_count, [big.pk])),
            ),
            (
                f"delivery log, page {deep_page}",
                lambda: client.get(f"/sources/{big.pk}/", {"page": deep_page}),
                both(raw(log_page, [big.pk, 25 * (deep_page - 1)]), raw(log_count, [big.pk])),
            ),
            (
                "delivery log, failed only",
                lambda: client.get(f"/sources/{big.pk}/", {"status": "failed"}),
                both(
                    raw(log_page.replace("WHERE", "WHERE status = 'failed' AND"), [big.pk, 0]),
                    raw(log_count + " AND status = 'failed'", [big.pk]),
                ),
            ),
            (
                "delivery page",
                lambda: client.get(f"/sources/{big.pk}/deliveries/{newest.pk}/"),
                raw(f"SELECT * FROM {delivery_table} WHERE id = %s", [newest.pk]),
            ),
        ]
        print(f"{'page':<28} {'bare SQL':>10} {'page':>10} {'ratio':>7}")
        for name, page, baseline in cases:
            assert page().status_code == 200, name
            base = timed(baseline, args.rounds)
            spent = timed(lambda page=page: page(), args.rounds)
            print(f"{name:<28} {base:>8.2f}ms {spent:>8.2f}ms {spent / base:>6.1f}x")
    finally:
        connection.close()
        drop_database(server_url)


if __name__ == "__main__":
    main()
