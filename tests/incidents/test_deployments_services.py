"""Pipeline events into deployments and incidents: open, join, mitigate, out of order, severity."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.models import (
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentDeployment,
    IncidentKind,
    IncidentStatus,
    LinkRole,
    TimelineEntry,
)
from incidents.services.deployments import deployment_event_apply, failure_title, severity_for
from tests.factories import DeliveryFactory, SourceFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(status, at, *, run="100", version="17", environment="production", model="fraud-detector", **extra):
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=EventStatus(status),
        external_id=f"run-{run}",
        pipeline="deploy-model",
        run_id=run,
        environment=environment,
        occurred_at=at,
        finished_at=at,
        model_name=model,
        model_version=version,
        model_origin="payload" if model else "",
        run_url=f"https://ci.example.com/runs/{run}",
        **extra,
    )


@pytest.fixture
def source(team):
    return SourceFactory(team=team, name="fraud-deploys")


def apply(source, pipeline_event, delivery=None):
    return deployment_event_apply(
        source=source, event=pipeline_event, occurred_at=pipeline_event.occurred_at, delivery=delivery
    )


def open_incidents():
    return Incident.objects.filter(status=IncidentStatus.OPEN)


def test_failure_opens_a_readable_incident_with_the_deployment_as_suspect(source):
    outcome = apply(source, event("failed", T0, failing_step="helm upgrade"))
    incident = Incident.objects.get()
    assert incident.title == "fraud-detector v17 failed to deploy to production"
    assert incident.kind == IncidentKind.FAILED_DEPLOYMENT
    assert incident.severity == "SEV2"
    assert incident.team == source.team
    assert incident.model.name == "fraud-detector"
    assert incident.environment == "production"
    assert not incident.model_unknown
    assert incident.started_at == incident.detected_at == T0
    assert incident.source == source
    link = IncidentDeployment.objects.get()
    assert (link.deployment, link.role) == (outcome.deployment, LinkRole.SUSPECT)
    assert incident.model_versions.get() == outcome.model_version
    entry = incident.timeline.get(kind=TimelineEntry.Kind.DEPLOYMENT)
    assert "Failing step: helm upgrade" in entry.text
    assert entry.deployment == outcome.deployment
    assert outcome.model_found == "fraud-detector v17"
    assert outcome.deployment.status == DeploymentStatus.FAILED
    assert outcome.model_version.version_number == 17


def test_further_failures_of_the_same_model_and_environment_join_the_open_incident(source):
    apply(source, event("failed", T0, run="1"))
    apply(source, event("failed", T0 + timedelta(minutes=5), run="2", version="18"))
    incident = Incident.objects.get()
    assert incident.deployment_links.count() == 2
    assert incident.timeline.filter(kind=TimelineEntry.Kind.DEPLOYMENT).count() == 2
    assert sorted(incident.model_versions.values_list("version", flat=True)) == ["17", "18"]


def test_failures_in_other_environments_or_models_open_their_own_incidents(source):
    apply(source, event("failed", T0, run="1"))
    apply(source, event("failed", T0, run="2", environment="staging"))
    apply(source, event("failed", T0, run="3", model="churn-predictor"))
    assert Incident.objects.count() == 3
    staging = Incident.objects.get(environment="staging")
    assert staging.severity == "SEV3"


def test_success_after_a_failure_mitigates_at_the_event_time(source):
    apply(source, event("failed", T0, run="1"))
    restored_at = T0 + timedelta(minutes=42)
    outcome = apply(source, event("succeeded", restored_at, run="2", version="16"))
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.MITIGATED
    assert incident.mitigated_at == restored_at
    assert incident.mitigated_at - incident.started_at == timedelta(minutes=42)
    assert outcome.incidents == [incident]
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.STATUS, new_value="mitigated").get()
    assert entry.deployment == outcome.deployment
    assert entry.occurred_at == restored_at


def test_success_of_another_environment_does_not_mitigate(source):
    apply(source, event("failed", T0, run="1"))
    apply(source, event("succeeded", T0 + timedelta(minutes=1), run="2", environment="staging"))
    assert Incident.objects.get().status == IncidentStatus.OPEN


def final_state():
    return sorted(
        (incident.title, incident.status, incident.started_at, incident.mitigated_at)
        for incident in Incident.objects.all()
    )


@pytest.mark.parametrize("order", ["in order", "success first"])
def test_newer_success_and_older_failure_end_mitigated_in_either_order(source, order):
    failure = event("failed", T0, run="1")
    success = event("succeeded", T0 + timedelta(minutes=10), run="2")
    for pipeline_event in [failure, success] if order == "in order" else [success, failure]:
        apply(source, pipeline_event)
    assert not open_incidents().exists()
    assert final_state() == [
        ("fraud-detector v17 failed to deploy to production", "mitigated", T0, T0 + timedelta(minutes=10))
    ]
    assert Deployment.objects.get(external_id="run-1").status == DeploymentStatus.FAILED


def test_older_failure_arriving_after_a_mitigation_joins_that_incident(source):
    apply(source, event("failed", T0, run="1"))
    apply(source, event("succeeded", T0 + timedelta(minutes=30), run="3"))
    apply(source, event("failed", T0 + timedelta(minutes=10), run="2"))
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.MITIGATED
    assert incident.deployment_links.filter(role=LinkRole.SUSPECT).count() == 2


@pytest.mark.parametrize("order", ["in order", "success last"])
def test_newer_failure_and_older_success_end_open_in_either_order(source, order):
    success = event("succeeded", T0, run="1")
    failure = event("failed", T0 + timedelta(minutes=10), run="2")
    for pipeline_event in [success, failure] if order == "in order" else [failure, success]:
        apply(source, pipeline_event)
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.OPEN
    assert incident.mitigated_at is None


def test_late_success_between_two_failures_leaves_the_incident_open(source):
    apply(source, event("failed", T0, run="1"))
    apply(source, event("failed", T0 + timedelta(minutes=20), run="3"))
    apply(source, event("succeeded", T0 + timedelta(minutes=10), run="2"))
    assert Incident.objects.get().status == IncidentStatus.OPEN


def test_an_older_event_of_the_same_run_never_overrides_a_newer_state(source):
    apply(source, event("failed", T0 + timedelta(minutes=5), run="1", failing_step="smoke test"))
    outcome = apply(source, event("in_progress", T0, run="1"))
    assert outcome.applied is False
    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.FAILED
    assert deployment.last_event_at == T0 + timedelta(minutes=5)
    assert deployment.failing_step == "smoke test"


def test_a_newer_event_of_the_same_run_updates_it(source):
    apply(source, event("in_progress", T0, run="1"))
    outcome = apply(source, event("succeeded", T0 + timedelta(minutes=3), run="1"))
    assert outcome.applied is True
    assert Deployment.objects.get().status == DeploymentStatus.SUCCEEDED


def test_no_model_opens_a_model_unknown_incident_named_after_the_pipeline(source):
    outcome = apply(source, event("failed", T0, model="", version=""))
    incident = Incident.objects.get()
    assert incident.model is None
    assert incident.model_unknown is True
    assert incident.title == "Pipeline “deploy-model” failed to deploy to production"
    assert outcome.model_found == ""
    assert outcome.deployment.model_version is None
    apply(source, event("succeeded", T0 + timedelta(minutes=1), model="", version="", run="2"))
    assert Incident.objects.get().status == IncidentStatus.MITIGATED


def test_model_without_version_still_names_the_model(source):
    outcome = apply(source, event("failed", T0, version=""))
    assert Incident.objects.get().title == "fraud-detector failed to deploy to production"
    assert outcome.model_found == "fraud-detector"


def test_cancelled_and_in_progress_record_deployments_without_incidents(source):
    apply(source, event("cancelled", T0, run="1"))
    apply(source, event("in_progress", T0, run="2"))
    assert Deployment.objects.count() == 2
    assert not Incident.objects.exists()


def test_processing_a_delivery_twice_changes_nothing(source):
    delivery = DeliveryFactory(source=source)
    failure = event("failed", T0, run="1")
    apply(source, failure, delivery=delivery)
    apply(source, failure, delivery=delivery)
    incident = Incident.objects.get()
    assert incident.timeline.filter(delivery=delivery).count() == 1
    assert Deployment.objects.count() == 1
    success_delivery = DeliveryFactory(source=source)
    success = event("succeeded", T0 + timedelta(minutes=5), run="2")
    apply(source, success, delivery=success_delivery)
    apply(source, success, delivery=success_delivery)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MITIGATED
    assert incident.timeline.filter(new_value="mitigated").count() == 1


@pytest.mark.parametrize(
    ("mapping", "environment", "expected"),
    [
        ({"production": "SEV1", "*": "SEV4"}, "production", "SEV1"),
        ({"production": "SEV1", "*": "SEV4"}, "Production", "SEV1"),
        ({"production": "SEV1", "*": "SEV4"}, "canary", "SEV4"),
        ({"production": "sev2"}, "production", "SEV2"),
        ({"production": "SEV9", "*": "nonsense"}, "production", "SEV3"),
        ({}, "production", "SEV3"),
        ("not a mapping", "production", "SEV3"),
    ],
)
def test_severity_follows_the_source_environment_map(team, mapping, environment, expected):
    source = SourceFactory(team=team, environment_severity=mapping)
    assert severity_for(source=source, environment=environment) == expected


@pytest.mark.parametrize(
    ("mapping", "environment", "expected"),
    [
        ({"prod-*": "SEV1", "*": "SEV4"}, "prod-eu", "SEV1"),
        ({"*-prod": "SEV1", "*": "SEV4"}, "ML-Serving-Prod", "SEV1"),
        ({"*-prod": "SEV1", "*": "SEV4"}, "preprod", "SEV4"),
        # The exact name wins over a pattern, and the longer pattern over the shorter.
        ({"prod-*": "SEV2", "prod-eu": "SEV1"}, "prod-eu", "SEV1"),
        ({"prod-*": "SEV2", "prod-eu-*": "SEV1", "*": "SEV4"}, "prod-eu-west", "SEV1"),
    ],
)
def test_environment_names_may_be_patterns(team, mapping, environment, expected):
    source = SourceFactory(team=team, environment_severity=mapping)
    assert severity_for(source=source, environment=environment) == expected


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("production", "SEV2"),
        ("prod", "SEV2"),
        ("ml-serving-prod", "SEV2"),
        ("prod-eu", "SEV2"),
        ("production-us", "SEV2"),
        ("eu-production", "SEV2"),
        ("staging", "SEV3"),
        ("staging-eu", "SEV3"),
        ("preprod", "SEV4"),
        ("dev", "SEV4"),
    ],
)
def test_default_rules_know_common_production_names(team, environment, expected):
    from incidents.models.sources import default_environment_severity

    source = SourceFactory(team=team, environment_severity=default_environment_severity())
    assert severity_for(source=source, environment=environment) == expected


def test_default_severity_map_ranks_production_above_staging(source):
    apply(source, event("failed", T0, run="1", environment="production"))
    apply(source, event("failed", T0, run="2", environment="staging"))
    apply(source, event("failed", T0, run="3", environment="dev"))
    severities = dict(Incident.objects.values_list("environment", "severity"))
    assert severities == {"production": "SEV2", "staging": "SEV3", "dev": "SEV4"}


def test_custom_severity_map_is_used_for_new_incidents(team):
    source = SourceFactory(team=team, environment_severity={"prod-eu": "SEV1", "*": "SEV3"})
    apply(source, event("failed", T0, environment="prod-eu"))
    assert Incident.objects.get().severity == "SEV1"


def test_failure_title_without_environment():
    deployment = Deployment(pipeline="nightly-train", environment="")
    assert failure_title(deployment=deployment, model=None) == (
        "Pipeline “nightly-train” failed to deploy (no model or environment given)"
    )


def test_a_later_event_of_the_run_fills_in_the_commit_time_it_lacked(source):
    committed = T0 - timedelta(hours=5)
    apply(source, event("in_progress", T0))
    assert Deployment.objects.get().committed_at is None
    apply(source, event("succeeded", T0 + timedelta(minutes=5), committed_at=committed))
    assert Deployment.objects.get().committed_at == committed
    # An older event that says nothing of the commit leaves it as it is.
    apply(source, event("in_progress", T0 + timedelta(minutes=1)))
    assert Deployment.objects.get().committed_at == committed
