from datetime import timedelta

import pytest
from django.urls import reverse

from experiments.models import Arm, GameDay, GameDayState
from experiments.services import experiments as experiment_services
from experiments.services import game_days as services
from incidents.models import IncidentKind
from incidents.services.incidents import incident_open
from postmortems.models import Postmortem
from tests.experiments.conftest import NOW
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_experiment_page_shows_steps_arms_and_failures(client, member, experiment, team, model, frozen):
    experiment_services.traffic_step_add(experiment=experiment, percent=50, at=NOW - timedelta(hours=1), actor=member)
    incident = incident_open(team=team, title="Canary errors", kind=IncidentKind.MODEL_REGRESSION, model=model)
    experiment_services.experiment_attach_incident(
        experiment=experiment, incident=incident, arm=Arm.CANDIDATE, at=NOW - timedelta(minutes=30)
    )
    response = _login(client, member).get(experiment.get_absolute_url())
    assert response.status_code == 200
    page = response.context["page"]
    candidate, control = page.arms
    # One hour at 10 %, one at 50 %: 0.6 candidate traffic-hours, one failure on it.
    assert candidate.traffic_hours == pytest.approx(0.6) and candidate.failures == 1
    assert candidate.failures_per_traffic_hour == pytest.approx(1 / 0.6)
    assert control.failures == 0 and control.traffic_hours == pytest.approx(1.4)
    html = response.content.decode()
    assert "Canary errors" in html and "50 %" in html and "<polyline" in html


