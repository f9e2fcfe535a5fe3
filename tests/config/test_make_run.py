"""``make run`` as a new user meets it: a port of their choice, the URL and sign-ins printed last."""

import http.cookiejar
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from demo.chapters.people import DEMO_PASSWORD, PEOPLE

ROOT = Path(__file__).resolve().parents[2]
# Migrating a fresh database, seeding the demo and starting three processes on a busy machine.
STARTUP_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_lines(stream, lines: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode(errors="replace").rstrip("\n"))
    lines.put(None)


def _signed_in_opener(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/login/", timeout=30).read()
    token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": "demo", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(f"{base}/accounts/login/", data=form.encode(), headers={"Referer": base + "/"})
    opener.open(request, timeout=30).read()
    return opener


@pytest.fixture
def make_run(tmp_path):
    """Start ``make run`` on a free port with a fresh embedded database; yield (port, output lines)."""
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SITE_URL", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL", "PORT"}
    }
    env.update({"PORT": str(port), "KINTSUGI_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        yield port, lines
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _lines_until(lines: queue.Queue, pattern: re.Pattern, deadline: float) -> list[str]:
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if pattern.search(line):
            return seen
    raise AssertionError("make run never printed its banner:\n" + "\n".join(seen[-60:]))


def test_make_run_prints_its_own_port_last_and_links_use_it(make_run):
    port, lines = make_run
    base = f"http://127.0.0.1:{port}"
    output = _lines_until(lines, re.compile(r"Password for every demo sign-in"), time.monotonic() + STARTUP_SECONDS)
    banner_at = next(index for index, line in enumerate(output) if f"Kintsugi is up at {base}/" in line)
    banner = "\n".join(output[banner_at:])
    for username, *_ in PEOPLE:
        assert re.search(rf"\b{username}\b", banner), f"{username} is missing from the banner"
    # The worker is quiet at its default level: a few lines, not sixty.
    worker_lines = [line for line in output if re.match(r"^\S*\s*worker\.1\s*\|", line)]
    assert len(worker_lines) <= 15, "\n".join(worker_lines)

    # The banner waited for the web server: it answers now.
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:
        assert response.status == 200
    opener = _signed_in_opener(base)
    page = opener.open(f"{base}/sources/", timeout=30).read().decode()
    source_path = re.search(r'href="(/sources/\d+/)"', page).group(1)
    detail = opener.open(f"{base}{source_path}", timeout=30).read().decode()
    assert f"{base}/hooks/" in detail
    assert "127.0.0.1:8000" not in detail
