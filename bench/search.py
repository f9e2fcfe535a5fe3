"""Search time over 100k post-mortems and learnings, against 1k, in the same run.

Seeds two PostgreSQL databases of the same shape: a large one (50k post-mortems
of 50k incidents, and 50k learnings: 100k by default) and a small one (1k).
The search index is built by the app's own indexing code. Then the same
queries run against both, alternating, so both see the same machine load; the
large side is reached through a database router. Prints the p50 (and p90) of
the search selector and of the API request on each side, and the ratio
large/small (target: at most 2). Documents span the three years up to the
seeding and are written oldest first, as an organisation's archive grows.

    .venv/bin/python bench/search.py [--size 100000] [--baseline 1000] [--rounds 15] [--reuse]

Needs PostgreSQL: BENCH_DATABASE_URL names the server and the databases' prefix
(bench/databases.py); the databases are <prefix>_search_<size>; --reuse keeps them between runs.
"""

import argparse
import contextvars
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

# Documents span the three years up to the seeding, as an organisation's archive does.
ANCHOR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
USERNAME = "bench"
TEAMS = 12
PEOPLE_PER_TEAM = 6
MODELS_PER_TEAM = 20
TAGS = 300
DRAFT_SHARE = 0.1
BATCH = 2000

# Words of the domain, many of them shared, and a long tail of rarer ones: documents look alike
# the way real post-mortems do, and queries meet realistic numbers of matches.
COMPONENTS = [
    "feature store", "embedding service", "ranking model", "fraud scorer", "training pipeline", "serving cluster",
    "label pipeline", "model registry", "canary analysis", "batch scoring job", "stream processor", "data warehouse",
    "GPU node pool", "inference gateway", "vector index", "retraining job", "schema registry", "alerting rules",
    "evaluation harness", "shadow deployment", "backfill job", "feature cache", "tokenizer", "prompt template",
    "A/B framework", "metrics exporter", "kafka topic", "airflow DAG", "spark job", "load balancer",
]  # fmt: skip
SYMPTOMS = [
    "latency spike", "null rate jump", "precision drop", "recall regression", "calibration drift", "memory leak",
    "timeout storm", "stale features", "schema mismatch", "duplicate events", "missing partitions", "skewed labels",
    "empty embeddings", "CUDA driver mismatch", "OOM kills", "throttled requests", "silent fallback",
    "threshold misfire", "distribution shift", "late upstream data", "broken join", "encoding error",
    "cold cache", "wrong model version", "corrupted checkpoint", "token limit overflow", "prompt injection",
]  # fmt: skip
CAUSES = [
    "a renamed column", "a dependency upgrade", "a config default", "an unpinned image", "a retrain on stale data",
    "a missing evaluation slice", "a manual promotion", "a flaky smoke test", "an expired certificate",
    "a quota change", "a timezone bug", "a holiday traffic pattern", "a new merchant segment", "a vendor outage",
    "a migration left half done", "a feature flag flipped early", "an alert routed to an old channel",
]  # fmt: skip
PRACTICES = [
    "validate schemas before publishing", "alert on feature age", "canary on every node pool",
    "evaluate on the newest slice", "pin images and drivers", "rehearse the rollback", "version thresholds",
    "shadow-read before switching", "page on null rates", "replay real traffic in smoke tests",
    "document who decides", "review prompts like code", "cap retries with backoff", "keep a holdout of new users",
]  # fmt: skip
FILLER = [
    "the", "team", "saw", "that", "after", "during", "while", "because", "which", "then", "again", "first", "later",
    "our", "their", "with", "from", "into", "when", "traffic", "customers", "requests", "dashboards", "metrics",
    "users", "payments", "scores", "predictions", "version", "release", "rollout",
]  # fmt: skip
CATEGORIES = [
    "data_drift", "training_serving_skew", "feature_pipeline_change", "upstream_data", "label_issue",
    "evaluation_gap", "threshold_config", "dependency_upgrade", "serving_infrastructure", "prompt_change",
    "process", "tooling", "communication", "documentation", "capacity",
]  # fmt: skip
KINDS = ["failed_deployment", "model_regression", "data_pipeline", "serving", "game_day", "other"]
SECTIONS = [
    ("summary", "Summary", "markdown"),
    ("impact", "Impact", "markdown"),
    ("trigger", "Trigger", "markdown"),
    ("detection", "Detection", "markdown"),
    ("response", "Response and resolution", "markdown"),
    ("lessons", "Lessons learned", "lessons"),
]

