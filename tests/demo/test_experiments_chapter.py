import pytest
from django.apps import apps
from django.core.management import call_command

from demo.chapters.experiments import STALE_FEATURES
from experiments.models import Arm, Experiment, ExperimentOutcome, GameDay, GameDayState
from incidents.models import Incident
from postmortems.models import ActionItem, Postmortem


def model_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_demo_tells_the_canary_and_the_game_day_once():
    call_command("seed_demo", verbosity=0)
    canary = Experiment.objects.get(model__name="fraud-detector", candidate_version__version="9")
    assert canary.outcome == ExperimentOutcome.ROLLED_BACK and canary.control_version.version == "8"
    assert [step.percent for step in canary.steps.all()] == [0, 10]
    link = canary.incident_links.get()
    assert link.arm == Arm.CANDIDATE and link.traffic_percent == 10
    assert link.incident.title == "fraud-detector v9 failed to deploy to production"
    postmortem = Postmortem.objects.get(incident=link.incident)
    assert "during the canary of fraud-detector v9 at 10 % traffic" in postmortem.content["rollout"]
    assert "Outcome: rolled back" in postmortem.content["rollout"]

    drill = GameDay.objects.get(title=STALE_FEATURES)
    assert drill.state == GameDayState.FINISHED and drill.hypothesis_held is False
    assert drill.incident.is_drill and drill.incident in Incident.objects.drills()
    assert ActionItem.objects.filter(incident=drill.incident).count() == 2
    assert Postmortem.objects.get(incident=drill.incident).content["hypothesis"] == drill.hypothesis
    assert GameDay.objects.filter(state=GameDayState.PLANNED).count() == 1

    first = model_counts()
    call_command("seed_demo", verbosity=0)
    assert model_counts() == first
