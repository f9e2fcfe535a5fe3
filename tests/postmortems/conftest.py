"""An incident of the Fraud team with a failed deployment, and people around its post-mortem."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Deployment, IncidentKind, ModelVersion, RegisteredModel, Severity
from incidents.services.incidents import (
    incident_link_deployment,
    incident_open,
    incident_transition,
    timeline_entry_add,
)
from tests.factories import MembershipFactory, UserFactory

STARTED = datetime(2026, 3, 10, 13, 50, tzinfo=UTC)


@pytest.fixture
def fraud_model(team):
    return RegisteredModel.objects.create(team=team, name="fraud-detector", created_at=STARTED - timedelta(days=90))


@pytest.fixture
def failed_deployment(team, fraud_model):
    version = ModelVersion.objects.create(
        model=fraud_model, version="9", version_number=9, created_at=STARTED - timedelta(days=1)
    )
    return Deployment.objects.create(
        team=team,
        external_id="run-4242",
        model_version=version,
        environment="production",
        status="failed",
        pipeline="deploy-fraud",
        sha="4f2a9c1e0b7d",
        run_url="https://ci.example.com/runs/4242",
        failing_step="smoke-test",
        started_at=STARTED,
        finished_at=STARTED + timedelta(minutes=4),
        last_event_at=STARTED + timedelta(minutes=4),
    )


@pytest.fixture
def incident(team, lead, fraud_model, failed_deployment):
    """A resolved SEV2 failed deployment: detected 12 min after it started, resolved after 1 h 10 min."""
    with time_machine.travel(STARTED + timedelta(minutes=12), tick=False):
        incident = incident_open(
            team=team,
            title="fraud-detector v9 failing in production",
            kind=IncidentKind.FAILED_DEPLOYMENT,
            severity=Severity.SEV2,
            environment="production",
            model=fraud_model,
            started_at=STARTED,
            summary="Scoring returned errors for 8% of card payments after v9 went out.",
            impact="8% of card payments were scored by the fallback rules.",
            created_by=lead,
        )
        incident_link_deployment(incident=incident, deployment=failed_deployment, role="cause")
        timeline_entry_add(
            incident=incident,
            kind="note",
            text="Rolled back to v8.",
            author=lead,
            occurred_at=STARTED + timedelta(minutes=40),
        )
    incident_transition(incident=incident, to_status="mitigated", actor=lead, at=STARTED + timedelta(minutes=45))
    incident_transition(incident=incident, to_status="resolved", actor=lead, at=STARTED + timedelta(minutes=70))
    incident.refresh_from_db()
    return incident


@pytest.fixture
def reviewer(db):
    """Someone from another team, invited to review."""
    return UserFactory(username="mei", first_name="Mei", last_name="Lin")


@pytest.fixture
def second_member(team):
    return MembershipFactory(team=team, user=UserFactory(username="tomas", first_name="Tomás", last_name="Novak")).user


@pytest.fixture
def postmortem(incident, member):
    from postmortems.services.postmortems import postmortem_start

    return postmortem_start(incident=incident, actor=member)


@pytest.fixture
def builtins(db):
    """The built-in templates, by key."""
    from postmortems.models import Template
    from postmortems.services.templates import template_builtins_ensure

    template_builtins_ensure()
    return {template.builtin_key: template for template in Template.objects.filter(builtin_key__isnull=False)}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash test passwords cheaply: these tests are about post-mortems, not password storage."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
