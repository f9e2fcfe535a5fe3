import socket
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from config.celery import app as celery_app
from incidents.ingest.drain import delivery_drain_flag_clear
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
    # A drain flag left by an earlier test names a drain the purge dropped: clear it, or no drain is queued.
    delivery_drain_flag_clear()
    # The worker thread dies with the test: close its connections after each
    # task, or the test database could not be dropped at the end of the run.
    task_postrun.connect(close_worker_connections)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
            yield celery_app
    finally:
        task_postrun.disconnect(close_worker_connections)


def close_worker_connections(**kwargs) -> None:
    connections.close_all()


def _publish_to(url: str | None) -> None:
    # Publishing uses the write URL (the worker reads with its own connection);
    # dropping the pools makes the next publish connect anew.
    celery_app.conf.broker_write_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """Publish to a loopback port nothing listens on, then to the configured broker again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _publish_to(f"redis://127.0.0.1:{port}/0")
    try:
        yield
    finally:
        _publish_to(None)


@pytest.fixture
def broker_down():
    with broker_unreachable():
        yield
