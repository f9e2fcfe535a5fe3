import socket
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from tests.factories import SourceFactory


@pytest.fixture
def github_source(team):
    return SourceFactory(team=team, name="fraud-serving", kind="github")


@pytest.fixture
def celery_worker(transactional_db):
    """Run a real worker thread on the configured broker (the SQLite transport, or Redis)."""
    # Tasks left in the broker by earlier tests point at rows that no longer
    # exist; the sweeper would queue any real delivery again, so dropping them is safe.
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        yield celery_app


def _use_broker(url: str) -> None:
    celery_app.conf.broker_url = url
    # Drop the pooled connections and producers made for the previous URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """Point the app at a loopback port nothing listens on, then restore the configured broker."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    original = celery_app.conf.broker_url
    _use_broker(f"redis://127.0.0.1:{port}/0")
    try:
        yield
    finally:
        _use_broker(original)


@pytest.fixture
def broker_down():
    with broker_unreachable():
        yield
