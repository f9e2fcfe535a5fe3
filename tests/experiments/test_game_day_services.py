from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from experiments.models import GameDayState
from experiments.services import game_days as services
from incidents.models import Incident, IncidentKind, IncidentStatus, TimelineEntry
from postmortems.models import Postmortem
from tests.experiments.conftest import NOW
from tests.factories import RegisteredModelFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_plan_checks_the_plan(team, member, frozen):
    with pytest.raises(ValidationError) as error:
        services.game_day_plan(
            team=team,
            actor=member,
            title=" ",
            hypothesis="",
            scheduled_at=NOW,
            injection_kind="meteor",
            model=RegisteredModelFactory(team=TeamFactory(slug="recsys"), name="ranker"),
        )
    errors = error.value.message_dict
    assert errors["title"] == [services.TITLE_REQUIRED]
    assert errors["hypothesis"] == [services.HYPOTHESIS_REQUIRED]
    assert errors["injection_kind"][0].startswith("Unknown injection 'meteor'")
    assert errors["model"] == [services.MODEL_NOT_IN_TEAM.format(model="ranker", team=team)]


def test_outsider_cannot_plan(team, outsider, frozen):
    with pytest.raises(PermissionDenied):
        services.game_day_plan(team=team, actor=outsider, title="x", hypothesis="y", scheduled_at=NOW)


def test_start_opens_a_drill_incident(game_day, facilitator):
    services.game_day_start(game_day=game_day, actor=facilitator)
    game_day.refresh_from_db()
    incident = game_day.incident
    assert game_day.state == GameDayState.RUNNING and game_day.started_at == NOW
    assert incident.kind == IncidentKind.GAME_DAY and incident.is_drill and incident.severity == "SEV4"
    assert incident.owner == facilitator and incident.model == game_day.model
    assert list(Incident.objects.drills()) == [incident]
    assert not Incident.objects.excluding_drills().filter(pk=incident.pk).exists()
    texts = list(TimelineEntry.objects.filter(incident=incident).values_list("text", flat=True))
    assert any("a drill, not an outage" in text for text in texts)
    assert any("Hold the merchant snapshot back" in text for text in texts)


def test_member_who_does_not_facilitate_cannot_start_but_a_lead_can(game_day, member, lead):
    with pytest.raises(PermissionDenied) as error:
        services.game_day_start(game_day=game_day, actor=member)
    assert str(error.value) == services.NOT_FACILITATOR_OR_LEAD.format(team=game_day.team, action="start")
    services.game_day_start(game_day=game_day, actor=lead)
    assert game_day.__class__.objects.get(pk=game_day.pk).state == GameDayState.RUNNING


def test_lead_of_another_team_cannot_start(game_day, other_lead):
    with pytest.raises(PermissionDenied):
        services.game_day_start(game_day=game_day, actor=other_lead)


def test_finish_records_the_verdict_resolves_the_drill_and_starts_the_postmortem(game_day, facilitator, frozen):
    services.game_day_start(game_day=game_day, actor=facilitator)
    frozen.shift(timedelta(minutes=40))
    services.game_day_finish(
        game_day=game_day, actor=facilitator, hypothesis_held=False, observations="Precision fell to 0.82."
    )
    game_day.refresh_from_db()
    assert game_day.state == GameDayState.FINISHED and game_day.hypothesis_held is False
    assert game_day.ended_at == NOW + timedelta(minutes=40)
    incident = game_day.incident
    assert incident.status == IncidentStatus.RESOLVED
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.template.builtin_key == "game-day"
    assert postmortem.content["hypothesis"] == game_day.hypothesis
    assert "Hold the merchant snapshot back" in postmortem.content["injected_failure"]
    assert "Abort conditions: Precision below 0.8" in postmortem.content["injected_failure"]
    assert postmortem.content["expected_vs_observed"].startswith("**The hypothesis did not hold.**")
    assert "Precision fell to 0.82." in postmortem.content["expected_vs_observed"]
    assert "a drill, not an outage" in postmortem.content["timeline"]
    # The facts are the resolved drill's: 40 minutes to resolve, nothing after it on the timeline.
    resolve = next(row for row in postmortem.facts["durations"] if row["label"] == "Time to resolve")
    assert resolve["seconds"] == 40 * 60
    assert postmortem.facts["incident"]["resolved_at"] == (NOW + timedelta(minutes=40)).isoformat()


