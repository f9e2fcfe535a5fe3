"""Page time of the incident list, detail and model lineage at 100x the data.

Seeds two PostgreSQL databases of the same shape with COPY: a large one
(100k incidents, 1M deployments by default) and a small one (1k incidents,
10k deployments), every incident indexed for search (the detail page's
"this happened before" reads the index). Each is served by its own gunicorn worker; requests to the
two alternate, so both sides see the same machine load. Prints the p50 of
each page on both and the ratio large/small (target: at most 1.5).

    .venv/bin/python bench/incident_pages.py [--rounds 40] [--keep | --reuse]

The databases are dropped at the end unless --keep is given. About 4 minutes.

Needs PostgreSQL: BENCH_DATABASE_URL names the server and the databases' prefix (bench/databases.py).
"""

import argparse
import http.client
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT on the path
from bench.ports import free_port  # noqa: E402 - needs ROOT on the path

PYTHON = str(Path(sys.executable))
ANCHOR = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PASSWORD = "bench-password-1"
USERNAME = "bench"

# The shape every size shares; only the counts of teams, models and incidents scale.
VERSIONS_PER_MODEL = 25
DEPLOYMENTS_PER_VERSION = 20  # half staging, half production
INCIDENTS_PER_TEAM = 1000
ENTRIES_PER_INCIDENT = 4
MOVES_PER_MODEL = 10
STATUSES = [("open", 3), ("mitigated", 2), ("resolved", 15), ("closed", 80)]
SEVERITIES = [("SEV1", 5), ("SEV2", 20), ("SEV3", 45), ("SEV4", 30)]
KINDS = ["failed_deployment", "model_regression", "data_pipeline", "serving", "game_day", "other"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def recreate_database(name: str) -> None:
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_databases(names) -> None:
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_ready(name: str, incidents: int) -> bool:
    try:
        with psycopg.connect(bench_database_url(name)) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM incidents_incident), (SELECT count(*) FROM search_searchentry)"
            ).fetchone()
            return counts == (incidents, incidents)
    except psycopg.Error:
        return False


