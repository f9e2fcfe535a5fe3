"""A Redis that accepts connections and never answers (hung) holds no webhook request.

A listening socket nobody accepts on is such a Redis: the kernel completes
the connection, and no answer ever comes. The fault tests (tests/faults/) do
the same to a real redis-server with SIGSTOP.
"""

import socket
import threading
import time

import pytest
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from config.shared_redis import redis_availability_forget, redis_unavailable
from incidents.ingest.drain import delivery_processing_wake
from incidents.ingest.edge import source_rate_limit_hit
from incidents.models import Delivery
from tests.incidents.ingest.conftest import _publish_to
from tests.incidents.ingest.github import delivery, deployment_status_payload, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hung_redis(settings):
    """Point the shared cache and the broker's publish at a Redis that never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    settings.KINTSUGI_REDIS_TIMEOUT = 0.1
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    ):
        redis_availability_forget()
        _publish_to(url)
        try:
            yield url
        finally:
            _publish_to(None)
            redis_availability_forget()
            listener.close()


def within(seconds: float, function):
    """Run ``function`` on a thread; return its result and time, or fail when it has not returned in ``seconds``."""
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            outcome["result"] = function()
        finally:
            outcome["seconds"] = time.monotonic() - started
            connections.close_all()  # this thread's own connection, or the test database could not be dropped

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting on Redis after {seconds}s"
    return outcome["result"], outcome["seconds"]


def test_the_rate_limit_lets_requests_through_and_asks_a_hung_redis_once(hung_redis, github_source):
    admitted, first = within(5, lambda: source_rate_limit_hit(source=github_source, now=timezone.now()))
    assert admitted == 0
    assert redis_unavailable(hung_redis)
    again, second = within(5, lambda: source_rate_limit_hit(source=github_source, now=timezone.now()))
    assert again == 0
    assert first < 1.0 and second < 0.05, (first, second)


def test_waking_a_drain_gives_up_at_once_on_a_hung_redis(hung_redis):
    woken, seconds = within(5, delivery_processing_wake)
    assert woken is False, "nothing could be published: the sweeper or the next wake queues the drain"
    assert seconds < 1.0
    woken, seconds = within(5, delivery_processing_wake)
    assert woken is False and seconds < 0.05


def test_webhooks_answer_202_while_redis_hangs(hung_redis, github_source):
    answers = []
    for _ in range(10):
        headers, body = delivery("deployment_status", deployment_status_payload(state="failure", at=timezone.now()))
        response, seconds = within(5, lambda headers=headers, body=body: post(Client(), github_source, headers, body))
        answers.append((response.status_code, seconds))
    assert {status for status, _ in answers} == {202}
    assert max(seconds for _, seconds in answers[1:]) < 1.0, answers
    assert Delivery.objects.filter(status=Delivery.Status.RECEIVED).count() == 10
