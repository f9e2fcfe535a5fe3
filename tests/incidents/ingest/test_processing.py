"""Stored deliveries into deployments, incidents and registry changes, in process."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.ingest.batch import delivery_process, delivery_record_failure
from incidents.ingest.drain import delivery_sweep
from incidents.models import AliasMove, Delivery, Deployment, Incident, IncidentStatus, ModelAlias
from incidents.services.deliveries import delivery_replay
from tests.factories import DeliveryFactory, RegisteredModelFactory, SourceFactory
from tests.incidents.ingest.github import delivery, deployment_status_payload, mlflow_delivery, post

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def receive_and_process(client, source, state, at, **payload):
    headers, body = delivery("deployment_status", deployment_status_payload(state=state, at=at, **payload))
    response = post(client, source, headers, body)
    assert response.status_code == 202, response.json()
    return delivery_process(delivery_id=response.json()["delivery"])


def test_failed_deployment_delivery_opens_an_incident(client, github_source):
    processed = receive_and_process(client, github_source, "failure", T0)
    assert processed.status == Delivery.Status.PROCESSED
    assert processed.model_found == "fraud-detector v17"
    assert processed.normalized["status"] == "failed"
    assert processed.normalized["environment"] == "production"
    assert processed.deployment == Deployment.objects.get()
    assert processed.processed_at is not None
    incident = Incident.objects.get()
    assert incident.title == "fraud-detector v17 failed to deploy to production"
    assert incident.severity == "SEV2"
    assert incident.detected_at == T0
    assert incident.timeline.filter(delivery=processed).count() == 1


def test_success_delivery_mitigates_and_out_of_order_delivery_does_not_reopen(client, github_source):
    receive_and_process(client, github_source, "failure", T0, deployment_id=1)
    receive_and_process(client, github_source, "success", T0 + timedelta(minutes=20), deployment_id=2)
    receive_and_process(client, github_source, "failure", T0 + timedelta(minutes=5), deployment_id=3)
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.MITIGATED
    assert incident.mitigated_at == T0 + timedelta(minutes=20)
    assert incident.deployment_links.count() == 3


def test_an_event_dated_after_its_arrival_counts_from_its_arrival(client, github_source):
    processed = receive_and_process(client, github_source, "failure", datetime.now(UTC) + timedelta(days=1))
    assert processed.deployment.last_event_at == processed.received_at
    assert Incident.objects.get().started_at == processed.received_at


def test_processing_again_changes_nothing(client, github_source):
    processed = receive_and_process(client, github_source, "failure", T0)
    delivery_replay(delivery=processed)
    again = delivery_process(delivery_id=processed.pk)
    assert again.status == Delivery.Status.PROCESSED
    assert again.replay_count == 1
    assert Deployment.objects.count() == 1
    assert Incident.objects.count() == 1
    assert Incident.objects.get().timeline.count() == 2


def test_already_processed_delivery_returns_early(client, github_source):
    processed = receive_and_process(client, github_source, "failure", T0)
    Deployment.objects.all().delete()
    assert delivery_process(delivery_id=processed.pk).status == Delivery.Status.PROCESSED
    assert not Deployment.objects.exists()


def test_missing_delivery_is_not_an_error():
    assert delivery_process(delivery_id=987654) is None


def test_no_model_anywhere_marks_the_incident_model_unknown(client, github_source):
    processed = receive_and_process(client, github_source, "failure", T0, model="")
    assert processed.model_found == ""
    incident = Incident.objects.get()
    assert incident.model_unknown is True
    assert incident.model is None


def test_source_default_model_is_used_when_the_payload_names_none(client, team):
    source = SourceFactory(team=team, default_model=RegisteredModelFactory(team=team, name="fraud-detector"))
    processed = receive_and_process(client, source, "failure", T0, model="")
    assert processed.model_found == "fraud-detector"
    assert Incident.objects.get().model.name == "fraud-detector"


def test_source_pattern_finds_the_model_in_the_run_title(client, team):
    source = SourceFactory(
        team=team, model_pattern=r"(?P<model>[a-z]+-[a-z]+) build (?P<version>\d+)", model_pattern_field="title"
    )
    payload = deployment_status_payload(state="failure", at=T0, model="")
    payload["deployment"]["description"] = "Ship churn-predictor build 42"
    headers, body = delivery("deployment_status", payload)
    response = post(client, source, headers, body)
    processed = delivery_process(delivery_id=response.json()["delivery"])
    assert processed.model_found == "churn-predictor v42"


def test_unreadable_stored_body_fails_the_delivery_with_the_reason(github_source):
    stored = DeliveryFactory(source=github_source, event="deployment_status", body=b"{not json")
    processed = delivery_process(delivery_id=stored.pk)
    assert processed.status == Delivery.Status.FAILED
    assert "JSON" in processed.error


def test_skipped_runs_are_ignored_with_the_reason(client, github_source):
    payload = {
        "action": "completed",
        "workflow_run": {
            "id": 30433642,
            "run_attempt": 1,
            "name": "Build",
            "conclusion": "skipped",
            "status": "completed",
            "created_at": "2026-03-02T09:00:00Z",
            "updated_at": "2026-03-02T09:01:00Z",
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "head_branch": "main",
            "html_url": "https://github.com/acme-ml/fraud-serving/actions/runs/30433642",
        },
        "repository": {"full_name": "acme-ml/fraud-serving"},
    }
    headers, body = delivery("workflow_run", payload)
    processed = delivery_process(delivery_id=post(client, github_source, headers, body).json()["delivery"])
    assert processed.status == Delivery.Status.IGNORED
    assert "skipped" in processed.error


@pytest.mark.parametrize(("attempts", "expected"), [(1, 10.0), (2, 20.0), (3, 40.0), (8, 600.0)])
def test_retry_backoff_doubles_up_to_a_cap(attempts, expected):
    from incidents.ingest.batch import delivery_retry_delay

    assert delivery_retry_delay(attempts=attempts) == expected


def test_failures_are_counted_then_final(github_source, settings):
    settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS = 3
    stored = DeliveryFactory(source=github_source)
    delays = [delivery_record_failure(delivery_id=stored.pk, error="RuntimeError: boom") for _ in range(3)]
    assert delays == [10.0, 20.0, None]
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.error) == (Delivery.Status.FAILED, 3, "RuntimeError: boom")
    assert stored.next_attempt_at is None
    replayed = delivery_replay(delivery=stored)
    assert (replayed.status, replayed.attempts, replayed.error, replayed.replay_count) == ("replayed", 0, "", 1)


def test_sweeper_queues_overdue_waiting_deliveries_once(github_source, monkeypatch, settings):
    queued = []
    monkeypatch.setattr("incidents.ingest.drain.delivery_drain_queue", lambda **options: queued.append(options) or True)
    with time_machine.travel(T0, tick=False) as traveller:
        overdue = DeliveryFactory(source=github_source, received_at=T0)
        DeliveryFactory(source=github_source, received_at=T0, status=Delivery.Status.PROCESSED)
        backing_off = DeliveryFactory(source=github_source, received_at=T0)
        backing_off.next_attempt_at = T0 + timedelta(minutes=10)
        backing_off.save()
        traveller.shift(timedelta(seconds=settings.KINTSUGI_DELIVERY_SWEEP_AFTER - 1))
        assert delivery_sweep() == 0
        traveller.shift(timedelta(seconds=2))
        assert delivery_sweep() == 1
        assert queued == [{}], "one drain, now"
        overdue.refresh_from_db()
        assert overdue.next_attempt_at == T0 + timedelta(seconds=settings.KINTSUGI_DELIVERY_SWEEP_AFTER + 1)
        traveller.shift(timedelta(seconds=60))
        assert delivery_sweep() == 0, "just queued: left alone until it is overdue again"


def test_mlflow_alias_moves_fill_the_registry(client, team):
    secret = "my-mlflow-webhook-secret"
    source = SourceFactory(team=team, kind="mlflow", name="registry", secret=secret)
    with time_machine.travel(T0, tick=False) as traveller:
        for version in ("7", "8", "7"):
            traveller.shift(timedelta(minutes=1))
            headers, body = mlflow_delivery(
                "model_version_alias",
                "created",
                {"name": "fraud-detector", "alias": "champion", "version": version},
                secret=secret,
                at=datetime.now(UTC),
            )
            response = post(client, source, headers, body)
            assert response.status_code == 202, response.json()
            processed = delivery_process(delivery_id=response.json()["delivery"])
            assert processed.status == Delivery.Status.PROCESSED, processed.error
            assert processed.model_found == f"fraud-detector v{version}"
    kinds = list(AliasMove.objects.order_by("moved_at").values_list("kind", flat=True))
    assert kinds == ["promotion", "promotion", "rollback"]
    assert ModelAlias.objects.get().version.version == "7"
    assert ModelAlias.objects.get().model.team == team
