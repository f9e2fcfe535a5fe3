"""The admin shows the main records with useful columns and filters; what services own is read-only there."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.urls import reverse

from experiments.models import Experiment, GameDay
from incidents.models import AliasMove, Delivery, Deployment, Incident, ModelVersion, RegisteredModel, Source
from postmortems.models import ActionItem, Learning, Postmortem
from tests.factories import (
    ActionItemFactory,
    AliasMoveFactory,
    DeliveryFactory,
    DeploymentFactory,
    IncidentFactory,
    LearningFactory,
    ModelVersionFactory,
    TimelineEntryFactory,
)

pytestmark = pytest.mark.django_db

MAIN_MODELS = [
    Incident,
    Source,
    Delivery,
    RegisteredModel,
    ModelVersion,
    Deployment,
    AliasMove,
    Postmortem,
    ActionItem,
    Learning,
    Experiment,
    GameDay,
]
# Changed only through services (timelines, signatures, processing, the review workflow): never edited here.
READ_ONLY = [Incident, Delivery, Deployment, AliasMove, ModelVersion, Postmortem, Experiment, GameDay]


@pytest.fixture
def records(team):
    incident = IncidentFactory(team=team, title="fraud-detector v9 failed to deploy")
    TimelineEntryFactory(incident=incident)
    DeliveryFactory(source__team=team)
    DeploymentFactory()
    AliasMoveFactory()
    ActionItemFactory(incident=incident)
    LearningFactory()
    candidate = ModelVersionFactory(model__team=team)
    started = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    Experiment.objects.create(
        team=team, model=candidate.model, environment="production", candidate_version=candidate, started_at=started
    )
    GameDay.objects.create(team=team, title="Kill the model server", hypothesis="Fails over.", scheduled_at=started)
    return incident


@pytest.mark.parametrize("model", MAIN_MODELS, ids=lambda model: model.__name__)
def test_main_models_are_registered_with_columns_and_filters(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model.__name__} is not in the admin"
    assert len(model_admin.list_display) >= 3
    assert model_admin.list_filter or model_admin.search_fields


@pytest.mark.parametrize("model", MAIN_MODELS, ids=lambda model: model.__name__)
def test_every_list_and_first_record_open_for_staff(client, staff, records, model):
    client.force_login(staff)
    info = (model._meta.app_label, model._meta.model_name)
    response = client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
    assert response.status_code == 200
    first = model.objects.first()
    if first is not None:
        assert client.get(reverse(f"admin:{info[0]}_{info[1]}_change", args=[first.pk])).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model.__name__)
def test_records_services_own_are_read_only(rf, staff, model):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = staff
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)


def test_an_incident_cannot_be_changed_through_the_admin(client, staff, records):
    client.force_login(staff)
    url = reverse("admin:incidents_incident_change", args=[records.pk])
    client.post(url, {"title": "renamed", "status": "closed"})
    records.refresh_from_db()
    assert (records.title, records.status) == ("fraud-detector v9 failed to deploy", "open")


def test_an_incidents_timeline_shows_under_it_as_text_with_no_field_to_change(client, staff, records):
    client.force_login(staff)
    entry = records.timeline.first()
    page = client.get(reverse("admin:incidents_incident_change", args=[records.pk])).content.decode()
    assert entry.text in page
    for field in ("text", "kind", "occurred_at", "starred"):
        assert f'name="timeline-0-{field}"' not in page
