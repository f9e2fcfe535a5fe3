"""The drain's lease: deliveries committed while a drain holds it wake nothing, and that drain still processes them."""

import json
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from config.shared_redis import shared_key, shared_redis
from incidents.ingest import drain as delivery_services
from incidents.ingest import drain as drain_lease
from incidents.ingest.drain import (
    DRAIN_LEASE,
    DRAIN_LEASE_SECONDS,
    DRAIN_PENDING,
    DrainLease,
    delivery_drain,
    delivery_processing_wake,
)
from incidents.ingest.edge import delivery_receive
from incidents.models import Delivery
from tests.incidents.ingest.github import deployment_status_payload

needs_redis = pytest.mark.skipif(
    shared_redis() is None, reason="the lease lives in the shared Redis; without one every delivery wakes a drain"
)


@pytest.fixture
def published(monkeypatch):
    """Record the drains published instead of queueing them."""
    queued = []
    monkeypatch.setattr(delivery_services, "delivery_drain_queue", lambda **options: queued.append(options) or True)
    shared_redis() and shared_redis().delete(shared_key(DRAIN_PENDING))
    return queued


def test_without_a_shared_redis_every_delivery_publishes_a_drain(published, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert DrainLease.take() is None
    for _ in range(3):
        assert delivery_processing_wake()
    assert len(published) == 3


@needs_redis
@pytest.mark.parametrize("seen", ["lease", "pending flag"])
def test_a_process_that_saw_the_lease_or_the_flag_asks_redis_nothing_for_a_while(published, monkeypatch, seen):
    if seen == "lease":
        DrainLease.take().renew()
    else:
        shared_redis().set(shared_key(DRAIN_PENDING), 1, ex=30)
    assert delivery_processing_wake()
    assert published == []
    if seen == "lease":
        assert not shared_redis().exists(shared_key(DRAIN_PENDING)), "a leased drain needs no pending one"

    def unreachable():
        raise ConnectionError("Redis is not asked while the lease is known to live")

    monkeypatch.setattr(drain_lease, "shared_redis", unreachable)
    assert delivery_processing_wake()
    assert published == []
    drain_lease.drain_lease_forget()  # as when the time it was trusted until has passed; Redis is asked again
    assert delivery_processing_wake()
    assert published == [{}], "cannot read the lease: publish"


@needs_redis
def test_letting_the_lease_go_waits_until_it_is_gone_unless_another_drain_renewed_it():
    lease = DrainLease.take()
    lease.renew()
    started = time.monotonic()
    assert lease.let_go()
    assert time.monotonic() - started >= DRAIN_LEASE_SECONDS * 0.9
    assert not shared_redis().exists(shared_key(DRAIN_LEASE))
    lease.renew()
    DrainLease.take().renew()  # another drain
    started = time.monotonic()
    assert not lease.let_go()
    assert time.monotonic() - started < DRAIN_LEASE_SECONDS / 2


def drain_started() -> tuple[threading.Thread, dict]:
    """Start a drain in a thread; return it once the drain holds its lease, and where it puts how many it did."""
    results = {}

    def drain():
        try:
            results["done"] = delivery_drain()
        finally:
            connection.close()

    thread = threading.Thread(target=drain)
    thread.start()
    deadline = time.monotonic() + 10
    while not shared_redis().exists(shared_key(DRAIN_LEASE)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, results


def success_received(source, *, delivery_id: str, deployment_id: int) -> Delivery:
    """Store a successful deployment's delivery as the webhook does (committed, then waking processing)."""
    payload = deployment_status_payload(state="success", at=timezone.now(), deployment_id=deployment_id)
    delivery, created = delivery_receive(
        source=source,
        delivery_id=delivery_id,
        event="deployment_status",
        headers={"X-GitHub-Event": "deployment_status"},
        content_type="application/json",
        body=json.dumps(payload).encode(),
    )
    assert created
    return delivery


@pytest.mark.django_db(transaction=True)
@needs_redis
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a drain and a writer at once need PostgreSQL")
def test_deliveries_committed_while_a_drain_holds_its_lease_wake_nothing_and_are_processed(github_source, published):
    thread, results = drain_started()
    stored = []
    for number in range(8):  # over about the drain's linger time, the last ones as it lets go
        delivery = success_received(github_source, delivery_id=f"during-the-lease-{number}", deployment_id=number + 1)
        stored.append(delivery.pk)
        time.sleep(0.1)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert results["done"] == len(stored)
    assert set(Delivery.objects.filter(pk__in=stored).values_list("status", flat=True)) == {"processed"}
    assert published == [], "every delivery was committed while the drain held its lease"


@pytest.mark.django_db(transaction=True)
@needs_redis
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a drain and a writer at once need PostgreSQL")
@pytest.mark.parametrize("seen", ["lease", "pending flag"])
def test_a_drain_letting_its_lease_go_still_processes_a_delivery_committed_before_it_was_gone(
    github_source, published, monkeypatch, seen
):
    """The web process commits while it trusts what it saw; the drain is letting its lease go by then."""
    monkeypatch.setattr(delivery_services, "DRAIN_LINGER_SECONDS", 0.0)
    if seen == "pending flag":
        shared_redis().set(shared_key(DRAIN_PENDING), 1, ex=30)  # a drain queued, as the one below
        assert delivery_processing_wake()
    thread, results = drain_started()
    if seen == "lease":
        assert delivery_processing_wake()  # this process now knows the lease lives
    time.sleep(DRAIN_LEASE_SECONDS / 3)  # the drain found nothing and is letting the lease go
    delivery = success_received(github_source, delivery_id="as-the-lease-ends", deployment_id=1)
    thread.join(timeout=30)
    assert published == []
    assert not shared_redis().exists(shared_key(DRAIN_PENDING))
    assert results["done"] == 1
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PROCESSED
