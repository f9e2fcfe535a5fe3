"""Claims: a batch counts each attempt before making it, isolates what lost its worker, and bounds its bytes."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.ingest import batch as processing
from incidents.ingest.batch import (
    PROCESSING_LOST,
    WORKER_LOST_TOO_OFTEN,
    delivery_batch_claim,
    delivery_batch_process,
)
from incidents.ingest.drain import drain_countdown_most
from incidents.models import Delivery, Deployment
from tests.incidents.ingest.github import deployment_status_payload
from tests.incidents.ingest.test_batches import store

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=1)


def successes(count: int, *, padding: int = 0) -> list[tuple[str, dict]]:
    story = []
    for number in range(count):
        payload = deployment_status_payload(state="success", at=T0, deployment_id=100 + number)
        payload["padding"] = "x" * padding
        story.append(("deployment_status", payload))
    return story


def test_a_claim_counts_the_attempt_before_it_is_made(github_source, settings):
    settings.KINTSUGI_DELIVERY_CLAIM_SECONDS = 10
    ids = store(github_source, successes(2))
    claimed, until = delivery_batch_claim(limit=10, now=LATER)
    assert sorted(claimed) == sorted(ids)
    assert until == LATER + timedelta(seconds=10)
    # The worker is lost here: what the claim committed is all that is left.
    rows = set(Delivery.objects.values_list("status", "attempts", "error", "next_attempt_at"))
    assert rows == {(Delivery.Status.RECEIVED, 1, PROCESSING_LOST, until)}
    assert delivery_batch_claim(limit=10, now=LATER + timedelta(seconds=5)) == ([], None), "not due while claimed"


def test_processing_after_a_claim_takes_the_attempt_back(github_source):
    store(github_source, successes(3))
    result = delivery_batch_process(limit=10, now=LATER)
    assert result.claimed == 3
    rows = set(Delivery.objects.values_list("status", "attempts", "error", "next_attempt_at"))
    assert rows == {(Delivery.Status.PROCESSED, 0, "", None)}


def test_a_failure_after_a_claim_is_counted_once(github_source, settings, monkeypatch):
    settings.KINTSUGI_DELIVERY_RETRY_BACKOFF = 10

    def broken(**kwargs):
        raise RuntimeError("registry unreachable")

    monkeypatch.setattr(processing, "deployment_event_apply", broken)
    store(github_source, [("deployment_status", deployment_status_payload(state="failure", at=T0))])
    delivery_batch_process(limit=10, now=LATER)
    failed = Delivery.objects.get()
    assert (failed.status, failed.attempts, failed.error) == (
        Delivery.Status.RECEIVED,
        1,
        "RuntimeError: registry unreachable",
    )


def test_deliveries_of_a_lost_worker_are_processed_one_per_batch_when_their_claim_ends(github_source, settings):
    settings.KINTSUGI_DELIVERY_CLAIM_SECONDS = 10
    ids = store(github_source, successes(3))
    delivery_batch_claim(limit=10, now=LATER)  # and the worker is lost
    after = LATER + timedelta(seconds=11)
    batches = []
    while (result := delivery_batch_process(limit=10, now=after)).claimed:
        batches.append([delivery.pk for delivery in result.deliveries])
    assert batches == [[ids[0]], [ids[1]], [ids[2]]]
    # Processed, and the attempt its lost worker made stays counted.
    assert set(Delivery.objects.values_list("status", "attempts", "error")) == {(Delivery.Status.PROCESSED, 1, "")}
    assert Deployment.objects.count() == 3


def test_a_delivery_that_lost_its_worker_on_every_attempt_is_failed(github_source, settings):
    settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS = 3
    settings.KINTSUGI_DELIVERY_CLAIM_SECONDS = 10
    [poison] = store(github_source, successes(1))
    moment = LATER
    for _ in range(3):  # each claim's worker is lost
        assert delivery_batch_claim(limit=10, now=moment)[0] == [poison]
        moment += timedelta(seconds=11)
    [innocent] = store(github_source, successes(1), first=10)
    assert delivery_batch_claim(limit=10, now=moment)[0] == [innocent]
    failed = Delivery.objects.get(pk=poison)
    assert failed.status == Delivery.Status.FAILED
    assert failed.attempts == 3
    assert failed.error == WORKER_LOST_TOO_OFTEN.format(attempts=3)
    assert failed.next_attempt_at is None


def test_a_batch_claims_no_more_bytes_than_its_bound_and_one_delivery_at_least(github_source, settings):
    ids = store(github_source, successes(5, padding=40_000))
    size = len(Delivery.objects.get(pk=ids[0]).body)
    settings.KINTSUGI_DELIVERY_BATCH_BYTES = 2 * size + 10
    assert delivery_batch_process(limit=100, now=LATER).claimed == 2
    settings.KINTSUGI_DELIVERY_BATCH_BYTES = 10
    assert delivery_batch_process(limit=100, now=LATER).claimed == 1
    assert Delivery.objects.filter(status=Delivery.Status.PROCESSED).count() == 3


def test_drain_countdowns_with_redis_stay_under_the_visibility_timeout(settings):
    settings.KINTSUGI_BROKER_VISIBILITY_TIMEOUT = 45
    settings.KINTSUGI_DELIVERY_DRAIN_SECONDS = 20
    from config.celery import app

    kept = app.conf.broker_write_url
    app.conf.broker_write_url = "redis://127.0.0.1:6379/0"
    try:
        assert drain_countdown_most() == 12.5
        app.conf.broker_write_url = "sqla+sqlite:///broker.sqlite3"
        assert drain_countdown_most() == float("inf")
    finally:
        app.conf.broker_write_url = kept