QUERIES = [
    "feature store latency",
    "null rate embedding",
    "canary rollback",
    "schema mismatch backfill",
    "CUDA driver",
    "stale features fraud",
    "threshold misfire",
    "calibration drift ranking",
    '"late upstream data"',
    "prompt injection",
    "memory leak serving",
    "evaluate newest slice",
    "renamed column",
    "vendor outage -kafka",
    "expired certificate",
    "drift",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_name(size: int) -> str:
    return bench_database_name(f"search_{size}")


def database_url(size: int) -> str:
    return bench_database_url(database_name(size))


def is_seeded(size: int) -> bool:
    try:
        with psycopg.connect(database_url(size)) as conn:
            count = conn.execute("SELECT count(*) FROM search_searchentry").fetchone()[0]
            learnings = conn.execute("SELECT count(*) FROM postmortems_learning").fetchone()[0]
            postmortems = conn.execute("SELECT count(*) FROM postmortems_postmortem").fetchone()[0]
    except psycopg.Error:
        return False
    return learnings + postmortems == size and count >= size


def recreate_database(size: int) -> None:
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(size)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database_name(size)}"')


# Seeding (runs in a child process whose default database is the one to seed) ----------------------------


class Writer:
    """Sentences of the domain from a seeded random generator.

    Like a real post-mortem, each document is about one topic (a component,
    a symptom, a cause) that most of its sentences repeat; now and then a
    sentence mentions something else.
    """

    def __init__(self, rng: random.Random, tail: list[str]):
        self.rng = rng
        self.tail = tail
        self.new_topic()

    def new_topic(self) -> None:
        rng = self.rng
        self.topic = (rng.choice(COMPONENTS), rng.choice(SYMPTOMS), rng.choice(CAUSES))
        self.words = rng.sample(self.tail, 12)

    def sentence(self) -> str:
        rng = self.rng
        component, symptom, cause = self.topic
        if rng.random() < 0.15:
            component, symptom, cause = rng.choice(COMPONENTS), rng.choice(SYMPTOMS), rng.choice(CAUSES)
        words = [
            f"The {component} showed a {symptom} after {cause}",
            *rng.choices(FILLER, k=rng.randint(3, 8)),
            *rng.choices(self.words, k=rng.randint(1, 3)),
        ]
        return " ".join(words) + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def lessons(self) -> str:
        return "\n".join(f"- {self.rng.choice(PRACTICES).capitalize()}." for _ in range(self.rng.randint(1, 3)))


