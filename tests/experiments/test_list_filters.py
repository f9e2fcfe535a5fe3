"""The experiments list filters by team, model, environment and outcome, chosen from lists, not typed."""

import pytest
from django.urls import reverse

from experiments.forms import UNKNOWN_MODEL, UNKNOWN_OUTCOME, UNKNOWN_TEAM
from experiments.services.experiments import experiment_start
from tests.experiments.conftest import NOW
from tests.factories import ModelVersionFactory, RegisteredModelFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def _select(html: str, name: str) -> str:
    start = html.index(f'<select id="f-{name}" name="{name}"')
    return html[start : html.index("</select>", start)]


def test_team_model_and_environment_are_chosen_from_lists(client, outsider, experiment, team, model):
    html = _login(client, outsider).get(reverse("experiments:experiment-list")).content.decode()
    assert f'<option value="{team.slug}">{team.name}</option>' in _select(html, "team")
    assert f'<option value="{model.name}">{model.name}</option>' in _select(html, "model")
    assert '<option value="production">production</option>' in _select(html, "environment")


def test_the_choices_do_not_reveal_a_restricted_experiment(client, outsider, team, model, v9, member, frozen):
    experiment_start(
        team=team, model=model, environment="secret-canary-cluster", candidate_version=v9, restricted=True, actor=member
    )
    html = _login(client, outsider).get(reverse("experiments:experiment-list")).content.decode()
    assert "secret-canary-cluster" not in html


def test_existing_links_keep_filtering(client, outsider, experiment, model, frozen):
    other_team = TeamFactory(name="Search", slug="search")
    other_model = RegisteredModelFactory(team=other_team, name="ranker")
    experiment_start(
        team=other_team,
        model=other_model,
        environment="staging",
        candidate_version=ModelVersionFactory(model=other_model, version="3"),
        started_at=NOW,
    )
    client = _login(client, outsider)
    url = reverse("experiments:experiment-list")
    for query, expected in (
        ({"team": "search"}, ["ranker"]),
        ({"model": "fraud-detector"}, ["fraud-detector"]),
        ({"environment": "staging"}, ["ranker"]),
        ({"outcome": "running"}, ["fraud-detector", "ranker"]),
    ):
        response = client.get(url, query)
        assert response.status_code == 200
        names = sorted(item.model.name for item in response.context["page"].object_list)
        assert names == expected, query
        assert "selected" in _select(response.content.decode(), next(iter(query)))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"team": "no-such-team"}, UNKNOWN_TEAM),
        ({"model": "no-such-model"}, UNKNOWN_MODEL),
        ({"outcome": "won"}, UNKNOWN_OUTCOME),
    ],
)
def test_an_unknown_choice_is_a_clear_400(client, outsider, experiment, query, message):
    response = _login(client, outsider).get(reverse("experiments:experiment-list"), query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(response.context["page"].object_list) == []
