import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def process_env(**overrides) -> dict[str, str]:
    """Return this process's environment without test-only switches, plus the overrides."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def run_in_fresh_process(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="config.settings", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


HEALTHZ_IN_PROCESS = (
    "import django, json; django.setup();"
    "from django.test import Client;"
    "r = Client().get('/healthz');"
    "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
)


def healthz_with(**env) -> dict:
    result = run_in_fresh_process(HEALTHZ_IN_PROCESS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_healthz_is_503_when_database_is_down():
    # Nothing listens on port 1 of loopback: a real connection refusal.
    outcome = healthz_with(DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing")
    assert outcome["status"] == 503
    assert outcome["body"]["database"].startswith("down:")


def test_healthz_is_503_when_broker_is_down():
    outcome = healthz_with(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert outcome["status"] == 503
    assert outcome["body"]["status"] == "down"
    assert outcome["body"]["broker"].startswith("down:")


def test_production_mode_passes_deploy_checks():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=process_env(
            DEBUG="false",
            SECRET_KEY="a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
            ALLOWED_HOSTS="kintsugi.example.com",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_secret_key():
    env = {key: value for key, value in process_env(DEBUG="false").items() if key != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