def test_finish_needs_the_verdict(game_day, facilitator):
    services.game_day_start(game_day=game_day, actor=facilitator)
    with pytest.raises(ValidationError) as error:
        services.game_day_finish(game_day=game_day, actor=facilitator, hypothesis_held=None)
    assert error.value.message_dict["hypothesis_held"] == [services.HELD_REQUIRED]


def test_any_member_may_abort_with_a_reason(game_day, facilitator, member):
    services.game_day_start(game_day=game_day, actor=facilitator)
    with pytest.raises(ValidationError):
        services.game_day_abort(game_day=game_day, actor=member, reason=" ")
    services.game_day_abort(game_day=game_day, actor=member, reason="Precision fell below 0.8.")
    game_day.refresh_from_db()
    assert game_day.state == GameDayState.ABORTED and game_day.abort_reason == "Precision fell below 0.8."
    assert game_day.incident.status == IncidentStatus.RESOLVED


def test_a_planned_game_day_can_be_aborted_without_a_drill(game_day, member):
    services.game_day_abort(game_day=game_day, actor=member, reason="The staging cluster is being upgraded.")
    game_day.refresh_from_db()
    assert game_day.state == GameDayState.ABORTED and game_day.incident is None


# Every (state, target) pair the lifecycle refuses, with the allowed actions it names.
INVALID = [
    ("planned", "finished", ["start", "abort"]),
    ("running", "running", ["finish", "abort"]),
    ("finished", "running", []),
    ("finished", "finished", []),
    ("finished", "aborted", []),
    ("aborted", "running", []),
    ("aborted", "finished", []),
    ("aborted", "aborted", []),
]


def _bring_to(game_day, state, actor):
    if state in ("running", "finished"):
        services.game_day_start(game_day=game_day, actor=actor)
    if state == "finished":
        services.game_day_finish(game_day=game_day, actor=actor, hypothesis_held=True)
    if state == "aborted":
        services.game_day_abort(game_day=game_day, actor=actor, reason="Called off.")


@pytest.mark.parametrize(("state", "target", "allowed"), INVALID)
def test_invalid_transitions_name_the_allowed_ones(game_day, facilitator, state, target, allowed):
    _bring_to(game_day, state, facilitator)
    call = {
        "running": lambda: services.game_day_start(game_day=game_day, actor=facilitator),
        "finished": lambda: services.game_day_finish(game_day=game_day, actor=facilitator, hypothesis_held=True),
        "aborted": lambda: services.game_day_abort(game_day=game_day, actor=facilitator, reason="Again."),
    }[target]
    with pytest.raises(services.InvalidGameDayTransition) as error:
        call()
    assert error.value.allowed_actions == allowed
    assert str(error.value) == services.INVALID_TRANSITION.format(
        action=services.ACTION_FOR_STATE[target], current=state, allowed=", ".join(allowed) or "none"
    )


def test_a_second_start_opens_no_second_drill(game_day, facilitator):
    services.game_day_start(game_day=game_day, actor=facilitator)
    with pytest.raises(services.InvalidGameDayTransition):
        services.game_day_start(game_day=game_day, actor=facilitator)
    assert Incident.objects.drills().count() == 1


def test_plan_cannot_change_once_over(game_day, member):
    services.game_day_abort(game_day=game_day, actor=member, reason="Called off.")
    with pytest.raises(ValidationError) as error:
        services.game_day_update(game_day=game_day, actor=member, title="Another")
    assert error.value.message_dict["state"] == [services.NOT_EDITABLE_WHEN_OVER.format(state="aborted")]
