"""Deliveries processed many per transaction: the same outcome as one at a time, failures kept to their delivery."""

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from config.shared_redis import shared_redis
from incidents.ingest import batch as processing
from incidents.ingest import drain as delivery_services
from incidents.ingest.batch import delivery_batch_process, delivery_process
from incidents.ingest.drain import delivery_drain, delivery_drain_flag_clear, delivery_processing_wake
from incidents.models import (
    Delivery,
    Deployment,
    Incident,
    IncidentDeployment,
    ModelVersion,
    RegisteredModel,
    TimelineEntry,
)
from tests.factories import DeliveryFactory, SourceFactory, TeamFactory
from tests.incidents.ingest.github import deployment_status_payload

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATES = ["success"] * 6 + ["failure", "failure", "error", "pending", "in_progress", "in_progress", "inactive"]


def payloads(seed: int, count: int) -> list[tuple[str, dict]]:
    """Return a random but repeatable story: runs of two models in two environments, some events late, a ping."""
    rng = random.Random(seed)
    story = [("ping", {"zen": "Design for failure.", "hook_id": 1})]
    for _ in range(count):
        model = rng.choice(["fraud-detector", "ranker", ""])
        story.append(
            (
                "deployment_status",
                deployment_status_payload(
                    state=rng.choice(STATES),
                    at=T0 + timedelta(minutes=rng.randrange(0, 120)),
                    deployment_id=rng.randrange(1, count),
                    environment=rng.choice(["production", "staging"]),
                    model=model,
                    version=rng.choice(["17", "18", "19"]),
                ),
            )
        )
    return story


def store(source, story, *, first: int = 0) -> list[int]:
    ids = []
    for index, (event, payload) in enumerate(story, start=first):
        received_at = T0 + timedelta(hours=3, seconds=index)
        delivery = DeliveryFactory(
            source=source,
            event=event,
            body=json.dumps(payload).encode(),
            headers={"X-GitHub-Event": event},
            received_at=received_at,
            next_attempt_at=received_at,
        )
        ids.append(delivery.pk)
    return ids


def snapshot(team) -> dict:
    incidents = Incident.objects.filter(team=team)
    return {
        "deliveries": list(
            Delivery.objects.filter(source__team=team)
            .order_by("received_at")
            .values_list("status", "model_found", "error", "deployment__external_id", "attempts")
        ),
        "deployments": sorted(
            Deployment.objects.filter(team=team).values_list(
                "external_id", "status", "environment", "model_version__version", "last_event_at", "title"
            )
        ),
        "versions": sorted(
            ModelVersion.objects.filter(model__team=team).values_list("model__name", "version", "created_at")
        ),
        "incidents": sorted(
            incidents.values_list(
                "title", "status", "severity", "started_at", "mitigated_at", "model__name", "model_unknown"
            ),
            key=repr,
        ),
        "timeline": sorted(
            TimelineEntry.objects.filter(incident__team=team).values_list(
                "incident__title", "kind", "text", "occurred_at", "deployment__external_id"
            ),
            key=repr,
        ),
        "links": sorted(
            IncidentDeployment.objects.filter(incident__team=team).values_list(
                "incident__title", "incident__started_at", "deployment__external_id", "role"
            ),
            key=repr,
        ),
    }


@pytest.mark.parametrize(("seed", "size"), [(1, 5), (2, 100), (3, 13), (4, 1)])
def test_a_batch_ends_where_the_full_services_one_delivery_at_a_time_end(seed, size, monkeypatch):
    story = payloads(seed, 60)
    # Versions 17 and 18 are known before the story starts (19 is not).
    known = [
        (
            "deployment_status",
            deployment_status_payload(
                state="success", at=T0 - timedelta(days=1), deployment_id=900 + n, model=model, version=version
            ),
        )
        for n, (model, version) in enumerate([("fraud-detector", "17"), ("fraud-detector", "18"), ("ranker", "17")])
    ]
    one_by_one, batched = TeamFactory(slug="one"), TeamFactory(slug="batched")
    real_apply = processing.deployment_event_apply

    def plain_services(**kwargs):  # without what the batch knew
        return real_apply(**{**kwargs, "known": None})

    with monkeypatch.context() as patch:
        patch.setattr(processing, "deployment_event_quick", lambda **kwargs: None)  # every delivery the full way
        patch.setattr(processing, "deployment_event_apply", plain_services)
        for delivery_id in store(SourceFactory(team=one_by_one, kind="github", name="fraud-serving"), known + story):
            delivery_process(delivery_id=delivery_id)
    source = SourceFactory(team=batched, kind="github", name="fraud-serving")
    for delivery_id in store(source, known):
        delivery_process(delivery_id=delivery_id)
    store(source, story, first=len(known))
    real_quick, quick = processing.deployment_event_quick, []

    def counted(**kwargs):
        deployment = real_quick(**kwargs)
        quick.append(deployment is not None)
        return deployment

    monkeypatch.setattr(processing, "deployment_event_quick", counted)
    while delivery_batch_process(limit=size, now=T0 + timedelta(days=1)).claimed:
        pass
    expected, got = snapshot(one_by_one), snapshot(batched)
    assert any(quick) and not all(quick), "both ways were taken"
    assert expected["incidents"], "the story opens incidents"
    assert any(status == "processed" for status, *_ in expected["deliveries"])
    for part in expected:
        assert got[part] == expected[part], part


