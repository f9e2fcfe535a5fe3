import pytest
from django.apps import apps
from django.core.management import call_command

from demo.chapters.people import DEMO_PASSWORD, DEMO_USERNAME
from teams.models import Membership, Team


def model_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_seed_demo_creates_an_organisation_and_is_idempotent(client):
    call_command("seed_demo", verbosity=0)
    first = model_counts()
    assert {"ml-platform", "fraud", "recsys"} <= set(Team.objects.values_list("slug", flat=True))
    assert Membership.objects.filter(role="lead").count() >= 3
    call_command("seed_demo", verbosity=0)
    assert model_counts() == first
    assert client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)