def migrate(name: str) -> None:
    env = {**os.environ, "DATABASE_URL": bench_database_url(name)}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def seed(name: str, incidents: int) -> None:
    """Fill the database with ``incidents`` incidents and the matching registry, in the shared shape."""
    from django.contrib.auth.hashers import make_password

    rng = random.Random(7)
    teams = incidents // INCIDENTS_PER_TEAM
    models = max(1, incidents // 50)
    versions = models * VERSIONS_PER_MODEL
    started = time.perf_counter()
    with psycopg.connect(bench_database_url(name)) as conn, conn.cursor() as cursor:

        def copy(table: str, columns: str | list[str], rows) -> int:
            names = columns.split() if isinstance(columns, str) else columns
            count = 0
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copier:
                for row in rows:
                    copier.write_row(row)
                    count += 1
            return count

        now = ANCHOR
        password = make_password(PASSWORD)
        copy(
            "auth_user",
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            [(1, password, False, USERNAME, "Bench", "User", "bench@example.com", False, True, now)]
            + [(i, "!", False, f"person{i}", "Person", str(i), "", False, True, now) for i in range(2, 2 + teams * 3)],
        )
        copy(
            "teams_team",
            ["id", "name", "slug", "description", "timezone", "digest_weekday", "digest_hour", "created_at"],
            ((t, f"Team {t}", f"team-{t}", "", "UTC", 0, 9, now) for t in range(1, teams + 1)),
        )
        copy(
            "teams_membership",
            ["id", "user_id", "team_id", "role", "joined_at"],
            [(1, 1, 1, "member", now)]
            + [(2 + i, 2 + i, 1 + i // 3, "lead" if i % 3 == 0 else "member", now) for i in range(teams * 3)],
        )
        copy(
            "incidents_registeredmodel",
            ["id", "team_id", "name", "description", "tags", "created_at"],
            ((m, 1 + (m - 1) % teams, f"model-{m}", "A benchmark model.", "{}", now) for m in range(1, models + 1)),
        )

        def version_rows():
            for m in range(1, models + 1):
                for n in range(1, VERSIONS_PER_MODEL + 1):
                    vid = (m - 1) * VERSIONS_PER_MODEL + n
                    created = now - timedelta(days=(VERSIONS_PER_MODEL - n) * 7)
                    yield (vid, m, str(n), n, f"run{vid}", f"models:/model-{m}/{n}", "", "{}", created)

        copy(
            "incidents_modelversion",
            [
                "id",
                "model_id",
                "version",
                "version_number",
                "run_id",
                "source_uri",
                "description",
                "tags",
                "created_at",
            ],
            version_rows(),
        )

        def deployment_rows():
            did = 0
            for vid in range(1, versions + 1):
                model = (vid - 1) // VERSIONS_PER_MODEL + 1
                team = 1 + (model - 1) % teams
                n = (vid - 1) % VERSIONS_PER_MODEL + 1
                base = now - timedelta(days=(VERSIONS_PER_MODEL - n) * 7)
                for k in range(DEPLOYMENTS_PER_VERSION):
                    did += 1
                    environment = "staging" if k % 2 == 0 else "production"
                    status = "failed" if rng.random() < 0.12 else "succeeded"
                    at = base + timedelta(hours=k * 3)
                    yield (
                        did, team, None, f"bench-{did}", vid, environment, status, f"deploy-model-{model}",
                        str(did), "", f"{did:040x}", "refs/heads/main", f"https://ci.example.com/runs/{did}",
                        "canary-analysis" if status == "failed" else "", at, at + timedelta(minutes=8),
                        at + timedelta(minutes=8), now, now,
                    )  # fmt: skip

        deployment_total = copy(
            "incidents_deployment",
            (
                "id team_id source_id external_id model_version_id environment status pipeline run_id title "
                "sha ref run_url failing_step started_at finished_at last_event_at created_at updated_at"
            ),
            deployment_rows(),
        )
        log(f"{name}: {deployment_total:,} deployments copied")

        def alias_rows():
            mid = 0
            for m in range(1, models + 1):
                for k in range(MOVES_PER_MODEL):
                    mid += 1
                    to_n = VERSIONS_PER_MODEL - MOVES_PER_MODEL + k + 1
                    rollback = k == MOVES_PER_MODEL - 1
                    to_n = to_n - 2 if rollback else to_n
                    to_version = (m - 1) * VERSIONS_PER_MODEL + to_n
                    yield (
                        mid, m, "champion", to_version - 1, to_version, "rollback" if rollback else "promotion",
                        now - timedelta(days=(MOVES_PER_MODEL - k) * 7), None,
                    )  # fmt: skip

        copy(
            "incidents_aliasmove",
            ["id", "model_id", "alias", "from_version_id", "to_version_id", "kind", "moved_at", "delivery_id"],
            alias_rows(),
        )
        copy(
            "incidents_modelalias",
            ["id", "model_id", "alias", "version_id", "updated_at"],
            (
                (m, m, "champion", (m - 1) * VERSIONS_PER_MODEL + VERSIONS_PER_MODEL - 2, now)
                for m in range(1, models + 1)
            ),
        )
        copy("incidents_tag", ["id", "name"], ((t, f"tag-{t}") for t in range(1, 21)))

        span = 3 * 365 * 24 * 3600
        incident_rows, entry_rows, tag_rows, deployment_links, version_links = [], [], [], [], []
        entry_id = 0
        for i in range(1, incidents + 1):
            model = 1 + (i - 1) % models
            team = 1 + (model - 1) % teams
            status = weighted(rng, STATUSES)
            severity = weighted(rng, SEVERITIES)
            detected = now - timedelta(seconds=rng.randrange(span))
            started_at = detected - timedelta(minutes=rng.randrange(5, 120))
            mitigated = detected + timedelta(hours=1) if status != "open" else None
            resolved = detected + timedelta(hours=6) if status in ("resolved", "closed") else None
            closed = detected + timedelta(days=3) if status == "closed" else None
            incident_rows.append((
                i, team, f"model-{model} v{1 + i % VERSIONS_PER_MODEL} failed to deploy to production",
                KINDS[i % len(KINDS)], severity, status, 2 + (team - 1) * 3, "production" if i % 3 else "staging",
                model, False, "A deployment failed its canary analysis and was rolled back.", "Some users saw errors.",
                rng.random() < 0.05, started_at, detected, detected + timedelta(minutes=5), mitigated, resolved,
                closed, None, None, detected, detected,
            ))  # fmt: skip
            for k in range(ENTRIES_PER_INCIDENT):
                entry_id += 1
                entry_rows.append((
                    entry_id, i, "note" if k else "status", detected + timedelta(minutes=10 * k), 2 + (team - 1) * 3,
                    "" if k else "GitHub Actions", f"Observation {k} about what happened.", "", "open" if not k else "",
                    k == 2, None, None, detected,
                ))  # fmt: skip
            tag_rows.append((i, i, 1 + i % 20))
            version = (model - 1) * VERSIONS_PER_MODEL + 1 + i % VERSIONS_PER_MODEL
            deployment = (version - 1) * DEPLOYMENTS_PER_VERSION + 2
            deployment_links.append((i, i, deployment, "cause", detected))
            version_links.append((i, i, version, "cause", detected))
        copy(
            "incidents_incident",
            (
                "id team_id title kind severity status owner_id environment model_id model_unknown summary "
                "impact restricted started_at detected_at acknowledged_at mitigated_at resolved_at "
                "closed_at created_by_id source_id created_at updated_at"
            ),
            incident_rows,
        )
        copy(
            "incidents_timelineentry",
            (
                "id incident_id kind occurred_at author_id source_label text old_value new_value starred "
                "deployment_id delivery_id created_at"
            ),
            entry_rows,
        )
        copy("incidents_incident_tags", ["id", "incident_id", "tag_id"], tag_rows)
        copy(
            "incidents_incidentdeployment",
            ["id", "incident_id", "deployment_id", "role", "created_at"],
            deployment_links,
        )
        copy(
            "incidents_incidentmodelversion",
            ["id", "incident_id", "model_version_id", "role", "created_at"],
            version_links,
        )
        related = [(k, k * 2, k * 2 + 1) for k in range(1, incidents // 2)]
        related += [(len(related) + k, b, a) for k, (_, a, b) in enumerate(related, start=1)]
        copy("incidents_incident_related", ["id", "from_incident_id", "to_incident_id"], related)
        for table in [
            "auth_user", "teams_team", "teams_membership", "incidents_registeredmodel", "incidents_modelversion",
            "incidents_deployment", "incidents_aliasmove", "incidents_modelalias", "incidents_tag",
            "incidents_incident", "incidents_timelineentry", "incidents_incident_tags",
            "incidents_incidentdeployment", "incidents_incidentmodelversion", "incidents_incident_related",
        ]:  # fmt: skip
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        index_for_search(cursor)
        conn.commit()
        conn.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    log(f"{name}: {incidents:,} incidents seeded in {time.perf_counter() - started:.0f} s")


def index_for_search(cursor) -> None:
    """Give every incident its search entry and facets, as the search app's documents would, in three statements.

    The incident page's "this happened before" reads them; set-based SQL keeps
    seeding as quick as the COPY that came before (search_reindex takes many
    minutes at 100k incidents).
    """
    cursor.execute(
        """
        INSERT INTO search_searchentry
            (kind, incident_id, team_id, team_only, title, body, keywords, occurred_at, source_updated_at)
        SELECT 'incident', i.id, i.team_id, i.restricted, i.title, i.summary || E'\\n\\n' || i.impact,
               concat_ws(' ', 'INC-' || i.id, m.name, i.environment), i.detected_at, i.updated_at
        FROM incidents_incident i LEFT JOIN incidents_registeredmodel m ON m.id = i.model_id
        """
    )
    cursor.execute(
        """
        INSERT INTO search_searchfacet (entry_id, name, value)
        SELECT e.id, 'model', i.model_id::text
        FROM search_searchentry e JOIN incidents_incident i ON i.id = e.incident_id WHERE i.model_id IS NOT NULL
        UNION ALL
        SELECT e.id, 'tag', t.name
        FROM search_searchentry e
        JOIN incidents_incident_tags it ON it.incident_id = e.incident_id
        JOIN incidents_tag t ON t.id = it.tag_id
        """
    )
    cursor.execute(
        """
        UPDATE search_searchentry SET vector =
            setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
            || setweight(to_tsvector('english', keywords), 'C')
        """
    )


def targets_for(incidents: int) -> dict:
    """Return the same-shaped things to request at any size: an incident of model 1 near the middle."""
    models = max(1, incidents // 50)
    middle = incidents // 2
    return {"detail": middle - (middle - 1) % models, "model": 1, "team": "team-1"}


class Server:
    """One gunicorn worker serving one database."""

    def __init__(self, database: str, port: int, static_root: str):
        env = {
            **os.environ,
            "DATABASE_URL": bench_database_url(database),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_ROOT": static_root,
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "600",
        }
        self.port = port
        self.process = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
             "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        self.cookies: dict[str, str] = {}
        for _ in range(100):
            try:
                self.request("GET", "/healthz")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn on {port} did not start")

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, content

    def sign_in(self) -> None:
        _, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": USERNAME, "password": PASSWORD})
        status, _ = self.request("POST", "/accounts/login/", body)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in failed on port {self.port} ({status})")

    def timed_get(self, path: str) -> float:
        started = time.perf_counter()
        status, content = self.request("GET", path)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {content[:300]!r}")
        return elapsed

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def pages(targets: dict) -> dict[str, str]:
    return {
        "list, unfiltered": "/incidents/",
        "list, filtered": f"/incidents/?team={targets['team']}&status=closed&severity=SEV3",
        "list, page 20": "/incidents/?page=20",
        "detail": f"/incidents/{targets['detail']}/",
        "lineage": f"/models/{targets['model']}/",
        "models registry": "/models/",
        "api list, filtered": f"/api/v1/incidents/?team={targets['team']}&status=closed",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000, help="incidents in the large database")
    parser.add_argument("--factor", type=int, default=100, help="how many times smaller the baseline is")
    parser.add_argument("--rounds", type=int, default=40, help="measured requests per page and size")
    parser.add_argument("--reuse", action="store_true", help="use databases seeded by an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases for a later --reuse")
    args = parser.parse_args()

    import django

    django.setup()
    sizes = {"small": args.incidents // args.factor, "large": args.incidents}
    databases = {size: bench_database_name(f"incidents_{size}") for size in sizes}
    targets = {}
    for size, incidents in sizes.items():
        name = databases[size]
        if args.reuse and database_ready(name, incidents):
            log(f"{name}: reusing {incidents:,} incidents")
        else:
            log(f"{name}: creating and migrating")
            recreate_database(name)
            migrate(name)
            seed(name, incidents)
        targets[size] = {
            "detail": incidents // 2 - (incidents // 2 - 1) % max(1, incidents // 50),
            "model": 1,
            "team": "team-1",
        }
    with psycopg.connect(bench_database_url(databases["large"])) as conn:
        deployments = conn.execute("SELECT count(*) FROM incidents_deployment").fetchone()[0]
    log(f"large database: {sizes['large']:,} incidents, {deployments:,} deployments")

    static_root = tempfile.mkdtemp(prefix="kintsugi-bench-static-")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": static_root,
    }
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    servers = {
        "small": Server(databases["small"], free_port(), static_root),
        "large": Server(databases["large"], free_port(), static_root),
    }
    try:
        for server in servers.values():
            server.sign_in()
        paths = {size: pages(targets[size]) for size in sizes}
        timings: dict[str, dict[str, list[float]]] = {page: {"small": [], "large": []} for page in paths["small"]}
        for round_number in range(args.rounds + 5):
            order = ["small", "large"] if round_number % 2 else ["large", "small"]
            for page in timings:
                for size in order:
                    elapsed = servers[size].timed_get(paths[size][page])
                    if round_number >= 5:  # the first rounds warm caches and connections
                        timings[page][size].append(elapsed)
        print()
        print(f"p50 page time over {args.rounds} requests each, gunicorn (1 sync worker) + PostgreSQL")
        print(f"{'page':<22}{'1x (ms)':>10}{f'{args.factor}x (ms)':>12}{'ratio':>8}   target <= 1.5")
        worst = 0.0
        for page, both in timings.items():
            small, large = statistics.median(both["small"]) * 1000, statistics.median(both["large"]) * 1000
            ratio = large / small
            worst = max(worst, ratio)
            print(f"{page:<22}{small:>10.1f}{large:>12.1f}{ratio:>8.2f}   {'ok' if ratio <= 1.5 else 'SLOW'}")
        print(f"\nworst ratio {worst:.2f}")
        return 0 if worst <= 1.5 else 1
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(static_root, ignore_errors=True)
        if not (args.keep or args.reuse):
            drop_databases(databases.values())


if __name__ == "__main__":
    sys.exit(main())
