"""Real workers on the configured broker, a broker that is down, and a worker killed half-way."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents.ingest.batch import delivery_process
from incidents.ingest.drain import delivery_sweep
from incidents.models import Delivery, Deployment, Incident, IncidentStatus, TimelineEntry
from tests.incidents.ingest.conftest import broker_unreachable
from tests.incidents.ingest.github import delivery, deployment_status_payload, post

pytestmark = pytest.mark.django_db(transaction=True)

HANG_SCRIPT = Path(__file__).with_name("process_and_hang.py")


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def send_failure(source, **payload):
    headers, body = delivery(
        "deployment_status", deployment_status_payload(state="failure", at=timezone.now(), **payload)
    )
    response = post(Client(), source, headers, body)
    assert response.status_code == 202, response.json()
    return response.json()["delivery"]


def status_of(delivery_id: int) -> str:
    return Delivery.objects.get(pk=delivery_id).status


def test_real_worker_turns_a_delivery_into_a_deployment_and_an_incident(celery_worker, github_source):
    delivery_id = send_failure(github_source)
    assert wait_for(lambda: status_of(delivery_id) == Delivery.Status.PROCESSED), Delivery.objects.get().error
    deployment = Deployment.objects.get()
    assert deployment.status == "failed"
    assert deployment.model_version.version == "17"
    incident = Incident.objects.get()
    assert incident.title == "fraud-detector v17 failed to deploy to production"
    assert Delivery.objects.get().deployment == deployment


def test_failing_processing_is_retried_then_failed_then_replayed_after_a_fix(
    celery_worker, github_source, member, token_client_for, settings, monkeypatch
):
    settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS = 3
    settings.KINTSUGI_DELIVERY_RETRY_BACKOFF = 0
    calls = []

    def broken(**kwargs):
        calls.append(kwargs["delivery"].pk)
        raise RuntimeError("model registry unreachable")

    monkeypatch.setattr("incidents.ingest.batch.deployment_event_apply", broken)
    delivery_id = send_failure(github_source)
    assert wait_for(lambda: status_of(delivery_id) == Delivery.Status.FAILED)
    failed = Delivery.objects.get()
    assert failed.attempts == 3
    assert failed.error == "RuntimeError: model registry unreachable"
    assert calls == [delivery_id] * 3
    assert not Deployment.objects.exists()

    monkeypatch.undo()
    response = token_client_for(member).post(f"/api/v1/deliveries/{delivery_id}/replay/")
    assert response.status_code == 202
    assert wait_for(lambda: status_of(delivery_id) == Delivery.Status.PROCESSED)
    replayed = Delivery.objects.get()
    assert (replayed.replay_count, replayed.error, replayed.attempts) == (1, "", 0)
    assert Incident.objects.count() == 1


def test_broker_down_answers_202_and_the_sweeper_queues_it_later(celery_worker, github_source):
    with broker_unreachable():
        started = time.monotonic()
        delivery_id = send_failure(github_source)
        assert time.monotonic() - started < 3
    time.sleep(1.5)
    assert status_of(delivery_id) == Delivery.Status.RECEIVED, "nothing was queued while the broker was down"
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert delivery_sweep() == 1
    assert wait_for(lambda: status_of(delivery_id) == Delivery.Status.PROCESSED)
    assert Incident.objects.count() == 1


def database_url() -> str:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/"
        f"{settings['NAME']}"
    )


def snapshot() -> dict:
    return {
        "deliveries": list(Delivery.objects.values_list("status", "model_found", "error")),
        "deployments": list(Deployment.objects.values_list("external_id", "status", "environment")),
        "incidents": list(Incident.objects.values_list("title", "status", "severity")),
        "timeline": list(TimelineEntry.objects.values_list("kind", "text").order_by("id")),
    }


def test_worker_killed_half_way_leaves_it_to_be_processed_again_with_the_same_result(github_source, tmp_path):
    control = send_failure(github_source, deployment_id=1)
    delivery_process(delivery_id=control)
    expected = snapshot()
    Incident.objects.all().delete()
    Deployment.objects.all().delete()
    Delivery.objects.all().delete()

    delivery_id = send_failure(github_source, deployment_id=1)
    marker = tmp_path / "half-way"
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(Path.cwd())}
    child = subprocess.Popen(
        [sys.executable, str(HANG_SCRIPT), str(delivery_id), str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        reached = wait_for(marker.exists, timeout=60)
        assert reached, child.stdout.read().decode() if child.poll() is not None else "no marker"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert status_of(delivery_id) == Delivery.Status.RECEIVED
    assert not Deployment.objects.exists(), "the killed transaction left nothing behind"

    delivery_process(delivery_id=delivery_id)
    assert snapshot() == expected
    assert Incident.objects.get().status == IncidentStatus.OPEN