def test_restricted_incident_is_counted_not_named_on_the_experiment_page(
    client, outsider, experiment, team, model, frozen
):
    incident = incident_open(team=team, title="Secret fraud pattern", model=model, restricted=True)
    experiment_services.experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    response = _login(client, outsider).get(experiment.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Secret fraud pattern" not in html and "1 restricted incident" in html


def test_incident_page_says_where_it_happened(client, member, experiment, team, model, frozen):
    incident = incident_open(team=team, title="Canary errors", model=model)
    experiment_services.experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    html = _login(client, member).get(incident.get_absolute_url()).content.decode()
    assert "during the canary of fraud-detector v9 at 10 % traffic" in html
    assert experiment.reference in html


def test_lineage_shows_experiments_between_versions(client, member, experiment, model):
    html = _login(client, member).get(model.get_absolute_url()).content.decode()
    assert "Experiments between versions" in html and experiment.reference in html


def test_team_page_lists_planned_and_past_game_days(client, member, game_day, team, frozen):
    past = services.game_day_plan(
        team=team, actor=member, title="Model server killed", hypothesis="Fallback within 30 s.", scheduled_at=NOW
    )
    services.game_day_abort(game_day=past, actor=member, reason="Cluster upgrade.")
    response = _login(client, member).get(team.get_absolute_url())
    assert [day.pk for day in response.context["upcoming_game_days"]] == [game_day.pk]
    assert [day.pk for day in response.context["past_game_days"]] == [past.pk]
    assert "Plan a game day" in response.content.decode()


def test_plan_start_finish_through_the_pages(client, facilitator, member, team, model, frozen):
    _login(client, facilitator)
    response = client.post(
        reverse("experiments:game-day-plan"),
        {
            "team": team.pk,
            "title": "Stale features",
            "hypothesis": "Precision stays above 0.9.",
            "injection_kind": "stale_features",
            "model": model.pk,
            "environment": "staging",
            "scheduled_at": "2026-03-11T10:00",
            "duration_minutes": 45,
            "participants": [member.pk],
        },
    )
    game_day = GameDay.objects.get()
    assert response.status_code == 302 and response.url == game_day.get_absolute_url()
    assert game_day.facilitator == facilitator and list(game_day.participants.all()) == [member]
    client.post(reverse("experiments:game-day-start", args=[game_day.pk]))
    game_day.refresh_from_db()
    assert game_day.state == GameDayState.RUNNING and game_day.incident.is_drill
    drill_page = client.get(game_day.incident.get_absolute_url()).content.decode()
    assert "A <strong>drill</strong>" in drill_page
    response = client.post(
        reverse("experiments:game-day-finish", args=[game_day.pk]), {"held": "no", "observations": "Alert was late."}
    )
    postmortem = Postmortem.objects.get(incident=game_day.incident)
    assert response.status_code == 302 and response.url == postmortem.get_absolute_url()


def test_plan_form_errors_are_400_and_keep_the_input(client, member, team, frozen):
    response = _login(client, member).post(
        reverse("experiments:game-day-plan"), {"team": team.pk, "title": "Half a plan", "hypothesis": ""}
    )
    assert response.status_code == 400
    assert "Half a plan" in response.content.decode() and not GameDay.objects.exists()


def test_second_start_click_is_a_400_naming_the_allowed(client, facilitator, game_day):
    _login(client, facilitator)
    client.post(reverse("experiments:game-day-start", args=[game_day.pk]))
    response = client.post(reverse("experiments:game-day-start", args=[game_day.pk]))
    assert response.status_code == 400
    assert "Cannot start a running game day; allowed: finish, abort." in response.content.decode()


def test_outsider_cannot_act_and_restricted_is_404(client, outsider, game_day):
    _login(client, outsider)
    assert client.get(game_day.get_absolute_url()).status_code == 200
    assert client.post(reverse("experiments:game-day-start", args=[game_day.pk])).status_code == 403
    assert client.post(reverse("experiments:game-day-abort", args=[game_day.pk]), {"reason": "x"}).status_code == 403
    GameDay.objects.filter(pk=game_day.pk).update(restricted=True)
    assert client.get(game_day.get_absolute_url()).status_code == 404
    assert client.get(reverse("experiments:game-day-list")).context["page"].paginator.count == 0


def test_member_not_facilitating_sees_no_start_button_but_can_abort(client, member, game_day):
    html = _login(client, member).get(game_day.get_absolute_url()).content.decode()
    assert "Start the game day" not in html and "Abort the game day" in html
    assert client.post(reverse("experiments:game-day-start", args=[game_day.pk])).status_code == 403
    response = client.post(reverse("experiments:game-day-abort", args=[game_day.pk]), {"reason": "Upgrade."})
    assert response.status_code == 302


def test_member_steps_and_concludes_an_experiment_from_its_page(client, member, experiment, frozen):
    _login(client, member)
    response = client.post(reverse("experiments:experiment-step", args=[experiment.pk]), {"percent": 50})
    assert response.status_code == 302
    assert [step.percent for step in experiment.steps.all()] == [10, 50]
    refused = client.post(reverse("experiments:experiment-step", args=[experiment.pk]), {"percent": 150})
    assert refused.status_code == 400 and experiment.steps.count() == 2
    no_reason = client.post(reverse("experiments:experiment-conclude", args=[experiment.pk]), {"outcome": "promoted"})
    assert no_reason.status_code == 400
    done = client.post(
        reverse("experiments:experiment-conclude", args=[experiment.pk]),
        {"outcome": "promoted", "reason": "Precision held at 50 %."},
    )
    assert done.status_code == 302
    again = client.post(
        reverse("experiments:experiment-conclude", args=[experiment.pk]), {"outcome": "aborted", "reason": "x"}
    )
    assert again.status_code == 400
    assert "Cannot move an experiment from promoted to aborted; allowed: none." in again.content.decode()


def test_outsider_cannot_step_or_conclude(client, outsider, experiment):
    _login(client, outsider)
    html = client.get(experiment.get_absolute_url()).content.decode()
    assert "Record the step" not in html
    assert client.post(reverse("experiments:experiment-step", args=[experiment.pk]), {"percent": 50}).status_code == 403
    response = client.post(
        reverse("experiments:experiment-conclude", args=[experiment.pk]), {"outcome": "promoted", "reason": "x"}
    )
    assert response.status_code == 403


def _grow(team, model, member, start: int, size: int) -> None:
    """Add ``size`` experiments (each with an incident on its candidate) and game days of two participants."""
    from experiments.services.game_days import game_day_plan
    from tests.factories import ModelVersionFactory, UserFactory

    for index in range(start, start + size):
        grown = experiment_services.experiment_start(
            team=team,
            model=model,
            environment=f"env-{index}",
            candidate_version=ModelVersionFactory(model=model, version=str(100 + index)),
            initial_percent=10,
            started_at=NOW - timedelta(days=index + 1),
            actor=member,
        )
        incident = incident_open(team=team, title=f"Failure {index}", model=model)
        experiment_services.experiment_attach_incident(experiment=grown, incident=incident, arm=Arm.CANDIDATE)
        game_day_plan(
            team=team,
            actor=member,
            title=f"Drill {index}",
            hypothesis="It holds.",
            scheduled_at=NOW + timedelta(days=index),
            participants=[member, UserFactory(username=f"guest{index}")],
        )


# Each limit: session and user, the list (its count, then its page), and per page what it adds.
LIST_QUERY_LIMITS = {
    "/experiments/": 7,  # and the teams, models and environments its filters offer
    "/game-days/": 5,  # and the participants, prefetched
    "/api/v1/experiments/": 5,  # token, user, count, page, steps prefetched
    "/api/v1/game-days/": 5,  # token, user, count, page, participants prefetched
    "team": 13,  # the team page's 11, and 2 for its game days and their participants
    "lineage": 14,  # the lineage's 13, and 1 for the experiments between versions
}


@pytest.mark.parametrize("url", sorted(LIST_QUERY_LIMITS))
def test_lists_run_the_same_number_of_queries_at_two_sizes(
    client, member, team, model, url, frozen, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, member)
    target = {"team": team.get_absolute_url(), "lineage": model.get_absolute_url()}.get(url, url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(target).status_code == 200
        return len(queries)

    _grow(team, model, member, 0, 2)
    small = count()
    _grow(team, model, member, 2, 10)
    with django_assert_max_num_queries(LIST_QUERY_LIMITS[url]):
        big = count()
    assert big == small, f"{url}: {small} queries with little data, {big} with more"
