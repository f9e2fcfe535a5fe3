"""The insights chapter tells the story a lead recognises: one model better, one worse, one team over its budget."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from insights import selectors
from insights.filters import InsightsFilters

pytestmark = pytest.mark.django_db

# The eight weeks before the demo's anchor (Monday 16 November 2026), in two halves.
FIRST_HALF = InsightsFilters(start=date(2026, 9, 21), end=date(2026, 10, 18), period="custom")
SECOND_HALF = InsightsFilters(start=date(2026, 10, 19), end=date(2026, 11, 15), period="custom")


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=None)
    return get_user_model().objects.get(username="demo")


def change_failure_rate(user, filters, model: str) -> float:
    models = {row["name"]: row for row in selectors.dora_series(user=user, filters=filters)["models"]}
    return models[model]["change_failure_rate"]


def test_the_demo_story(demo):
    """churn-predictor gets better, fraud-detector worse; ML Platform is over its operations budget."""
    assert change_failure_rate(demo, FIRST_HALF, "churn-predictor") > change_failure_rate(
        demo, SECOND_HALF, "churn-predictor"
    )
    assert change_failure_rate(demo, FIRST_HALF, "fraud-detector") < change_failure_rate(
        demo, SECOND_HALF, "fraud-detector"
    )
    eight_weeks = InsightsFilters(start=FIRST_HALF.start, end=SECOND_HALF.end, period="custom")
    teams = selectors.operational_load_series(user=demo, filters=eight_weeks)["teams"]
    over = {team["name"]: team["weeks_over_budget"] for team in teams}
    assert over["ML Platform"] >= 3
    assert all(weeks < over["ML Platform"] for name, weeks in over.items() if name != "ML Platform")
    from incidents.models import Deployment, Incident

    counts = (Deployment.objects.count(), Incident.objects.count())
    call_command("seed_demo", stdout=None)
    assert (Deployment.objects.count(), Incident.objects.count()) == counts
