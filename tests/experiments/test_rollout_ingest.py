"""Rollouts reported by pipelines: signed deliveries in, experiments, traffic steps and attached incidents out."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from experiments.models import Arm, Experiment, ExperimentDeployment, ExperimentIncident, ExperimentOutcome
from experiments.services.experiments import experiment_start
from incidents.ingest.batch import delivery_process
from incidents.models import Delivery, Deployment, DeploymentStatus, Incident, IncidentStatus
from postmortems.services.postmortems import postmortem_start
from tests.factories import DeploymentFactory, ModelVersionFactory, RegisteredModelFactory, SourceFactory
from tests.incidents.ingest.github import delivery, deployment_status_payload, post

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "argo_rollouts"
TOKEN = "tok_rollouts_4f1c9a"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen_at():
    return T0 + timedelta(days=1)


@pytest.fixture
def github_source(team):
    return SourceFactory(team=team, name="fraud-serving", kind="github")


@pytest.fixture
def rollouts_source(team):
    return SourceFactory(team=team, name="fraud rollouts", kind="argo_rollouts", secret=TOKEN)


def argo(event: str, *, at: datetime, step: int, pod_hash: str = "84c7d9f5b6", message: str = "", weight=None):
    body = json.loads((FIXTURES / "rollout_step_completed__set_weight.json").read_text())
    body.update(
        event=event,
        sent_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        current_step_index=step,
        current_pod_hash=pod_hash,
        message=message,
        canary_weight=weight,
    )
    return body


def send(client, source, body: dict, *, token: str = TOKEN) -> Delivery:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    response = post(client, source, headers, json.dumps(body).encode())
    assert response.status_code == 202, response.content
    return delivery_process(delivery_id=response.json()["delivery"])


def test_signed_failed_analysis_run_opens_an_incident_on_the_candidate_attached_to_its_experiment(
    client, rollouts_source, team, frozen
):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    v8 = ModelVersionFactory(model=model, version="8")
    DeploymentFactory(model_version=v8, environment="production", started_at=T0 - timedelta(days=3))
    send(client, rollouts_source, argo("rollout-updated", at=T0, step=0))
    send(client, rollouts_source, argo("rollout-step-completed", at=T0 + timedelta(seconds=30), step=1))
    failed = send(
        client,
        rollouts_source,
        argo(
            "analysis-run-failed",
            at=T0 + timedelta(minutes=7),
            step=1,
            message='Metric "precision-at-1pct-fpr" assessed Failed due to failed (3) > failureLimit (2)',
        ),
    )
    assert failed.status == Delivery.Status.PROCESSED
    experiment = Experiment.objects.get()
    assert experiment.candidate_version.version == "9" and experiment.control_version == v8
    assert experiment.source == rollouts_source and experiment.environment == "production"
    assert [(step.percent, step.step_index) for step in experiment.steps.all()] == [(0, 0), (10, 1)]
    incident = Incident.objects.get()
    assert incident.model == model and incident.status == IncidentStatus.OPEN
    assert incident.model_version_links.get().model_version == experiment.candidate_version
    link = ExperimentIncident.objects.get()
    assert (link.experiment, link.incident, link.arm, link.traffic_percent) == (experiment, incident, Arm.CANDIDATE, 10)
    # The abort that follows rolls the candidate back; the incident's timeline says so.
    send(
        client,
        rollouts_source,
        argo("rollout-aborted", at=T0 + timedelta(minutes=7, seconds=8), step=1, message="RolloutAborted"),
    )
    experiment.refresh_from_db()
    assert experiment.outcome == ExperimentOutcome.ROLLED_BACK and experiment.outcome_reason == "RolloutAborted"
    assert experiment.ended_at == T0 + timedelta(minutes=7, seconds=8)
    assert Incident.objects.count() == 1  # the abort joined the analysis failure's incident
    assert "was rolled back" in incident.timeline.order_by("-occurred_at", "-id").first().text


def test_wrong_token_is_refused_and_records_nothing(client, rollouts_source, team):
    headers = {"Content-Type": "application/json", "Authorization": "Bearer nope"}
    body = json.dumps(argo("analysis-run-failed", at=T0, step=1)).encode()
    assert post(client, rollouts_source, headers, body).status_code == 401
    assert not Experiment.objects.exists() and not Delivery.objects.exists()


def test_processing_a_delivery_again_adds_no_second_step_or_link(client, rollouts_source, team, frozen):
    send(client, rollouts_source, argo("rollout-updated", at=T0, step=0))
    failed = send(client, rollouts_source, argo("analysis-run-failed", at=T0 + timedelta(minutes=5), step=1))
    from incidents.services.deliveries import delivery_replay

    delivery_replay(delivery=failed)
    delivery_process(delivery_id=failed.pk)
    assert ExperimentIncident.objects.count() == 1
    assert Experiment.objects.get().steps.count() == 2


def test_completed_rollout_is_promoted_at_full_traffic(client, rollouts_source, team, frozen):
    send(client, rollouts_source, argo("rollout-updated", at=T0, step=0))
    send(client, rollouts_source, argo("rollout-paused", at=T0 + timedelta(minutes=16), step=3, weight=30))
    send(client, rollouts_source, argo("rollout-completed", at=T0 + timedelta(hours=2), step=6))
    experiment = Experiment.objects.get()
    assert experiment.outcome == ExperimentOutcome.PROMOTED
    assert [step.percent for step in experiment.steps.all()] == [0, 30, 100]
    assert ExperimentDeployment.objects.get().arm == Arm.CANDIDATE


def test_a_new_revision_supersedes_the_running_experiment(client, rollouts_source, team, frozen):
    send(client, rollouts_source, argo("rollout-updated", at=T0, step=0))
    body = argo("rollout-updated", at=T0 + timedelta(hours=1), step=0, pod_hash="5d4c3b2a19")
    body["template_labels"]["kintsugi.io/model-version"] = "10"
    send(client, rollouts_source, body)
    first, second = Experiment.objects.order_by("started_at")
    assert first.outcome == ExperimentOutcome.ABORTED and "A new rollout of fraud-detector v10" in first.outcome_reason
    assert second.is_running and second.candidate_version.version == "10"


def test_github_deployment_failure_of_the_control_attaches_to_the_control_arm(client, github_source, team, member):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    v17, v18 = ModelVersionFactory(model=model, version="17"), ModelVersionFactory(model=model, version="18")
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        experiment = experiment_start(
            team=team,
            model=model,
            environment="production",
            candidate_version=v18,
            control_version=v17,
            initial_percent=10,
            actor=member,
        )
    headers, body = delivery("deployment_status", deployment_status_payload(state="failure", at=T0))
    response = post(client, github_source, headers, body)
    delivery_process(delivery_id=response.json()["delivery"])
    link = ExperimentIncident.objects.get()
    assert link.experiment == experiment and link.arm == Arm.CONTROL and link.traffic_percent == 10
    assert ExperimentDeployment.objects.get().deployment.status == DeploymentStatus.FAILED


def test_github_rollout_block_in_the_deployment_payload_starts_an_experiment(client, github_source, team):
    payload = deployment_status_payload(state="in_progress", at=T0)
    payload["deployment"]["payload"] = {
        "model": {"name": "fraud-detector", "version": "18"},
        "rollout": {"kind": "canary", "control": "17", "traffic_percent": 5, "step": 1},
    }
    headers, body = delivery("deployment_status", payload)
    processed = delivery_process(delivery_id=post(client, github_source, headers, body).json()["delivery"])
    assert processed.status == Delivery.Status.PROCESSED
    experiment = Experiment.objects.get()
    assert (experiment.candidate_version.version, experiment.control_version.version) == ("18", "17")
    assert [step.percent for step in experiment.steps.all()] == [5]
    assert Deployment.objects.get().experiment_links.get().arm == Arm.CANDIDATE


def test_postmortem_of_an_incident_in_a_canary_prefills_the_rollout(client, rollouts_source, team, member, frozen):
    send(client, rollouts_source, argo("rollout-updated", at=T0, step=0))
    send(client, rollouts_source, argo("rollout-step-completed", at=T0 + timedelta(seconds=30), step=1))
    send(client, rollouts_source, argo("analysis-run-failed", at=T0 + timedelta(minutes=7), step=1, message="x"))
    send(client, rollouts_source, argo("rollout-aborted", at=T0 + timedelta(minutes=8), step=1, message="Aborted."))
    incident = Incident.objects.get()
    postmortem = postmortem_start(incident=incident, actor=member)
    summary = next(value for value in postmortem.content.values() if isinstance(value, str) and "Rollout" in value)
    assert "on the candidate arm during the canary of fraud-detector v9 at 10 % traffic" in summary
    assert "Traffic steps: 0 % → 10 % (furthest: 10 %)" in summary
    assert "Outcome: rolled back: Aborted." in summary
    assert postmortem.facts["experiment"]["traffic_at_incident"] == 10
