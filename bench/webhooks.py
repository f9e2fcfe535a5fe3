"""Benchmark the webhook path against a bare Django insert, side by side in one run, and the processing rate.

    .venv/bin/python bench/webhooks.py [--client wrk|python] [--duration 8] [--rounds 4] [--clients 8]
        [--web-workers 2] [--process 2000] [--receive-only | --process-only]

Starts two gunicorn servers on loopback against one fresh PostgreSQL database:
Kintsugi (config.wsgi, Redis as broker and cache) and the bare app of
bench/bare_settings.py (one view inserting the raw body). Both receive the same
signed GitHub ``workflow_run`` deliveries, deploying ten models, one in ten a
failure, from the same client.

The full load comes from ``wrk`` (``apt-get install -y wrk``), a C client
that costs the two shared cores little, so the servers, not the client, set
the rates: ``--clients`` connections over two threads, each request a
pre-signed body (rotated) with a delivery id of its own, so every one is new.
``--client python`` drives it from Python processes instead (a slower client
caps both servers alike, pulling the ratio towards 1), as when wrk is
missing. The half-peak latency is always measured by paced Python clients
(wrk cannot pace).

The full load is interleaved: ``--duration`` seconds per server are split into
``--rounds`` rounds, each driving both servers in turn for duration/rounds
seconds, the bare one first in the first round, Kintsugi first in the next,
and so on (ABBA...). The speed of a shared machine drifts within seconds, so
each round's ratio (Kintsugi's rate / the bare rate in the same round)
compares like with like, and the ratio reported is the median of the rounds'.

Prints accepted deliveries per second, p50/p99 latency and CPU per request of
each at full load (pooled over the rounds), each round's ratio and their median
(target >= 0.7), p99 at half of Kintsugi's peak rate (target < 50 ms),
then the rate at which stored deliveries become deployments: in this process
one per transaction (the baseline) and in batches as the drain task takes
them, then with a real Celery worker (target >= 500/s). One delivery in ten
is a failure, so about one in five takes the full services (a failure opens an
incident, the next success mitigates it). Loopback only; every loop is
bounded in time and count. ``--process-only`` leaves out the servers and
measures processing alone: a short run when only processing changed.

Environment: BENCH_DATABASE_URL (the server and the prefix of the database ``<prefix>_webhooks``, created
anew; bench/databases.py) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/2, flushed before and after).
"""

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT on the path
from bench.ports import free_port  # noqa: E402 - needs ROOT on the path

BENCH_DB = bench_database_name("webhooks")
SECRET_KEY = "bench-" + "k" * 60
MAX_REQUESTS_PER_CLIENT = 200_000
# The runs deploy several models: each model's deliveries are applied one at a
# time (its lane lock), different models in parallel, as in a real organisation.
MODELS = [
    "fraud-detector",
    "churn-predictor",
    "ranker",
    "embedder",
    "eta-regressor",
    "spam-filter",
    "demand-forecast",
    "price-optimizer",
    "fraud-explainer",
    "search-reranker",
]
MODEL_PATTERN = r"Deploy (?P<model>[a-z-]+) v(?P<version>\d+)"


