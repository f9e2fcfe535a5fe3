"""Pipelines through the real batch: a burst and a flapping lane coalesce; a source failing tells its leads."""

import json
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from incidents import hooks
from incidents.hooks import deployment_follower_register
from incidents.ingest import batch
from incidents.ingest.batch import delivery_batch_process
from incidents.models import Delivery, Incident
from incidents.services.incidents import incident_resolve
from notifications.models import ChannelKind, Event, EventKind, Notification
from notifications.services.channels import channel_create
from tests.factories import DeliveryFactory, SourceFactory
from tests.incidents.ingest.github import deployment_status_payload
from tests.notifications.helpers import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(team, lead):
    return SourceFactory(team=team, name="fraud-serving", kind="github", created_by=lead)


def store(source, states: list[str], *, start) -> list[int]:
    """Store one delivery per state, a run each, thirty seconds apart from ``start``."""
    ids = []
    for index, state in enumerate(states):
        at = start + timedelta(seconds=30 * index)
        payload = deployment_status_payload(state=state, at=at, deployment_id=1000 + index)
        delivery = DeliveryFactory(
            source=source,
            event="deployment_status",
            body=json.dumps(payload).encode(),
            headers={"X-GitHub-Event": "deployment_status"},
            received_at=at,
            next_attempt_at=at,
        )
        ids.append(delivery.pk)
    return ids


def test_twenty_failures_in_ten_minutes_say_incident_opened_once(source, team, lead, member, receiver):
    channel_create(team=team, actor=lead, kind=ChannelKind.SLACK, name="#ml", url=receiver.url(), events=["*"])
    ids = store(source, ["failure"] * 20, start=timezone.now() - timedelta(minutes=10))
    for chunk in (ids[:7], ids[7:14], ids[14:]):  # three batches, as a busy drain takes them
        delivery_batch_process(ids=chunk)
    assert Incident.objects.count() == 1
    run_all()
    assert list(Event.objects.values_list("kind", flat=True)) == [EventKind.INCIDENT_OPENED]
    assert Event.objects.get().repeats == 0  # the nineteen others joined the open incident: no event at all
    assert len(receiver.received()) == 1
    assert Notification.objects.filter(user=member).count() == 1
    # Later updates are told: the pipeline's next success mitigates it, then a person resolves it.
    (success,) = store(source, ["success"], start=timezone.now())
    delivery_batch_process(ids=[success])
    incident_resolve(incident=Incident.objects.get(), actor=lead)
    run_all()
    texts = [request.json()["text"] for request in receiver.received()]
    assert len(texts) == 3 and "opened" in texts[0] and "mitigated" in texts[1] and "resolved" in texts[2], texts
    assert Notification.objects.filter(user=member).count() == 3


def test_a_flapping_lane_folds_its_openings_and_mitigations(source, team, lead, member, receiver):
    channel_create(team=team, actor=lead, kind=ChannelKind.SLACK, name="#ml", url=receiver.url(), events=["*"])
    ids = store(source, ["failure", "success"] * 10, start=timezone.now() - timedelta(minutes=10))
    for delivery_id in ids:  # one at a time, as they arrive
        delivery_batch_process(ids=[delivery_id])
    assert Incident.objects.count() == 10  # each failure after a success opens the lane's next incident
    run_all()
    events = {event.kind: event for event in Event.objects.all()}
    assert set(events) == {EventKind.INCIDENT_OPENED, EventKind.INCIDENT_MITIGATED}
    assert events[EventKind.INCIDENT_OPENED].repeats == 9
    assert events[EventKind.INCIDENT_MITIGATED].repeats == 9
    texts = [request.json()["text"] for request in receiver.received()]
    assert len(texts) == 2, texts  # one "opened", one "mitigated": not twenty messages
    assert Notification.objects.filter(user=member).count() == 2


def test_a_person_declaring_in_the_same_lane_is_not_folded(source, team, lead, fraud_model):
    from incidents.services.incidents import incident_open

    for title in ("Drift on cards", "Drift on wallets"):
        incident_open(team=team, title=title, model=fraud_model, environment="production", created_by=lead)
    assert Event.objects.filter(kind=EventKind.INCIDENT_OPENED).count() == 2


