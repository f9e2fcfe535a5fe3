from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from experiments.models import Arm, Experiment, ExperimentOutcome
from experiments.selectors import experiment_context, experiment_facts, traffic_hours
from experiments.services import experiments as services
from incidents.models import IncidentKind, TimelineEntry
from incidents.services.incidents import incident_open
from tests.experiments.conftest import NOW
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


def test_start_records_the_first_step(experiment):
    assert experiment.outcome == ExperimentOutcome.RUNNING and experiment.ended_at is None
    assert [step.percent for step in experiment.steps.all()] == [10]
    assert str(experiment) == "Canary of fraud-detector v9 in production"


def test_a_second_running_experiment_of_the_same_lane_is_refused(experiment, team, model, v8, v9, member):
    with pytest.raises(ValidationError) as error:
        services.experiment_start(
            team=team, model=model, environment="production", candidate_version=v8, control_version=v9, actor=member
        )
    assert error.value.message_dict["environment"] == [
        services.ALREADY_RUNNING.format(
            model="fraud-detector", environment="production", reference=experiment.reference
        )
    ]
    # The rule is a constraint too: a racing insert cannot get around the service's check.
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.create(
            team=team, model=model, environment="production", candidate_version=v8, started_at=NOW
        )


def test_versions_must_belong_to_the_model_and_differ(team, model, v9, member, frozen):
    stranger = ModelVersionFactory(model=RegisteredModelFactory(team=team, name="churn"), version="3")
    with pytest.raises(ValidationError) as error:
        services.experiment_start(
            team=team, model=model, environment="production", candidate_version=stranger, actor=member
        )
    assert error.value.message_dict["candidate_version"] == [
        services.VERSION_NOT_OF_MODEL.format(version=stranger, model="fraud-detector")
    ]
    with pytest.raises(ValidationError) as error:
        services.experiment_start(
            team=team, model=model, environment="production", candidate_version=v9, control_version=v9, actor=member
        )
    assert error.value.message_dict["candidate_version"] == [services.ARMS_SAME_VERSION]


def test_outsider_cannot_start_or_step(team, model, v9, outsider, experiment):
    with pytest.raises(PermissionDenied):
        services.experiment_start(team=team, model=model, environment="staging", candidate_version=v9, actor=outsider)
    with pytest.raises(PermissionDenied):
        services.traffic_step_add(experiment=experiment, percent=50, actor=outsider)


@pytest.mark.parametrize("outcome", ["promoted", "rolled_back", "aborted"])
def test_running_concludes_once(experiment, member, outcome):
    services.experiment_conclude(experiment=experiment, outcome=outcome, reason="Decided.", actor=member)
    experiment.refresh_from_db()
    assert experiment.outcome == outcome and experiment.ended_at == NOW and experiment.outcome_reason == "Decided."
    for second in ("promoted", "rolled_back", "aborted"):
        with pytest.raises(services.InvalidOutcomeChange) as error:
            services.experiment_conclude(experiment=experiment, outcome=second, reason="Again.", actor=member)
        assert str(error.value) == services.INVALID_OUTCOME_CHANGE.format(
            current=outcome, target=second, allowed="none"
        )
        assert error.value.allowed == []


def test_conclusion_needs_a_known_outcome_and_a_reason(experiment, member):
    with pytest.raises(ValidationError) as error:
        services.experiment_conclude(experiment=experiment, outcome="running", reason="x", actor=member)
    assert error.value.message_dict["outcome"] == [services.OUTCOME_UNKNOWN.format(value="running")]
    with pytest.raises(ValidationError) as error:
        services.experiment_conclude(experiment=experiment, outcome="promoted", reason="  ", actor=member)
    assert error.value.message_dict["reason"] == [services.REASON_REQUIRED]


def test_steps_are_refused_out_of_range_before_start_and_after_the_end(experiment, member):
    with pytest.raises(ValidationError) as error:
        services.traffic_step_add(experiment=experiment, percent=101, actor=member)
    assert error.value.message_dict["percent"] == [services.STEP_PERCENT_RANGE]
    with pytest.raises(ValidationError) as error:
        services.traffic_step_add(experiment=experiment, percent=20, at=NOW - timedelta(days=1), actor=member)
    assert "earlier than the experiment's start" in error.value.message_dict["at"][0]
    services.experiment_conclude(experiment=experiment, outcome="aborted", reason="Stop.", actor=member)
    with pytest.raises(ValidationError) as error:
        services.traffic_step_add(experiment=experiment, percent=20, actor=member)
    assert error.value.message_dict["percent"] == [services.STEP_NOT_RUNNING.format(outcome="aborted")]


def test_traffic_hours_weigh_each_step_by_its_time():
    class Step:
        def __init__(self, hours, percent):
            self.at, self.percent = NOW + timedelta(hours=hours), percent

    candidate, control = traffic_hours(steps=[Step(0, 10), Step(2, 50)], started_at=NOW, until=NOW + timedelta(hours=4))
    assert candidate == pytest.approx(2 * 0.1 + 2 * 0.5)
    assert control == pytest.approx(2 * 0.9 + 2 * 0.5)


def test_attached_incident_says_where_it_happened(experiment, team, model, frozen):
    incident = incident_open(
        team=team, title="Scores drifted on the canary", kind=IncidentKind.MODEL_REGRESSION, model=model
    )
    link, created = services.experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    assert created and link.traffic_percent == 10
    assert experiment_context(link=link) == "during the canary of fraud-detector v9 at 10 % traffic"
    again, created_again = services.experiment_attach_incident(
        experiment=experiment, incident=incident, arm=Arm.CANDIDATE
    )
    assert not created_again and again.pk == link.pk
    notes = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.LINK)
    assert [entry.text for entry in notes] == [
        "Happened on the candidate arm during the canary of fraud-detector v9 at 10 % traffic."
    ]
    facts = experiment_facts(incident=incident)
    assert facts["arm"] == "candidate" and facts["traffic_at_incident"] == 10 and facts["furthest_percent"] == 10


def test_concluding_notes_the_end_on_attached_incidents(experiment, team, model, member, frozen):
    incident = incident_open(team=team, title="Canary errors", model=model)
    services.experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    services.experiment_conclude(
        experiment=experiment, outcome="rolled_back", reason="The analysis run failed.", actor=member
    )
    last = TimelineEntry.objects.filter(incident=incident).order_by("-id").first()
    assert "was rolled back. The analysis run failed." in last.text


def test_arm_for_version(experiment, v8, v9, model):
    other = ModelVersionFactory(model=model, version="7")
    assert services.arm_for_version(experiment=experiment, model_version_id=v9.pk) == Arm.CANDIDATE
    assert services.arm_for_version(experiment=experiment, model_version_id=v8.pk) == Arm.CONTROL
    assert services.arm_for_version(experiment=experiment, model_version_id=other.pk) is None