def recreate_database(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def kintsugi_env(db_url: str, redis_url: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "KINTSUGI_VAR_DIR": var_dir,
        "CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def start_gunicorn(app: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        "--access-logfile",
        "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_until_serving(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing serves 127.0.0.1:{port} after {timeout}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- the deliveries ---------------------------------------------------------------------------------------------


def repository(full_name: str) -> dict:
    owner, name = full_name.split("/")
    api = f"https://api.github.com/repos/{full_name}"
    urls = {
        f"{key}_url": f"{api}/{key}{{/number}}"
        for key in [
            "archive",
            "assignees",
            "blobs",
            "branches",
            "collaborators",
            "comments",
            "commits",
            "compare",
            "contents",
            "contributors",
            "deployments",
            "downloads",
            "events",
            "forks",
            "git_commits",
            "git_refs",
            "git_tags",
            "hooks",
            "issue_comment",
            "issue_events",
            "issues",
            "keys",
            "labels",
            "languages",
            "merges",
            "milestones",
            "notifications",
            "pulls",
            "releases",
            "stargazers",
            "statuses",
            "subscribers",
            "subscription",
            "tags",
            "teams",
            "trees",
        ]
    }
    owner_record = {
        "login": owner,
        "id": 6811672,
        "node_id": "MDEyOk9yZ2FuaXphdGlvbjY4MTE2NzI=",
        "avatar_url": "https://avatars.githubusercontent.com/u/6811672?v=4",
        "url": f"https://api.github.com/users/{owner}",
        "html_url": f"https://github.com/{owner}",
        "type": "Organization",
        "site_admin": False,
    }
    return {
        "id": 17273051,
        "node_id": "MDEwOlJlcG9zaXRvcnkxNzI3MzA1MQ==",
        "name": name,
        "full_name": full_name,
        "private": True,
        "owner": owner_record,
        "html_url": f"https://github.com/{full_name}",
        "description": "Training and serving of the fraud models",
        "fork": False,
        "url": api,
        **urls,
    }


def workflow_run_body(run_id: int, failed: bool) -> bytes:
    full_name = "acme-ml/fraud-serving"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    repo = repository(full_name)
    payload = {
        "action": "completed",
        "workflow_run": {
            "id": run_id,
            "name": "Deploy model",
            "node_id": "WFR_kwLOBoNz2s8AAAAB",
            "head_branch": "main",
            "head_sha": hashlib.sha1(str(run_id).encode()).hexdigest(),
            "path": ".github/workflows/deploy.yml",
            "display_title": f"Deploy {MODELS[run_id % len(MODELS)]} v{run_id % 50 + 1}",
            "run_number": run_id % 100_000,
            "event": "push",
            "status": "completed",
            "conclusion": "failure" if failed else "success",
            "workflow_id": 161335,
            "check_suite_id": 414944374,
            "url": f"https://api.github.com/repos/{full_name}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{full_name}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": stamp,
            "updated_at": stamp,
            "run_attempt": 1,
            "run_started_at": stamp,
            "head_commit": {
                "id": hashlib.sha1(str(run_id).encode()).hexdigest(),
                "message": "Promote the retrained fraud model\n\nRetrained on March data.",
                "timestamp": stamp,
                "author": {"name": "Priya Raman", "email": "priya@example.com"},
            },
            "repository": repo,
            "head_repository": repo,
        },
        "workflow": {"id": 161335, "name": "Deploy model", "path": ".github/workflows/deploy.yml"},
        "repository": repo,
        "organization": repo["owner"],
        "sender": repo["owner"],
    }
    return json.dumps(payload).encode()


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "workflow_run",
        "X-GitHub-Delivery": secrets.token_hex(16),
        "X-GitHub-Hook-ID": "292047",
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


# -- the load ---------------------------------------------------------------------------------------------------


def client_loop(args) -> tuple[int, int, list[float]]:
    """Send deliveries for ``duration`` seconds, paced at ``rate``/s when given; return (ok, other, latencies)."""
    port, path, secret, client_index, duration, rate = args
    bodies = [
        workflow_run_body(
            run_id=(client_index + 1) * 10_000_000 + n + int(time.time() * 1000) % 1_000_000, failed=n % 10 == 0
        )
        for n in range(50)
    ]
    latencies: list[float] = []
    ok = other = 0
    started = time.perf_counter()
    interval = 1.0 / rate if rate else 0.0
    for n in range(MAX_REQUESTS_PER_CLIENT):
        now = time.perf_counter()
        if now - started >= duration:
            break
        if interval:
            due = started + n * interval
            if due > now:
                time.sleep(due - now)
        # Unique run per request: every delivery is new, and becomes its own deployment.
        body = bodies[n % len(bodies)].replace(b'"run_attempt": 1', b'"run_attempt": %d' % (n // len(bodies) + 1))
        headers = signed_headers(secret, body)
        sent = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            connection.close()
        latencies.append(time.perf_counter() - sent)
        if status == 202:
            ok += 1
        else:
            other += 1
    return ok, other, latencies


# Rotates pre-signed requests; every request gets a delivery id of its own. Writes its summary as JSON.
WRK_SCRIPT = """
local threads = {}
local next_id = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("thread_id", next_id)
    table.insert(threads, thread)
end

function init(args)
    signatures, bodies = {}, {}
    for line in io.lines(args[1]) do
        local signature, body = line:match("^(%S+)\t(.*)$")
        table.insert(signatures, signature)
        table.insert(bodies, body)
    end
    prefix = args[2] .. "-" .. thread_id .. "-"
    sent = 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
    wrk.headers["X-GitHub-Event"] = "workflow_run"
    wrk.headers["X-GitHub-Hook-ID"] = "292047"
end

function request()
    sent = sent + 1
    local index = sent % #bodies + 1
    wrk.headers["X-Hub-Signature-256"] = signatures[index]
    wrk.headers["X-GitHub-Delivery"] = prefix .. sent
    return wrk.format(nil, nil, nil, bodies[index])
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
        summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
        latency:percentile(50), latency:percentile(99)))
end
"""
WRK_BODIES = 200


def wrk_files(directory: str, secret: str) -> tuple[str, str]:
    """Write the wrk script and its pre-signed requests (one in ten a failure) into ``directory``; return both paths."""
    script, requests = Path(directory) / "webhooks.lua", Path(directory) / "requests.tsv"
    script.write_text(WRK_SCRIPT)
    lines = []
    for n in range(WRK_BODIES):
        body = workflow_run_body(run_id=500_000_000 + n, failed=n % 10 == 0)
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        lines.append(f"{signature}\t{body.decode()}")
    requests.write_text("\n".join(lines) + "\n")
    return str(script), str(requests)


def wrk_load(port: int, path: str, files: tuple[str, str], connections: int, duration: float) -> dict:
    """Drive the server with wrk for ``duration`` seconds (whole seconds, at least one); return its run."""
    script, requests = files
    command = [
        shutil.which("wrk") or "wrk",
        "--threads",
        str(min(2, connections)),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--script",
        script,
        f"http://127.0.0.1:{port}{path}",
        "--",
        requests,
        secrets.token_hex(6),
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    refused = summary["non_2xx"] + summary["socket_errors"]
    return {
        "accepted": summary["requests"] - summary["non_2xx"],
        "refused": refused,
        "elapsed": summary["duration_us"] / 1e6,
        "latencies": [],
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
    }


def process_cpu(pid: str) -> tuple[str, float]:
    """Return a process's name and the CPU seconds (user + system) it used so far; ("", 0.0) when it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            head, tail = stat.read().rsplit(")", 1)
    except OSError:
        return "", 0.0
    fields = tail.split()
    return head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """Return the CPU time used so far by a gunicorn server's worker processes."""
    with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
        return sum(process_cpu(pid)[1] for pid in children.read().split())


def services_cpu_seconds() -> dict[str, float]:
    """Return the CPU time used so far by every PostgreSQL and Redis server process on this machine."""
    totals = {"postgres": 0.0, "redis-server": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name, seconds = process_cpu(pid)
        if name in totals:
            totals[name] += seconds
    return totals


def drive(
    pool,
    server: subprocess.Popen,
    port: int,
    path: str,
    secret: str,
    clients: int,
    duration: float,
    rate: float | None = None,
    wrk: tuple[str, str] | None = None,
) -> dict:
    """Load the server for ``duration`` seconds: with wrk when its files are given (full load), else Python clients."""
    per_client = rate / clients if rate else None
    cpu_before, services_before = server_cpu_seconds(server), services_cpu_seconds()
    if wrk is not None:
        run = wrk_load(port, path, wrk, clients, duration)
    else:
        started = time.perf_counter()
        results = pool.map(client_loop, [(port, path, secret, index, duration, per_client) for index in range(clients)])
        run = {
            "accepted": sum(result[0] for result in results),
            "refused": sum(result[1] for result in results),
            "elapsed": time.perf_counter() - started,
            "latencies": [latency for result in results for latency in result[2]],
        }
    cpu = server_cpu_seconds(server) - cpu_before
    services = {name: seconds - services_before[name] for name, seconds in services_cpu_seconds().items()}
    run.update(cpu_s=cpu, postgres_cpu_s=services["postgres"], redis_cpu_s=services["redis-server"])
    return pooled([run])


def pooled(runs: list[dict]) -> dict:
    """Pool runs of one server: total accepted / total elapsed, latencies together, CPU per request over them all."""
    ok = sum(run["accepted"] for run in runs)
    other = sum(run["refused"] for run in runs)
    elapsed = sum(run["elapsed"] for run in runs)
    latencies = sorted(latency for run in runs for latency in run["latencies"])
    cpu, postgres_cpu, redis_cpu = (sum(run[key] for run in runs) for key in ("cpu_s", "postgres_cpu_s", "redis_cpu_s"))
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    if all("p50_ms" in run for run in runs):
        # wrk reports quantiles, not latencies: the median of the runs' medians, and the worst of their p99s.
        quantiles[49] = statistics.median(run["p50_ms"] for run in runs) / 1000
        quantiles[98] = max(run["p99_ms"] for run in runs) / 1000
    return {
        "accepted": ok,
        "refused": other,
        "elapsed": elapsed,
        "latencies": latencies,
        "cpu_s": cpu,
        "postgres_cpu_s": postgres_cpu,
        "redis_cpu_s": redis_cpu,
        "rate": ok / elapsed if elapsed else 0.0,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "cpu_ms": cpu / (ok + other) * 1000 if ok + other else 0.0,
        "postgres_cpu_ms": postgres_cpu / (ok + other) * 1000 if ok + other else 0.0,
        "redis_cpu_ms": redis_cpu / (ok + other) * 1000 if ok + other else 0.0,
    }


def line(name: str, result: dict) -> str:
    return (
        f"  {name:<34} {result['rate']:8.1f}/s  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
        f"  {result['cpu_ms']:4.1f} ms CPU/request  ({result['accepted']} accepted, {result['refused']} other)"
    )


# -- processing -------------------------------------------------------------------------------------------------


def store_deliveries(source, count: int) -> None:
    """Store ``count`` more deliveries as the webhook stores them, so each processing run has enough."""
    from django.utils import timezone

    from incidents.models import Delivery

    now = timezone.now()
    rows = []
    for n in range(count):
        delivery_id = secrets.token_hex(16)
        rows.append(
            Delivery(
                source=source,
                delivery_id=delivery_id,
                event="workflow_run",
                headers={
                    "content-type": "application/json",
                    "x-github-event": "workflow_run",
                    "x-github-delivery": delivery_id,
                },
                content_type="application/json",
                body=workflow_run_body(run_id=900_000_000 + n + secrets.randbelow(10_000_000), failed=n % 10 == 0),
                received_at=now,
                next_attempt_at=now,
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=500)


def waiting_only(count: int) -> list[int]:
    """Leave the oldest ``count`` received deliveries due and park the others; return the ids left due."""
    from django.db.models import F

    from incidents.models import Delivery

    received = Delivery.objects.filter(status=Delivery.Status.RECEIVED)
    ids = list(received.order_by("id").values_list("id", flat=True)[:count])
    received.filter(pk__in=ids).update(next_attempt_at=F("received_at"))
    received.exclude(pk__in=ids).update(next_attempt_at=None)
    return ids


def register_versions(team) -> None:
    """Register every model version the deliveries name, as a registry source would have before they deploy.

    Processing is then measured in its steady state; the first run of a new
    version costs more (the full services), and would otherwise fall on
    whichever measurement comes first.
    """
    from django.utils import timezone

    from incidents.services.registry import model_version_get_or_create, registered_model_get_or_create

    now = timezone.now()
    for name in MODELS:
        model = registered_model_get_or_create(team=team, name=name, at=now)
        for version in range(1, 51):
            model_version_get_or_create(model=model, version=str(version), at=now)


def measure_processing(count: int, batch_size: int | None = None) -> dict:
    """Drain ``count`` stored deliveries in this process, batch after batch, as the drain task does.

    ``batch_size`` 1 is the baseline: one delivery per transaction, as a task per delivery would.
    """
    from celery.signals import before_task_publish
    from django.conf import settings
    from django.db import connection

    from incidents.ingest.batch import delivery_batch_process
    from incidents.models import Delivery, Deployment

    ids = waiting_only(count)
    before = Deployment.objects.count()
    size = batch_size or settings.KINTSUGI_DELIVERY_BATCH_SIZE
    # What the machine's load leaves alone: the statements run and the tasks queued (by name) per delivery.
    statements = [0]
    queued: dict[str, int] = {}

    def count_statement(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    def count_task(sender=None, **kwargs):
        queued[sender] = queued.get(sender, 0) + 1

    before_task_publish.connect(count_task, weak=False)
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count_statement):
        while delivery_batch_process(limit=size).claimed == size:
            pass
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    before_task_publish.disconnect(count_task)
    connection.close()
    statuses = dict.fromkeys(Delivery.Status.values, 0)
    for status in Delivery.objects.filter(pk__in=ids).values_list("status", flat=True):
        statuses[status] += 1
    return {
        "processed": len(ids),
        "rate": len(ids) / elapsed if elapsed else 0.0,
        "cpu_ms": cpu / len(ids) * 1000 if ids else 0.0,
        "deployments": Deployment.objects.count() - before,
        "statuses": {status: number for status, number in statuses.items() if number},
        "statements": statements[0] / len(ids) if ids else 0.0,
        "queued": queued,
    }


def measure_worker(count: int, env: dict[str, str], redis_url: str, concurrency: int) -> dict:
    """Wake processing of ``count`` stored deliveries as the webhook does, let a real Celery worker drain them.

    The rate runs from the first to the last delivery finished.
    """
    from django.db import connection
    from django.db.models import Max, Min

    from incidents.ingest.drain import delivery_processing_wake
    from incidents.models import Delivery

    flush_redis(redis_url)  # drop the tasks the receive runs queued: only these are measured
    ids = waiting_only(count)
    for _ in ids:
        delivery_processing_wake()
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    waiting = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.RECEIVED)
    deadline = time.monotonic() + 180
    try:
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop(worker)
    done = Delivery.objects.filter(pk__in=ids, processed_at__isnull=False)
    span = done.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    finished = done.count()
    connection.close()
    seconds = (span["last"] - span["first"]).total_seconds() if finished > 1 else 0.0
    return {"processed": finished, "queued": len(ids), "rate": (finished - 1) / seconds if seconds else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=8.0,
        help="seconds of full load per server (split into the rounds), and of each half-peak measurement",
    )
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds of the full load (ABBA...)")
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="what drives the full load: wrk (default when installed) or Python client processes",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections (wrk) or client processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers of each server")
    parser.add_argument("--process", type=int, default=2000, help="stored deliveries to process for the worker rate")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database to look at")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="processes of the Celery worker")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--receive-only", action="store_true", help="measure receiving only, not processing")
    only.add_argument("--process-only", action="store_true", help="measure processing only, not receiving")
    options = parser.parse_args()
    options.duration = min(max(options.duration, 1.0), 60.0)
    options.clients = min(max(options.clients, 1), 64)
    options.rounds = min(max(options.rounds, 1), int(options.duration))  # at least a second per round
    round_duration = options.duration / options.rounds
    if options.client == "wrk":
        round_duration = max(1, round(round_duration))  # wrk counts whole seconds

    server_url = bench_admin_url()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
    db_url = bench_database_url(BENCH_DB)
    recreate_database(server_url)
    flush_redis(redis_url)
    var_dir = tempfile.mkdtemp(prefix="kintsugi-bench-")
    env = kintsugi_env(db_url, redis_url, var_dir)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import psycopg

    from bench.bare_settings import CREATE_TABLE
    from incidents.models import Source
    from incidents.services.sources import source_create
    from teams.models import Team

    team = Team.objects.create(name="Fraud", slug="fraud")
    source, secret = source_create(
        team=team, kind="github", name="fraud-serving", model_pattern=MODEL_PATTERN, model_pattern_field="title"
    )
    # Beyond what the source form allows: the limit is still counted on every
    # request, but the benchmark must measure throughput, not the limit.
    Source.objects.filter(pk=source.pk).update(rate_limit_per_minute=1_000_000_000)
    source.refresh_from_db()
    register_versions(team)
    with psycopg.connect(db_url, autocommit=True) as bare_db:
        bare_db.execute(CREATE_TABLE)
    from django.db import connection

    connection.close()

    if not options.process_only:
        kintsugi_port, bare_port = free_port(), free_port()
        bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"}
        servers = [
            start_gunicorn("config.wsgi:application", kintsugi_port, options.web_workers, env),
            start_gunicorn("bench.bare_wsgi:application", bare_port, options.web_workers, bare_env),
        ]
        try:
            wait_until_serving(kintsugi_port)
            wait_until_serving(bare_port)
            hook = source.webhook_path
            context = multiprocessing.get_context("fork")
            wrk = wrk_files(var_dir, secret) if options.client == "wrk" else None
            with context.Pool(options.clients) as pool:
                drive(pool, servers[0], kintsugi_port, hook, secret, options.clients, 2.0, wrk=wrk)  # warm both up
                drive(pool, servers[1], bare_port, hook, secret, options.clients, 2.0, wrk=wrk)
                # Each round drives both, the bare one first in even rounds and Kintsugi first in odd ones (ABBA...).
                targets = {"bare": (servers[1], bare_port), "kintsugi": (servers[0], kintsugi_port)}
                rounds: dict[str, list[dict]] = {"bare": [], "kintsugi": []}
                for number in range(options.rounds):
                    for name in ("bare", "kintsugi") if number % 2 == 0 else ("kintsugi", "bare"):
                        server, port = targets[name]
                        rounds[name].append(
                            drive(pool, server, port, hook, secret, options.clients, round_duration, wrk=wrk)
                        )
                bare, kintsugi = pooled(rounds["bare"]), pooled(rounds["kintsugi"])
                half = kintsugi["rate"] / 2
                kintsugi_half = drive(
                    pool, servers[0], kintsugi_port, hook, secret, options.clients, options.duration, rate=half
                )
                bare_half = drive(
                    pool, servers[1], bare_port, hook, secret, options.clients, options.duration, rate=half
                )
        finally:
            for server in servers:
                stop(server)

    if not options.process_only:
        round_ratios = [
            kintsugi_round["rate"] / bare_round["rate"] if bare_round["rate"] else 0.0
            for bare_round, kintsugi_round in zip(rounds["bare"], rounds["kintsugi"], strict=True)
        ]
        ratio = statistics.median(round_ratios)
    if not options.receive_only:
        # The load's deliveries repeat runs (wrk rotates its bodies): processing is measured on deliveries of its own.
        from incidents.models import Delivery

        Delivery.objects.filter(status=Delivery.Status.RECEIVED).update(
            status=Delivery.Status.IGNORED, next_attempt_at=None
        )
        store_deliveries(source, 2 * options.process + options.process // 2)
        one_at_a_time = measure_processing(options.process // 2, batch_size=1)
        processing = measure_processing(options.process)
        worker = measure_worker(options.process, env, redis_url, options.worker_concurrency)
    flush_redis(redis_url)
    shutil.rmtree(var_dir, ignore_errors=True)
    if not options.keep:
        import psycopg

        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    if not options.process_only:
        client = "wrk, 2 threads, connections" if options.client == "wrk" else "Python client processes"
        print(
            f"\nWebhook receive: {options.clients} {client}, {options.web_workers} gunicorn workers each, "
            f"{options.duration:.0f} s of full load per server in {options.rounds} interleaved rounds of "
            f"{round_duration:.1f} s, {options.duration:.0f} s at half peak, signed GitHub workflow_run deliveries of "
            f"{len(workflow_run_body(1, False)) / 1024:.0f} KiB"
        )
        print(line("bare Django insert (baseline)", bare))
        print(line("Kintsugi /hooks/", kintsugi))
        orders = ["bare first" if number % 2 == 0 else "Kintsugi first" for number in range(options.rounds)]
        print(
            "  ratio Kintsugi / bare of each round: "
            + ", ".join(f"{round_ratio:.2f} ({order})" for round_ratio, order in zip(round_ratios, orders, strict=True))
        )
        print(
            f"  ratio Kintsugi / bare: {ratio:.2f}, the median of {options.rounds} interleaved rounds   "
            f"(target >= 0.70: {'met' if ratio >= 0.7 else 'MISSED'})"
        )
        print(
            "  CPU per request (load on the machine changes this little; the rates above it does):\n"
            f"    web workers: Kintsugi {kintsugi['cpu_ms']:.2f} ms, bare {bare['cpu_ms']:.2f} ms\n"
            f"    PostgreSQL:  Kintsugi {kintsugi['postgres_cpu_ms']:.2f} ms, bare {bare['postgres_cpu_ms']:.2f} ms\n"
            f"    Redis:       Kintsugi {kintsugi['redis_cpu_ms']:.2f} ms, bare {bare['redis_cpu_ms']:.2f} ms"
        )
        print(line(f"Kintsugi at half peak ({half:.0f}/s)", kintsugi_half))
        print(line(f"bare at the same rate ({half:.0f}/s)", bare_half))
        print(
            f"  p99 at half peak: {kintsugi_half['p99_ms']:.1f} ms   "
            f"(target < 50 ms: {'met' if kintsugi_half['p99_ms'] < 50 else 'MISSED'})"
        )
    if options.receive_only:
        return 0
    print(
        f"\nProcessing: {one_at_a_time['processed']} stored deliveries one per transaction in one process "
        f"(baseline): {one_at_a_time['rate']:.1f}/s, {one_at_a_time['cpu_ms']:.1f} ms CPU each"
    )
    print(
        f"Processing: {processing['processed']} stored deliveries drained in batches in one process "
        f"({processing['rate'] / one_at_a_time['rate'] if one_at_a_time['rate'] else 0:.2f}x the baseline)"
    )
    print(
        f"  {processing['rate']:.1f} deliveries/s, {processing['cpu_ms']:.1f} ms CPU each "
        f"(one core's ceiling {1000 / processing['cpu_ms'] if processing['cpu_ms'] else 0:.0f}/s), "
        f"{processing['deployments']} deployments created, "
        f"statuses {processing['statuses']}   (target >= 500/s: {'met' if processing['rate'] >= 500 else 'MISSED'})"
    )
    for name, run in (("one per transaction", one_at_a_time), ("in batches", processing)):
        tasks = ", ".join(f"{task.rsplit('.', 1)[-1]} {number}" for task, number in sorted(run["queued"].items()))
        print(f"  {name}: {run['statements']:.2f} SQL statements per delivery; tasks queued: {tasks or 'none'}")
    print(
        f"Processing: {worker['processed']} of {worker['queued']} queued deliveries by a Celery worker "
        f"(prefork, concurrency {options.worker_concurrency})"
    )
    print(
        f"  {worker['rate']:.1f} deliveries/s from first to last finish   "
        f"(target >= 500/s: {'met' if worker['rate'] >= 500 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
