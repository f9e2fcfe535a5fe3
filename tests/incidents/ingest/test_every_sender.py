"""Every kind of sender, end to end: its own signed sample delivery is accepted, stored and processed."""

import pytest
from django.conf import settings
from django.utils import timezone

import incidents.tasks  # noqa: F401 - registers the periodic tasks, as a worker importing it does
from config.celery import app as celery_app
from incidents.ingest.adapters import sender_for
from incidents.ingest.batch import delivery_process
from incidents.ingest.drain import delivery_drain_task
from incidents.models import Delivery, Deployment, Incident, ModelVersion, SourceKind
from incidents.services.sources import source_create
from tests.incidents.ingest.github import post

pytestmark = pytest.mark.django_db

PIPELINE_KINDS = [kind for kind in SourceKind.values if kind != SourceKind.MLFLOW]


def send_sample(client, team, kind):
    source, secret = source_create(team=team, kind=kind, name=f"{kind}-source")
    headers, body = sender_for(kind).sample(secret, timezone.now())
    response = post(client, source, headers, body)
    assert response.status_code == 202, (kind, response.json())
    return source, response.json()["delivery"]


@pytest.mark.parametrize("kind", PIPELINE_KINDS)
def test_a_failed_deployment_from_each_pipeline_sender_opens_an_incident(client, team, kind):
    source, delivery_id = send_sample(client, team, kind)
    if kind == SourceKind.CIRCLECI:  # CircleCI names no model: its source's pattern finds it in the commit subject
        source.model_pattern = r"(?P<model>demo-model) v(?P<version>\d+)"
        source.save()
    processed = delivery_process(delivery_id=delivery_id)
    assert processed.status == Delivery.Status.PROCESSED, processed.error
    assert processed.normalized["status"] == "failed"
    # CircleCI's workflow events carry no environment: the "*" severity applies.
    environment, severity = ("", "SEV4") if kind == SourceKind.CIRCLECI else ("staging", "SEV3")
    deployment = Deployment.objects.get(source=source)
    assert (deployment.status, deployment.environment) == ("failed", environment)
    incident = Incident.objects.get(source=source)
    assert incident.severity == severity
    assert processed.model_found == "demo-model v1"
    assert incident.title == "demo-model v1 failed to deploy" + (f" to {environment}" if environment else "")


def test_mlflow_sample_fills_the_registry(client, team):
    _, delivery_id = send_sample(client, team, SourceKind.MLFLOW)
    processed = delivery_process(delivery_id=delivery_id)
    assert processed.status == Delivery.Status.PROCESSED, processed.error
    assert processed.model_found == "demo-model v1"
    assert ModelVersion.objects.get().model.team == team


def test_the_processing_task_is_safe_to_run_twice(client, team):
    send_sample(client, team, SourceKind.GITHUB)
    for _ in range(2):
        delivery_drain_task.apply().get()
    assert Delivery.objects.get().status == Delivery.Status.PROCESSED
    assert Deployment.objects.count() == 1
    assert Incident.objects.count() == 1


def test_task_with_no_delivery_due_does_nothing():
    assert delivery_drain_task.apply().successful()


def test_the_sweeper_runs_every_minute():
    entries = [
        entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"].endswith("start_delivery_sweep")
    ]
    assert entries == [{"task": "incidents.tasks.start_delivery_sweep", "schedule": 60.0}]
    assert "incidents.tasks.start_delivery_sweep" in celery_app.tasks


@pytest.mark.parametrize("kind", [SourceKind.GITLAB, SourceKind.CIRCLECI, SourceKind.GENERIC])
def test_a_sample_that_tells_the_commit_time_records_it_for_lead_time(client, team, kind):
    source, delivery_id = send_sample(client, team, kind)
    processed = delivery_process(delivery_id=delivery_id)
    assert processed.status == Delivery.Status.PROCESSED, processed.error
    deployment = Deployment.objects.get(source=source)
    assert deployment.committed_at is not None
    assert deployment.committed_at.isoformat() == processed.normalized["committed_at"]
    assert deployment.committed_at < deployment.last_event_at