def test_a_source_whose_deliveries_keep_failing_tells_its_leads(
    source, team, lead, member, settings, monkeypatch, inbox
):
    settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS = 2

    def unreachable(**kwargs):
        raise RuntimeError("model registry unreachable")

    monkeypatch.setattr(batch, "deployment_event_apply", unreachable)
    (delivery_id,) = store(source, ["failure"], start=timezone.now() - timedelta(minutes=1))
    delivery_batch_process(ids=[delivery_id])
    assert not Event.objects.exists()  # one failed attempt is not yet "failing"
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
    delivery_batch_process(ids=[delivery_id])
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.FAILED
    run_all()
    event = Event.objects.get()
    assert event.kind == EventKind.SOURCE_DELIVERIES_FAILING
    assert event.facts["details"]["error"] == "RuntimeError: model registry unreachable"
    assert list(Notification.objects.values_list("user__username", "direct")) == [(lead.username, True)]
    (email,) = inbox.to(lead.email)
    assert email["Subject"] == "Deliveries from fraud-serving are failing"
    assert "model registry unreachable" in email.get_body(("plain",)).get_content()


def store_lanes(source, environments: list[str], *, state="failure") -> list[int]:
    """Store one delivery per environment (a lane each), a run each."""
    at = timezone.now() - timedelta(minutes=1)
    ids = []
    for index, environment in enumerate(environments):
        payload = deployment_status_payload(state=state, at=at, deployment_id=2000 + index, environment=environment)
        delivery = DeliveryFactory(
            source=source,
            event="deployment_status",
            body=json.dumps(payload).encode(),
            headers={"X-GitHub-Event": "deployment_status"},
            received_at=at,
            next_attempt_at=at,
        )
        ids.append(delivery.pk)
    return ids


@pytest.fixture
def published_tasks():
    """The names of the tasks published to the broker while the test runs (Celery's own signal)."""
    names = []

    def record(sender=None, **kwargs):
        names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


def test_a_batch_writes_its_events_together_and_queues_one_dispatch(
    source, team, lead, member, django_capture_on_commit_callbacks, published_tasks
):
    ids = store_lanes(source, ["production", "staging", "canary", "eu-west"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery_batch_process(ids=ids)
    assert Incident.objects.count() == 4
    assert Event.objects.filter(kind=EventKind.INCIDENT_OPENED).count() == 4
    assert published_tasks.count("notifications.tasks.events_dispatch_task") == 1
    run_all()
    assert Notification.objects.filter(user=member).count() == 4


def test_a_delivery_rolled_back_in_a_batch_takes_its_event_with_it(source, team, lead, member):
    def fail_on_staging(*, event, **recorded):
        if event.environment == "staging":
            raise RuntimeError("rollout store unreachable")

    deployment_follower_register(fail_on_staging)
    try:
        ids = store_lanes(source, ["production", "canary", "staging"])
        delivery_batch_process(ids=ids)
    finally:
        hooks._deployment_followers.remove(fail_on_staging)
    assert Delivery.objects.get(pk=ids[2]).attempts == 1  # its savepoint rolled back: retried later
    assert sorted(Incident.objects.values_list("environment", flat=True)) == ["canary", "production"]
    assert sorted(Event.objects.values_list("incident__environment", flat=True)) == ["canary", "production"]
    assert Event.objects.filter(incident__in=Incident.objects.all()).count() == 2


def test_a_batch_folds_into_the_event_an_earlier_batch_wrote(source, team, lead, member):
    ids = store_lanes(source, ["production", "production", "staging"])
    delivery_batch_process(ids=ids[:1])
    opened = Event.objects.get()
    delivery_batch_process(ids=ids[1:])  # the lane's incident is open: the second failure joins it
    store_ids = store(source, ["success", "failure"], start=timezone.now() - timedelta(seconds=50))
    delivery_batch_process(ids=store_ids)  # mitigated, then a new incident in the same lane: folded
    opened.refresh_from_db()
    assert opened.repeats == 1
    assert Event.objects.filter(kind=EventKind.INCIDENT_OPENED).count() == 2  # production (folded) and staging
    assert Event.objects.filter(kind=EventKind.INCIDENT_MITIGATED).count() == 1