def success_story(count: int, *, start: int = 0) -> list[tuple[str, dict]]:
    return [
        (
            "deployment_status",
            deployment_status_payload(
                state="success", at=T0 + timedelta(seconds=n), deployment_id=1000 + start + n, version=str(n % 3 + 1)
            ),
        )
        for n in range(count)
    ]


def test_a_batch_of_known_versions_costs_the_same_queries_whatever_its_size(github_source):
    store(github_source, success_story(3))
    delivery_batch_process(limit=10)  # registers the model and its three versions
    counts = []
    for start, size in ((100, 5), (200, 40)):
        store(github_source, success_story(size, start=start))
        with CaptureQueriesContext(connection) as queries:
            result = delivery_batch_process(limit=size)
        assert result.claimed == size
        assert {delivery.status for delivery in result.deliveries} == {"processed"}
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # The claim in its own transaction (synchronous_commit, the due rows, counting their attempt), then
    # synchronous_commit, the claimed rows, models, lane locks, versions, runs, open lanes, the insert in its
    # savepoint, the deliveries: the same for 5 as for 40.
    assert counts[1] <= 18, counts
    assert Deployment.objects.count() == 48


def test_a_delivery_that_fails_is_counted_and_the_rest_of_its_batch_commits(github_source, monkeypatch):
    store(github_source, success_story(2))
    delivery_batch_process()
    ids = store(
        github_source,
        [
            ("deployment_status", deployment_status_payload(state="failure", at=T0, deployment_id=1)),
            ("deployment_status", deployment_status_payload(state="failure", at=T0, deployment_id=2, version="9")),
            ("deployment_status", deployment_status_payload(state="success", at=T0, deployment_id=3, version="1")),
        ],
    )
    real = processing.deployment_event_apply

    def fails_for_version_nine(**kwargs):
        result = real(**kwargs)
        if kwargs["event"].model_version == "9":
            raise RuntimeError("registry unreachable")
        return result

    monkeypatch.setattr(processing, "deployment_event_apply", fails_for_version_nine)
    result = delivery_batch_process(ids=ids)
    statuses = {delivery.pk: (delivery.status, delivery.attempts) for delivery in Delivery.objects.filter(pk__in=ids)}
    assert statuses == {ids[0]: ("processed", 0), ids[1]: ("received", 1), ids[2]: ("processed", 0)}
    assert result.retry_in == 10.0
    failed = Delivery.objects.get(pk=ids[1])
    assert failed.error == "RuntimeError: registry unreachable"
    assert failed.deployment is None
    assert not Deployment.objects.filter(external_id="deployment:2").exists(), "its writes were rolled back"
    assert not ModelVersion.objects.filter(version="9").exists()
    assert Incident.objects.count() == 1


def test_a_payload_that_breaks_its_adapter_fails_alone(github_source, monkeypatch):
    ids = store(github_source, success_story(3))
    real = processing._discover

    def breaks_on_the_second(*, event, source):
        if event.external_id == "deployment:1001":
            raise ValueError("unexpected payload shape")
        return real(event=event, source=source)

    monkeypatch.setattr(processing, "_discover", breaks_on_the_second)
    delivery_batch_process(ids=ids)
    assert list(Delivery.objects.order_by("id").values_list("status", "attempts")) == [
        ("processed", 0),
        ("received", 1),
        ("processed", 0),
    ]


def test_a_batch_failing_as_a_whole_is_processed_again_one_delivery_at_a_time(github_source, monkeypatch):
    store(github_source, success_story(4))
    real = processing._deliveries_write
    calls = []

    def fails_for_the_whole_batch(deliveries):
        calls.append(len(deliveries))
        if len(deliveries) > 1:
            raise DatabaseError("could not serialize access")
        real(deliveries)

    monkeypatch.setattr(processing, "_deliveries_write", fails_for_the_whole_batch)
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: True)
    assert delivery_drain() == 4
    assert calls == [4, 1, 1, 1, 1]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}
    assert Deployment.objects.count() == 4


