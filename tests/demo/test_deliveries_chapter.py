"""The demo's history comes in through its sources: every demo deployment has the delivery its source made."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.chapters.people import DEMO_USERNAME
from demo.deliveries import SOURCE_OF_MODEL, STATUS_OF_EVENT
from incidents.ingest.adapters import sender_for
from incidents.models import AliasMove, Delivery, Deployment, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("seed_demo", verbosity=0)


def test_every_demo_deployment_came_in_as_a_processed_delivery_of_its_source(seeded):
    sources = Source.objects.filter(name__in=[name for _team, name in SOURCE_OF_MODEL.values()])
    assert sources.count() == len(SOURCE_OF_MODEL)
    for source in sources:
        deployments = Deployment.objects.filter(source=source)
        delivered = Delivery.objects.filter(source=source, status=Delivery.Status.PROCESSED)
        assert delivered.count() == deployments.count() > 0, source.name
        assert set(delivered.values_list("deployment_id", flat=True)) == set(deployments.values_list("id", flat=True))
    assert not Deployment.objects.filter(deliveries__isnull=True).exists(), "every demo deployment was delivered"
    assert Deployment.objects.filter(status="failed").count() >= 10

    count = Delivery.objects.count()
    call_command("seed_demo", verbosity=0)
    assert Delivery.objects.count() == count


def test_each_demo_delivery_reads_as_its_deployment_through_its_sender(seeded):
    for delivery in Delivery.objects.filter(deployment__isnull=False).select_related(
        "source", "deployment__model_version__model"
    ):
        sender = sender_for(delivery.source.kind)
        headers, body = dict(delivery.headers), bytes(delivery.body)
        payload = sender.parse(headers, body)
        event = sender.adapt(sender.event_name(headers, payload), payload)
        deployment = delivery.deployment
        assert event.model_name == deployment.model_version.model.name
        assert event.model_version == deployment.model_version.version
        assert event.environment == deployment.environment
        assert STATUS_OF_EVENT[event.status] == deployment.status
        assert delivery.received_at == deployment.last_event_at
        assert delivery.delivery_id == sender.delivery_id(headers, payload, body)


def test_the_sources_page_shows_when_each_demo_source_last_called(client):
    call_command("seed_demo", verbosity=0)
    client.force_login(get_user_model().objects.get(username=DEMO_USERNAME))
    response = client.get("/sources/")
    assert response.status_code == 200
    listed = {source.name: source for source in response.context["page"].object_list}
    for _team, name in SOURCE_OF_MODEL.values():
        assert listed[name].last_delivery_at is not None, name
        assert listed[name].last_delivery_status == "processed"
    assert listed["MLflow registry"].last_delivery_at is not None
    assert "Never called yet" not in response.content.decode()


def test_each_alias_move_of_fraud_came_in_through_its_mlflow_source(seeded):
    registry = Source.objects.get(name="MLflow registry")
    moves = AliasMove.objects.filter(model__team=registry.team)
    assert moves.count() >= 3
    for move in moves.select_related("delivery", "to_version", "model"):
        assert move.delivery.source == registry and move.delivery.status == Delivery.Status.PROCESSED
        change = move.delivery.normalized["registry"]
        assert (change["model_name"], change["version"], change["alias"]) == (
            move.model.name,
            move.to_version.version,
            move.alias,
        )
