"""Where webhook URLs and email links point: ``SITE_URL``, which ``make run`` derives from its port.

Without ``make run`` and without ``SITE_URL`` the base is ``http://127.0.0.1:8000`` (README, Configuration),
whatever port a server was started on: links in emails are built by workers, which have no request to
read a port from, and a page's webhook URL must say the same as the emails.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _environment(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"SITE_URL", "PORT"}}
    return env | overrides


def _make_run_plan(**overrides) -> str:
    """Return the commands ``make run`` would run, without running them."""
    completed = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run"],
        cwd=ROOT,
        env=_environment(**overrides),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout


def _site_url(**overrides) -> str:
    """Return ``settings.SITE_URL`` as a fresh process with this environment computes it."""
    completed = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT,
        env=_environment(DJANGO_SETTINGS_MODULE="config.settings", **overrides),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


def test_make_run_gives_the_app_a_site_url_on_its_own_port():
    plan = _make_run_plan(PORT="8101")
    assert "SITE_URL=http://127.0.0.1:8101 " in plan
    assert ":8000" not in plan


def test_make_run_keeps_a_site_url_set_explicitly():
    plan = _make_run_plan(PORT="8101", SITE_URL="https://kintsugi.example.com")
    assert "SITE_URL=https://kintsugi.example.com " in plan


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8101"}, "http://127.0.0.1:8000"),  # PORT alone is make run's knob, not the app's
        ({"SITE_URL": "https://kintsugi.example.com/"}, "https://kintsugi.example.com"),
    ],
)
def test_settings_site_url_defaults_to_port_8000_without_make_run(overrides, expected):
    assert _site_url(**overrides) == expected
