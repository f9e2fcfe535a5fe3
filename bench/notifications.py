"""Notifications: what telling people costs the change that caused it, and how fast the worker's side runs.

In one PostgreSQL database with a team of 20 people and two channels (Slack
and a signed webhook, both at a loopback receiver answering 200), measures in
interleaved rounds the median time of ``incident_open`` (a person declaring an
incident: the request's side) with its ``notify_event`` call against the same
call with notifications switched off (the baseline), and prints the ratio.
Then times the worker's side per event: the dispatch (facts, 20 notices in
the app, the sends) and each send (an HTTP POST, signed for the webhook).

    .venv/bin/python bench/notifications.py [--rounds 5] [--per-round 40]

Needs PostgreSQL: BENCH_DATABASE_URL names the server and the database's prefix (bench/databases.py);
the database is <prefix>_notifications, created anew.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.databases import bench_admin_url, bench_database_name, bench_database_url  # noqa: E402 - needs ROOT on the path

DATABASE = bench_database_name("notifications")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def recreate_database() -> None:
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    environment = {**os.environ, "DATABASE_URL": bench_database_url(DATABASE)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True)


class Answer200(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=40)
    options = parser.parse_args()
    recreate_database()
    os.environ["DATABASE_URL"] = bench_database_url(DATABASE)
    os.environ["KINTSUGI_OUTBOUND_ALLOW_PRIVATE"] = "true"
    os.environ["EMAIL_URL"] = "dummy://"
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    import incidents.services.incidents as incident_services
    from notifications.models import Event, NotificationSend
    from notifications.services.channels import channel_create
    from notifications.services.sends import event_dispatch, send_deliver
    from teams.models import Membership, Team

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer200)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    team = Team.objects.create(name="Bench", slug="bench")
    users = [get_user_model().objects.create_user(f"person{n}", f"person{n}@example.com") for n in range(20)]
    for index, user in enumerate(users):
        Membership.objects.create(team=team, user=user, role="lead" if index == 0 else "member")
    lead = users[0]
    channel_create(team=team, actor=lead, kind="slack", name="#bench", url=url, events=["*"])
    channel_create(team=team, actor=lead, kind="webhook", name="bridge", url=url, events=["*"])

    real_notify = incident_services.notify_event
    timings: dict[str, list[float]] = {"with notify_event": [], "without (baseline)": []}
    for round_number in range(options.rounds):
        for label in timings if round_number % 2 == 0 else reversed(list(timings)):
            incident_services.notify_event = real_notify if label == "with notify_event" else (lambda **kwargs: None)
            for n in range(options.per_round):
                start = time.perf_counter()
                incident_services.incident_open(team=team, title=f"Drift {round_number}-{n}", created_by=lead)
                timings[label].append(time.perf_counter() - start)
    incident_services.notify_event = real_notify
    with_notify = statistics.median(timings["with notify_event"])
    baseline = statistics.median(timings["without (baseline)"])
    print(f"incident_open, median of {len(timings['with notify_event'])} each:")
    print(f"  without notifications (baseline): {baseline * 1000:.2f} ms")
    print(f"  with notify_event:                {with_notify * 1000:.2f} ms   ratio {with_notify / baseline:.2f}")

    dispatch, sends = [], []
    for event_id in Event.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True):
        start = time.perf_counter()
        event_dispatch(event_id=event_id)
        dispatch.append(time.perf_counter() - start)
    for send_id in NotificationSend.objects.values_list("pk", flat=True):
        start = time.perf_counter()
        send_deliver(send_id=send_id)
        sends.append(time.perf_counter() - start)
    per_event = statistics.median(dispatch)
    per_send = statistics.median(sends)
    print(f"dispatch per event (19 notices, 2 channel sends): median {per_event * 1000:.2f} ms over {len(dispatch)}")
    print(f"  ratio to the incident_open it follows: {per_event / baseline:.2f}")
    print(f"send per message (loopback POST, Slack or signed webhook): median {per_send * 1000:.2f} ms, n={len(sends)}")
    print(f"  sent: {NotificationSend.objects.filter(status='sent').count()} of {len(sends)}")
    server.shutdown()
    from django.db import connections

    connections.close_all()
    with psycopg.connect(bench_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