def seed(size: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from incidents.models import Incident, RegisteredModel, Tag
    from postmortems.models import ContributingFactor, Learning, LearningCategory, Postmortem
    from search.services import search_index_rebuild
    from teams.models import Membership, Team

    call_command("migrate", verbosity=0)
    rng = random.Random(size)
    tail = [f"{rng.choice('bcdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrstx')}{n}" for n in range(20_000)]
    writer = Writer(rng, tail)
    User = get_user_model()

    teams = Team.objects.bulk_create([Team(name=f"Team {n}", slug=f"team-{n}") for n in range(TEAMS)])
    people = User.objects.bulk_create(
        [User(username=f"person{n}", email=f"person{n}@example.com") for n in range(TEAMS * PEOPLE_PER_TEAM)]
    )
    bench_user = User.objects.create_user(USERNAME, email="bench@example.com")
    Membership.objects.bulk_create(
        [Membership(team=teams[n // PEOPLE_PER_TEAM], user=person) for n, person in enumerate(people)]
        + [Membership(team=teams[0], user=bench_user)]
    )
    models = RegisteredModel.objects.bulk_create(
        [
            RegisteredModel(
                team=team, name=f"{rng.choice(COMPONENTS).split()[0].lower()}-model-{t}-{m}", created_at=ANCHOR
            )
            for t, team in enumerate(teams)
            for m in range(MODELS_PER_TEAM)
        ]
    )
    tags = Tag.objects.bulk_create([Tag(name=f"tag-{n}") for n in range(TAGS)])
    postmortem_count = size // 2
    learning_count = size - postmortem_count
    span = 3 * 365 * 24 * 3600
    # Written over time: the rows of each kind go in oldest first, as they do in real use.
    incident_times = iter(sorted(ANCHOR - timedelta(seconds=rng.randrange(span)) for _ in range(postmortem_count)))
    learning_times = iter(sorted(ANCHOR - timedelta(seconds=rng.randrange(span)) for _ in range(learning_count)))

    log(f"{size}: {postmortem_count} incidents and post-mortems")
    for start in range(0, postmortem_count, BATCH):
        incidents = []
        topics = []
        for _ in range(min(BATCH, postmortem_count - start)):
            model = rng.choice(models)
            when = next(incident_times)
            writer.new_topic()
            topics.append((writer.topic, writer.words))
            component, symptom, _ = writer.topic
            incidents.append(
                Incident(
                    team_id=model.team_id,
                    model=model,
                    title=f"{symptom.capitalize()} in {component} ({model.name})",
                    kind=rng.choice(KINDS),
                    severity=rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
                    status="closed",
                    summary=writer.paragraph(2),
                    detected_at=when,
                    started_at=when,
                    resolved_at=when + timedelta(hours=2),
                    closed_at=when + timedelta(days=3),
                )
            )
        incidents = Incident.objects.bulk_create(incidents)
        postmortems, factors = [], []
        for incident, (topic, words) in zip(incidents, topics, strict=True):
            writer.topic, writer.words = topic, words
            factors.append([(category, writer.sentence()) for category in rng.sample(CATEGORIES, rng.randint(1, 3))])
            published = rng.random() > DRAFT_SHARE
            content = {key: writer.paragraph(rng.randint(2, 5)) for key, _, kind in SECTIONS if kind == "markdown"}
            content["lessons"] = writer.lessons()
            when = incident.detected_at + timedelta(days=5)
            postmortems.append(
                Postmortem(
                    incident=incident,
                    template_name="Standard blameless review",
                    sections=[
                        {"key": key, "title": title, "prompt": "", "kind": kind, "required": False}
                        for key, title, kind in SECTIONS
                    ],
                    title=f"Post-mortem: {incident.title}",
                    content=content,
                    status="published" if published else "draft",
                    updated_at=when,
                    published_at=when if published else None,
                    published_version=1 if published else None,
                )
            )
        postmortems = Postmortem.objects.bulk_create(postmortems)
        ContributingFactor.objects.bulk_create(
            [
                ContributingFactor(postmortem=postmortem, category=category, description=description)
                for postmortem, described in zip(postmortems, factors, strict=True)
                for category, description in described
            ]
        )
        Incident.tags.through.objects.bulk_create(
            [
                Incident.tags.through(incident_id=incident.pk, tag_id=tag.pk)
                for incident in incidents
                for tag in rng.sample(tags, rng.randint(0, 2))
            ]
        )

    log(f"{size}: {learning_count} learnings")
    for start in range(0, learning_count, BATCH):
        learnings = []
        for _ in range(min(BATCH, learning_count - start)):
            when = next(learning_times)
            practice = rng.choice(PRACTICES)
            writer.new_topic()
            learnings.append(
                Learning(
                    title=f"{practice.capitalize()} ({writer.topic[0]})",
                    body=writer.paragraph(rng.randint(1, 3)),
                    team=rng.choice(teams) if rng.random() > 0.2 else None,
                    created_at=when,
                    updated_at=when,
                )
            )
        learnings = Learning.objects.bulk_create(learnings)
        LearningCategory.objects.bulk_create(
            [
                LearningCategory(learning=learning, category=category)
                for learning in learnings
                for category in rng.sample(CATEGORIES, rng.randint(1, 2))
            ]
        )
        Learning.registered_models.through.objects.bulk_create(
            [
                Learning.registered_models.through(learning_id=learning.pk, registeredmodel_id=model.pk)
                for learning in learnings
                for model in rng.sample(models, rng.randint(0, 2))
            ]
        )
        Learning.tags.through.objects.bulk_create(
            [
                Learning.tags.through(learning_id=learning.pk, tag_id=tag.pk)
                for learning in learnings
                for tag in rng.sample(tags, rng.randint(0, 3))
            ]
        )

    log(f"{size}: building the search index with the app's indexing code")
    started = time.perf_counter()
    written = search_index_rebuild()
    log(f"{size}: {written} search entries in {time.perf_counter() - started:.0f}s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def seed_in_child(size: int) -> None:
    recreate_database(size)
    env = dict(os.environ, DATABASE_URL=database_url(size), CONN_MAX_AGE="0")
    subprocess.run([sys.executable, __file__, "--seed-only", str(size)], check=True, env=env, cwd=ROOT)


# Measuring ---------------------------------------------------------------------------------------------

current_alias = contextvars.ContextVar("current_alias", default="default")


class AliasRouter:
    """Send every query to the database being measured."""

    def db_for_read(self, model, **hints):
        return current_alias.get()

    def db_for_write(self, model, **hints):
        return current_alias.get()

    def allow_relation(self, *args, **hints):
        return True


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(size: int, baseline: int, rounds: int) -> None:
    os.environ["DATABASE_URL"] = database_url(baseline)
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - reading it configures the settings before setup
    settings.DATABASES["large"] = {**settings.DATABASES["default"], "NAME": database_name(size)}
    settings.DATABASE_ROUTERS = ["__main__.AliasRouter"]
    settings.ALLOWED_HOSTS = ["*"]
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from search.selectors import search

    sides = {"small": "default", "large": "large"}
    users, clients = {}, {}
    for side, alias in sides.items():
        token = current_alias.set(alias)
        users[side] = get_user_model().objects.get(username=USERNAME)
        clients[side] = Client()
        clients[side].force_login(users[side])
        current_alias.reset(token)

    selector = {side: [] for side in sides}
    request = {side: [] for side in sides}
    hits = {side: {} for side in sides}
    for round_number in range(rounds + 1):
        for query in QUERIES:
            order = list(sides) if round_number % 2 else list(reversed(sides))
            for side in order:
                token = current_alias.set(sides[side])
                started = time.perf_counter()
                page = search(user=users[side], query=query)
                selected = time.perf_counter() - started
                started = time.perf_counter()
                response = clients[side].get("/api/v1/search/", {"q": query})
                requested = time.perf_counter() - started
                current_alias.reset(token)
                assert response.status_code == 200, response.content
                if round_number:  # the first round warms caches and is not counted
                    selector[side].append(selected)
                    request[side].append(requested)
                hits[side][query] = len(page.hits)

    print()
    print(f"Search over {size:,} post-mortems and learnings against {baseline:,}, {rounds} rounds of {len(QUERIES)}")
    print(f"{'':<22}{'p50 small':>12}{'p50 large':>12}{'p90 small':>12}{'p90 large':>12}{'ratio p50':>11}")
    for label, samples in (("search selector", selector), ("GET /api/v1/search/", request)):
        small50, large50 = statistics.median(samples["small"]), statistics.median(samples["large"])
        small90, large90 = percentile(samples["small"], 0.9), percentile(samples["large"], 0.9)
        print(
            f"{label:<22}{small50 * 1000:>10.2f}ms{large50 * 1000:>10.2f}ms"
            f"{small90 * 1000:>10.2f}ms{large90 * 1000:>10.2f}ms{large50 / small50:>10.2f}x"
        )
    print()
    print("results on the first page (small / large): " + ", ".join(
        f"{query} {hits['small'][query]}/{hits['large'][query]}" for query in QUERIES
    ))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep databases already seeded with these sizes")
    parser.add_argument("--seed-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        seed(args.seed_only)
        return
    for size in (args.baseline, args.size):
        if args.reuse and is_seeded(size):
            log(f"{size}: reusing {database_name(size)}")
            continue
        log(f"{size}: seeding {database_name(size)}")
        seed_in_child(size)
    measure(args.size, args.baseline, args.rounds)


if __name__ == "__main__":
    main()
