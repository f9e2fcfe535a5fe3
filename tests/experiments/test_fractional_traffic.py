"""Traffic shares in hundredths of a percent (0.5 %, 2.5 %), end to end: payloads, services, API, pages."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from experiments.models import Arm, Experiment, ExperimentIncident, TrafficStep
from experiments.selectors import experiment_facts, experiment_page
from experiments.services import experiments as experiment_services
from incidents.ingest.adapters.generic import sign
from incidents.ingest.batch import delivery_process
from incidents.ingest.rollouts import rollout_from
from incidents.models import Incident
from incidents.services.incidents import incident_open
from tests.experiments.conftest import NOW
from tests.factories import PASSWORD, SourceFactory
from tests.incidents.ingest.github import post

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def send_generic(client, source, *, kind: str, at, rollout: dict):
    body = json.dumps(
        {
            "type": kind,
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": {
                "pipeline": "fraud-release",
                "run_id": "77",
                "environment": "production",
                "model": {"name": "fraud-detector", "version": "9"},
                "rollout": rollout,
            },
        }
    ).encode()
    # Signed now (the clock is frozen); the event itself tells when it happened.
    message_id, timestamp = f"msg_{uuid.uuid4().hex}", str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(SECRET, message_id, timestamp, body),
    }
    response = post(client, source, headers, body)
    assert response.status_code == 202, response.content
    return delivery_process(delivery_id=response.json()["delivery"])


@pytest.mark.parametrize(
    ("given", "read"),
    [(0.5, 0.5), ("2.5", 2.5), (10, 10), (10.0, 10), (0.125, 0.12), (100.5, None), ("nan", None), (True, None)],
)
def test_the_rollout_block_reads_shares_in_hundredths(given, read):
    assert rollout_from({"traffic_percent": given}).traffic_percent == read


def test_a_half_percent_canary_from_a_pipeline_keeps_its_share(client, team, model, v8, frozen):
    source = SourceFactory(team=team, kind="generic", name="release-bot", secret=SECRET)
    started = NOW - timedelta(hours=2)
    rollout = {"name": "fraud-v9", "candidate": "9", "control": "8", "traffic_percent": 0.5, "step": 1}
    send_generic(client, source, kind="deployment.started", at=started, rollout=rollout)
    failed = send_generic(
        client, source, kind="deployment.failed", at=started + timedelta(hours=1), rollout={**rollout, "step": 2}
    )
    assert failed.normalized["rollout"]["traffic_percent"] == 0.5
    experiment = Experiment.objects.get()
    assert list(experiment.steps.values_list("percent", flat=True)) == [Decimal("0.50")]
    link = ExperimentIncident.objects.get()
    assert (link.arm, link.traffic_percent) == (Arm.CANDIDATE, Decimal("0.50"))
    incident = Incident.objects.get()
    facts = experiment_facts(incident=incident)
    assert facts["traffic_at_incident"] == 0.5 and facts["steps"][0]["percent"] == 0.5
    assert "during the canary of fraud-detector v9 at 0.5 % traffic" in facts["context"]


def test_services_keep_hundredths_and_refuse_finer_or_outside_shares(member, experiment, frozen):
    step = experiment_services.traffic_step_add(experiment=experiment, percent=Decimal("2.5"), actor=member)
    assert step.percent == Decimal("2.50") and step.share == "2.5" and str(step).startswith("2.5 % at")
    for wrong in (Decimal("0.005"), -1, 100.01, float("nan"), "5", True):
        with pytest.raises(ValidationError) as caught:
            experiment_services.traffic_step_add(experiment=experiment, percent=wrong, actor=member)
        assert caught.value.message_dict["percent"] == [experiment_services.STEP_PERCENT_RANGE]
    assert TrafficStep.objects.filter(experiment=experiment).count() == 2


def test_traffic_hours_count_fractions(member, experiment, frozen):
    # 10 % for an hour, then 0.5 % for an hour: 0.105 candidate traffic-hours.
    experiment_services.traffic_step_add(experiment=experiment, percent=0.5, at=NOW - timedelta(hours=1), actor=member)
    candidate, control = experiment_page(user=member, experiment=experiment, now=NOW).arms
    assert candidate.traffic_hours == pytest.approx(0.105)
    assert control.traffic_hours == pytest.approx(1.895)


def test_the_api_reads_and_writes_fractional_shares(token_client_for, member, team, model, v8, v9, frozen):
    client = token_client_for(member)
    created = client.post(
        "/api/v1/experiments/",
        {
            "team": "fraud",
            "model": "fraud-detector",
            "environment": "production",
            "candidate_version": "9",
            "control_version": "8",
            "traffic_percent": 0.5,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["traffic_percent"] == 0.5
    path = f"/api/v1/experiments/{created.json()['id']}/steps/"
    step = client.post(path, {"percent": 2.5}, format="json")
    assert step.status_code == 201 and step.json()["percent"] == 2.5
    for wrong in (0.005, 100.5, "half"):
        refused = client.post(path, {"percent": wrong}, format="json")
        assert refused.status_code == 400 and "percent" in refused.json(), wrong
    assert client.get(f"/api/v1/experiments/{created.json()['id']}/").json()["traffic_percent"] == 2.5


def test_the_pages_show_and_take_fractional_shares(client, member, team, model, experiment, frozen):
    assert client.login(username=member.username, password=PASSWORD)
    response = client.post(
        f"{experiment.get_absolute_url()}steps/", {"percent": "2.5", "note": "SLO held"}, follow=True
    )
    html = response.content.decode()
    assert "The candidate now serves 2.5 % of traffic." in html
    assert "<strong>2.5 %</strong>" in html and "2.50" not in html
    assert client.post(f"{experiment.get_absolute_url()}steps/", {"percent": "0.001"}).status_code == 400
    incident = incident_open(team=team, title="Scores drift", model=model)
    experiment_services.experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    assert "at 2.5 % traffic" in client.get(incident.get_absolute_url()).content.decode()