def test_a_drain_hands_the_rest_to_another_when_its_time_is_spent_and_queues_retries(
    github_source, monkeypatch, settings
):
    queued = []
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: queued.append(options) or True)
    monkeypatch.setattr(delivery_services, "delivery_processing_wake", lambda: queued.append("wake") or True)
    monkeypatch.setattr(processing, "_discover", lambda **kwargs: (_ for _ in ()).throw(ValueError("broken")))
    store(github_source, success_story(5))
    settings.KINTSUGI_DELIVERY_BATCH_SIZE = 2
    assert delivery_drain(budget_seconds=0) == 2
    assert queued == [{}, {"countdown": 10.0}], "the rest now, the retries when due"


def test_waking_queues_one_drain_until_a_drain_starts(monkeypatch):
    published = []
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: published.append(options) or True)
    delivery_drain_flag_clear()
    for _ in range(3):
        assert delivery_processing_wake()
    if shared_redis() is None:  # no shared Redis (the embedded default): every wake publishes
        assert len(published) == 3
        return
    assert len(published) == 1, "one pending drain serves every delivery committed before it starts"
    delivery_drain()
    assert delivery_processing_wake()
    assert len(published) == 2, "the drain started: the next delivery queues one of its own"
    delivery_drain_flag_clear()


def test_waking_with_the_broker_down_leaves_no_flag_behind(monkeypatch):
    attempts = []
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: attempts.append(1) and False)
    delivery_drain_flag_clear()
    assert delivery_processing_wake() is False
    assert delivery_processing_wake() is False
    assert len(attempts) == 2, "a failed publish is tried again by the next delivery"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="in-memory SQLite test databases refuse a second writer instead of making it wait; runs on PostgreSQL",
)
def test_concurrent_drains_share_the_deliveries_and_process_each_once(team, monkeypatch, settings):
    settings.KINTSUGI_DELIVERY_BATCH_SIZE = 7
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: True)
    monkeypatch.setattr(delivery_services, "delivery_processing_wake", lambda: True)
    source = SourceFactory(team=team, kind="github")
    story = success_story(60) + [
        ("deployment_status", deployment_status_payload(state="failure", at=T0 + timedelta(hours=1), deployment_id=n))
        for n in range(1, 6)
    ]
    store(source, story)
    barrier = threading.Barrier(3)
    done = {}

    def drain(name):
        try:
            barrier.wait()
            done[name] = delivery_drain()
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(done.values()) == len(story), done
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}
    assert Deployment.objects.count() == 65
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.DEPLOYMENT).count() == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lets one transaction write at a time, so two drains never hold locks at once: no deadlock there",
)
def test_two_drains_meeting_the_same_new_models_register_them_without_a_deadlock(team, monkeypatch, settings):
    """Two drains at once, each with a batch naming the same ten new models, in opposite orders."""
    settings.KINTSUGI_DELIVERY_BATCH_SIZE = 30
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: True)
    monkeypatch.setattr(delivery_services, "delivery_processing_wake", lambda: True)
    source = SourceFactory(team=team, kind="github")
    models = [f"model-{n}" for n in range(10)]

    def story(order: list[str], first_run: int) -> list[tuple[str, dict]]:
        # Three runs per model; one delivery in ten a failure.
        return [
            (
                "deployment_status",
                deployment_status_payload(
                    state="failure" if n % 10 == 9 else "success",
                    at=T0 + timedelta(seconds=n),
                    deployment_id=first_run + n,
                    model=name,
                    version=str(n // 10 + 1),
                ),
            )
            for n, name in enumerate(order * 3)
        ]

    forward = story(models, 1000)
    store(source, forward + story(models[::-1], 2000))
    barrier = threading.Barrier(2)
    done = {}

    def drain(name):
        try:
            barrier.wait()
            done[name] = delivery_drain()
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(done.values()) == 2 * len(forward), done
    deliveries = list(Delivery.objects.values_list("status", "attempts", "error"))
    assert set(deliveries) == {("processed", 0, "")}, {row for row in deliveries if row[0] != "processed"}
    assert sorted(RegisteredModel.objects.filter(team=team).values_list("name", flat=True)) == models
    assert Deployment.objects.count() == 60
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.DEPLOYMENT).count() == 6, "each failure on an incident"


def test_each_delivery_of_a_batch_is_stamped_when_its_processing_ended(github_source):
    ids = store(github_source, success_story(3))
    started = T0 + timedelta(days=1)  # the batch's clock: when it claimed them
    delivery_batch_process(limit=10, now=started)
    stamps = list(Delivery.objects.filter(pk__in=ids).order_by("id").values_list("processed_at", flat=True))
    assert all(stamp > started for stamp in stamps), stamps
    assert stamps == sorted(stamps)
