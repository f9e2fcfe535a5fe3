"""Weekly digest: time per recipient for 100 recipients against 1,000 (50 teams), in the same run.

Seeds one PostgreSQL database with an organisation of 50 teams of 20 people
(1,000 recipients), each team with a week of incidents, deployments and
published post-mortems, open and overdue action items, reviews waiting, and a
library of learnings indexed for search. Then, in interleaved rounds so both
sides see the same machine load, it prepares the digests of the first 5 teams'
100 people and of all 1,000, the way ``manage.py send_digests --dry-run``
does: read in batches of BATCH_SIZE, then per person check the week's claim
and render the email. Prints the median time per recipient of each side, the
queries each side ran, and the ratio (target: at most 1.3).

    .venv/bin/python bench/digest.py [--rounds 5] [--reuse]

Needs PostgreSQL: BENCH_DATABASE_URL names the server and the database's prefix (bench/databases.py);
the database is <prefix>_digest, created anew unless --reuse finds it seeded.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT on the path

DATABASE = bench_database_name("digest")
TEAMS = 50
PEOPLE_PER_TEAM = 20
SMALL_TEAMS = 5  # 5 teams of 20: the 100 recipients of the baseline
# Monday 09:00 UTC: the digest hour of every team of the bench.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CATEGORIES = ["data_drift", "upstream_data", "evaluation_gap", "threshold_config", "serving_infrastructure"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def database_url() -> str:
    return bench_database_url(DATABASE)


def is_seeded() -> bool:
    try:
        with psycopg.connect(database_url(), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM auth_user").fetchone()
            return row[0] >= TEAMS * PEOPLE_PER_TEAM
    except psycopg.Error:
        return False


def recreate_database() -> None:
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def seed() -> None:
    """Create the organisation (run in a child process with DATABASE_URL set)."""
    import django

    django.setup()
    import time_machine
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from incidents.models import Deployment, Incident, IncidentDeployment, ModelVersion, RegisteredModel
    from postmortems.models import (
        ActionItem,
        ContributingFactor,
        Learning,
        LearningCategory,
        Postmortem,
        PostmortemReviewer,
        PostmortemVersion,
    )
    from search.services import search_index_refresh
    from teams.models import Membership, Team

    call_command("migrate", verbosity=0)
    rng = random.Random(13)
    User = get_user_model()
    sections = [
        {"key": "summary", "title": "Summary", "kind": "markdown"},
        {"key": "lessons", "title": "Lessons learned", "kind": "lessons"},
    ]
    teams = Team.objects.bulk_create(
        Team(name=f"Team {n:02d}", slug=f"team-{n:02d}", timezone="UTC", digest_weekday=0, digest_hour=9)
        for n in range(TEAMS)
    )
    users = User.objects.bulk_create(
        User(username=f"person{n:04d}", email=f"person{n:04d}@example.com", first_name=f"Person {n}", password="!")
        for n in range(TEAMS * PEOPLE_PER_TEAM)
    )
    Membership.objects.bulk_create(
        Membership(user=user, team=teams[index // PEOPLE_PER_TEAM], role="lead" if index % 10 == 0 else "member")
        for index, user in enumerate(users)
    )
    with time_machine.travel(NOW - timedelta(days=400), tick=False):
        learnings = Learning.objects.bulk_create(
            Learning(title=f"Lesson {n}", body=f"Keep a slice of the newest week, case {n}.", team=teams[n % TEAMS])
            for n in range(2000)
        )
    LearningCategory.objects.bulk_create(
        LearningCategory(learning=learning, category=CATEGORIES[n % len(CATEGORIES)])
        for n, learning in enumerate(learnings)
    )
    for team_index, team in enumerate(teams):
        people = users[team_index * PEOPLE_PER_TEAM : (team_index + 1) * PEOPLE_PER_TEAM]
        model = RegisteredModel.objects.create(team=team, name=f"model-{team_index}", created_at=NOW)
        version = ModelVersion.objects.create(model=model, version="7", created_at=NOW)
        deployments = Deployment.objects.bulk_create(
            Deployment(
                team=team,
                model_version=version,
                external_id=f"{team_index}-{n}",
                environment="production",
                status="failed" if n % 5 == 0 else "succeeded",
                started_at=NOW - timedelta(hours=6 * n),
                finished_at=NOW - timedelta(hours=6 * n),
                last_event_at=NOW - timedelta(hours=6 * n),
            )
            for n in range(56)
        )
        for n in range(6):
            detected = NOW - timedelta(days=1 + 2 * n, hours=rng.randint(0, 12))
            incident = Incident.objects.create(
                team=team,
                title=f"Incident {n} of {team.name}",
                severity=f"SEV{1 + n % 4}",
                model=model,
                restricted=n == 5,
                status="resolved",
                started_at=detected - timedelta(minutes=20),
                detected_at=detected,
                mitigated_at=detected + timedelta(hours=2),
                resolved_at=detected + timedelta(hours=5),
            )
            IncidentDeployment.objects.create(incident=incident, deployment=deployments[n + 1], role="cause")
            for item in range(2):
                ActionItem.objects.create(
                    team=team,
                    incident=incident,
                    owner=people[(n * 2 + item) % PEOPLE_PER_TEAM],
                    title=f"Follow-up {item} of incident {n}",
                    verification="A drill shows it.",
                    due_date=(NOW + timedelta(days=rng.randint(-10, 20))).date(),
                )
            if n >= 4:
                continue  # resolved, and no post-mortem yet: the leads hear of it
            published = n < 2
            postmortem = Postmortem.objects.create(
                incident=incident,
                template_name="Standard",
                sections=sections,
                title=f"Post-mortem of {incident.title}",
                content={
                    "summary": "Scores drifted after a retrain.",
                    "lessons": "- Compare distributions.\n- Page on nulls.",
                },
                status="published" if published else "in_review",
                updated_at=NOW - timedelta(days=n),
                published_at=NOW - timedelta(days=1 + n) if published else None,
                published_version=1 if published else None,
                submitted_at=NOW - timedelta(days=2),
            )
            PostmortemVersion.objects.create(
                postmortem=postmortem,
                number=1,
                revision=1,
                title=postmortem.title,
                content=postmortem.content,
                created_at=NOW - timedelta(days=n),
            )
            ContributingFactor.objects.create(
                postmortem=postmortem, category=CATEGORIES[(team_index + n) % len(CATEGORIES)], description="Drift."
            )
            if not published:
                PostmortemReviewer.objects.create(postmortem=postmortem, user=people[(n + 5) % PEOPLE_PER_TEAM])
    search_index_refresh()


def seed_in_child() -> None:
    env = dict(os.environ, DATABASE_URL=database_url(), CONN_MAX_AGE="0")
    subprocess.run([sys.executable, __file__, "--seed-only"], check=True, env=env)


def prepare(users, *, now) -> int:
    """Prepare each person's digest as ``send_digests --dry-run`` does; return the queries it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from teams.digest.selectors import digest_build_many
    from teams.digest.services import DigestOutcome, digest_deliver
    from teams.management.commands.send_digests import BATCH_SIZE

    with CaptureQueriesContext(connection) as context:
        for start in range(0, len(users), BATCH_SIZE):
            batch = users[start : start + BATCH_SIZE]
            digests = digest_build_many(users=batch, now=now)
            for user in batch:
                digest = digests[user.pk]
                outcome = digest_deliver(user_id=user.pk, week=digest.week, digest=digest, dry_run=True, now=now)
                assert outcome == DigestOutcome.WOULD_SEND, (user.username, outcome)
    return len(context)


