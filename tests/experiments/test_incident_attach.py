"""A hand-declared incident attached to the arm of an experiment from the incident's page."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from experiments.api.views import INCIDENT_UNKNOWN
from experiments.models import Arm, ExperimentIncident
from experiments.services import experiments as experiment_services
from experiments.services.experiments import experiment_incident_attach
from incidents.models import TimelineEntry
from incidents.services.incidents import incident_open
from tests.experiments.conftest import NOW
from tests.factories import PASSWORD, RegisteredModelFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def declared(team, model, member, frozen):
    """An incident a person declared an hour into the canary, while it served 10 %."""
    return incident_open(
        team=team, title="Chargebacks spike", model=model, started_at=NOW - timedelta(hours=1), created_by=member
    )


def test_member_attaches_a_declared_incident_from_its_page(client, member, experiment, declared):
    page = _login(client, member).get(declared.get_absolute_url())
    assert list(page.context["experiment_form"].fields["experiment"].queryset) == [experiment]
    assert "During a rollout?" in page.content.decode()
    response = client.post(
        f"/incidents/{declared.pk}/experiment/", {"experiment": experiment.pk, "arm": "candidate"}, follow=True
    )
    assert response.redirect_chain[-1][0] == declared.get_absolute_url()
    html = response.content.decode()
    assert "during the canary of fraud-detector v9 at 10 % traffic" in html
    link = ExperimentIncident.objects.get(incident=declared)
    assert (link.experiment, link.arm, link.traffic_percent) == (experiment, Arm.CANDIDATE, 10)
    note = declared.timeline.get(kind=TimelineEntry.Kind.LINK)
    assert note.author == member and experiment.reference == note.new_value
    # Attached once: the form offers it no more.
    again = client.get(declared.get_absolute_url())
    assert not again.context["experiment_form"].fields["experiment"].queryset.exists()
    assert "During a rollout?" not in again.content.decode()


def test_outsider_cannot_attach_and_a_reader_sees_no_form(client, outsider, experiment, declared):
    page = _login(client, outsider).get(declared.get_absolute_url())
    assert page.status_code == 200
    assert "During a rollout?" not in page.content.decode()
    response = client.post(f"/incidents/{declared.pk}/experiment/", {"experiment": experiment.pk, "arm": "candidate"})
    assert response.status_code == 403
    assert not ExperimentIncident.objects.exists()


def test_bad_choices_are_400_and_attach_nothing(client, member, experiment, declared):
    _login(client, member)
    for data in ({"experiment": experiment.pk, "arm": "both"}, {"experiment": 10**9, "arm": "candidate"}, {}):
        response = client.post(f"/incidents/{declared.pk}/experiment/", data)
        assert response.status_code == 400, data
    assert not ExperimentIncident.objects.exists()


def test_the_service_refuses_what_did_not_happen_during_the_run(team, member, model, experiment, frozen):
    before = incident_open(team=team, title="Old", model=model, started_at=NOW - timedelta(hours=3))
    with pytest.raises(ValidationError) as caught:
        experiment_incident_attach(experiment=experiment, incident=before, arm=Arm.CANDIDATE, actor=member)
    assert caught.value.message_dict["experiment"] == [
        experiment_services.INCIDENT_OUTSIDE_RUN.format(
            incident=before.reference, started=before.started_at, reference=experiment.reference
        )
    ]
    other_model = RegisteredModelFactory(team=team, name="ranker")
    elsewhere = incident_open(team=team, title="Ranker", model=other_model, started_at=NOW - timedelta(minutes=5))
    with pytest.raises(ValidationError, match="concerns ranker"):
        experiment_incident_attach(experiment=experiment, incident=elsewhere, arm=Arm.CANDIDATE, actor=member)
    other_team = incident_open(team=TeamFactory(name="Search"), title="Search", started_at=NOW - timedelta(minutes=5))
    with pytest.raises(ValidationError, match="belongs to Search"):
        experiment_incident_attach(experiment=experiment, incident=other_team, arm=Arm.CANDIDATE, actor=member)
    assert not ExperimentIncident.objects.exists()


def test_the_service_refuses_outsiders_and_a_second_attachment(member, outsider, experiment, declared):
    with pytest.raises(PermissionDenied):
        experiment_incident_attach(experiment=experiment, incident=declared, arm=Arm.CONTROL, actor=outsider)
    experiment_incident_attach(experiment=experiment, incident=declared, arm=Arm.CONTROL, actor=member)
    with pytest.raises(ValidationError, match="already attached"):
        experiment_incident_attach(experiment=experiment, incident=declared, arm=Arm.CANDIDATE, actor=member)
    assert ExperimentIncident.objects.get(incident=declared).arm == Arm.CONTROL


def test_the_api_attaches_with_the_same_rules(token_client_for, member, outsider, experiment, declared):
    url = f"/api/v1/experiments/{experiment.pk}/incidents/"
    assert token_client_for(outsider).post(url, {"incident": declared.pk}, format="json").status_code == 403
    client = token_client_for(member)
    unknown = client.post(url, {"incident": 10**9}, format="json")
    assert unknown.status_code == 400 and unknown.json()["incident"] == [INCIDENT_UNKNOWN]
    attached = client.post(url, {"incident": declared.pk, "arm": "candidate"}, format="json")
    assert attached.status_code == 201, attached.json()
    assert attached.json()["traffic_percent"] == 10
    assert attached.json()["context"] == "during the canary of fraud-detector v9 at 10 % traffic"
    again = client.post(url, {"incident": declared.pk, "arm": "control"}, format="json")
    assert again.status_code == 400 and "already attached" in again.json()["experiment"][0]