def measure(rounds: int) -> None:
    os.environ["DATABASE_URL"] = database_url()
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.order_by("id"))
    small, large = users[: SMALL_TEAMS * PEOPLE_PER_TEAM], users
    assert len(small) == 100 and len(large) == 1000
    prepare(small, now=NOW)  # warm up templates, connections and the database's caches
    times: dict[int, list[float]] = {len(small): [], len(large): []}
    queries: dict[int, int] = {}
    for _ in range(rounds):
        for side in (small, large):
            started = time.perf_counter()
            queries[len(side)] = prepare(side, now=NOW)
            times[len(side)].append((time.perf_counter() - started) / len(side))
    per_small = statistics.median(times[len(small)])
    per_large = statistics.median(times[len(large)])
    for size, per in ((len(small), per_small), (len(large), per_large)):
        print(f"{size:>5} recipients: {per * 1000:7.2f} ms per recipient (median of {rounds}), {queries[size]} queries")
    print(f"ratio 1,000 / 100 per recipient: {per_large / per_small:.2f} (target <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="Keep the seeded database of an earlier run.")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.seed_only:
        seed()
        return
    if not (options.reuse and is_seeded()):
        log(f"Seeding {DATABASE}: {TEAMS} teams of {PEOPLE_PER_TEAM} people…")
        recreate_database()
        seed_in_child()
    measure(options.rounds)


if __name__ == "__main__":
    main()
