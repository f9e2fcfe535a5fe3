"""The webhook edge: every refusal is a precise 4xx, accepted deliveries are committed before the 202."""

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connections
from django.test import Client, override_settings
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext

from config.database import insert_unless_conflict
from incidents.ingest import views
from incidents.ingest.batch import delivery_process
from incidents.ingest.edge import SourceChanged, delivery_receive
from incidents.ingest.errors import EMPTY_BODY, MALFORMED_JSON
from incidents.models import Delivery, Deployment, Incident
from incidents.services.sources import source_rotate_secret, source_update
from tests.factories import SourceFactory
from tests.incidents.ingest.github import delivery, deployment_status_payload, post, sign

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, 45, tzinfo=UTC)


def failure_delivery(**kwargs):
    return delivery("deployment_status", deployment_status_payload(state="failure", at=NOW), **kwargs)


def test_accepts_a_signed_delivery_and_stores_it_raw(client, github_source, django_capture_on_commit_callbacks):
    headers, body = failure_delivery(delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, github_source, headers, body)
    assert response.status_code == 202
    stored = Delivery.objects.get()
    assert response.json() == {"message": views.ACCEPTED, "delivery": stored.pk, "status": "accepted"}
    assert bytes(stored.body) == body
    assert stored.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert stored.event == "deployment_status"
    assert stored.content_type == "application/json"
    assert stored.headers["x-github-delivery"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert "x-hub-signature-256" not in {name.lower() for name in stored.headers}
    assert stored.status == Delivery.Status.RECEIVED
    assert len(callbacks) == 1


def test_same_delivery_id_again_is_a_duplicate_with_no_second_event(
    client, github_source, django_capture_on_commit_callbacks
):
    headers, body = failure_delivery()
    first = post(client, github_source, headers, body)
    with django_capture_on_commit_callbacks() as callbacks:
        again = post(client, github_source, headers, body)
    assert again.status_code == 200
    assert again.json() == {"message": views.DUPLICATE, "delivery": first.json()["delivery"], "status": "duplicate"}
    assert Delivery.objects.count() == 1
    assert callbacks == []


def test_trailing_slash_is_optional(client, github_source):
    headers, body = failure_delivery()
    response = post(client, github_source, headers, body, path=github_source.webhook_path.rstrip("/"))
    assert response.status_code == 202


def test_form_encoded_deliveries_are_accepted(client, github_source):
    headers, body = failure_delivery(form=True)
    assert post(client, github_source, headers, body).status_code == 202


@pytest.mark.parametrize("public_id", ["nope", "a" * 65, "bad\x00id", "%00", "x' OR 1=1 --"])
def test_unknown_source_is_404(client, github_source, public_id):
    headers, body = failure_delivery()
    response = post(client, github_source, headers, body, path=f"/hooks/{public_id}/")
    assert response.status_code == 404
    assert response.json()["message"] == views.UNKNOWN_SOURCE


def test_inactive_source_is_404(client, github_source):
    github_source.is_active = False
    github_source.save()
    headers, body = failure_delivery()
    assert post(client, github_source, headers, body).status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "delete", "head"])
def test_other_methods_are_405_naming_post(client, github_source, method):
    response = getattr(client, method)(github_source.webhook_path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "head":
        assert response.json()["message"] == views.METHOD_NOT_ALLOWED.format(method=method.upper())
        assert "POST" in response.json()["message"]


def test_missing_signature_is_401(client, github_source):
    headers, body = failure_delivery()
    del headers["X-Hub-Signature-256"]
    response = post(client, github_source, headers, body)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["message"]
    assert not Delivery.objects.exists()


def test_wrong_secret_is_401(client, github_source):
    headers, body = failure_delivery(secret="not the secret")
    response = post(client, github_source, headers, body)
    assert response.status_code == 401
    assert response.json()["message"]
    assert not Delivery.objects.exists()


def test_body_changed_after_signing_is_401(client, github_source):
    headers, body = failure_delivery()
    response = post(client, github_source, headers, body.replace(b"failure", b"success"))
    assert response.status_code == 401


def test_rotated_secret_works_for_the_grace_period_only(client, github_source):
    with time_machine.travel(NOW, tick=False) as traveller:
        new_secret = source_rotate_secret(source=github_source, grace=timedelta(hours=1))
        old_headers, old_body = failure_delivery()
        assert post(client, github_source, old_headers, old_body).status_code == 202
        headers, body = failure_delivery(secret=new_secret)
        assert post(client, github_source, headers, body).status_code == 202
        traveller.shift(timedelta(hours=1, seconds=1))
        old_headers, old_body = failure_delivery()
        assert post(client, github_source, old_headers, old_body).status_code == 401


def test_malformed_json_is_400_with_a_message_naming_the_problem(client, github_source):
    headers, body = delivery("workflow_run", body=b'{"action": "completed", ')
    response = post(client, github_source, headers, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(MALFORMED_JSON.split("{")[0])


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b"\xff\xfe\x00garbage",
        b"   ",
        b'"just a string"',
        b"{" * 100_000,
        b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_hostile_bodies_are_400_never_500(client, github_source, body):
    headers, body = delivery("workflow_run", body=body)
    response = post(client, github_source, headers, body)
    assert response.status_code == 400
    assert response.json()["message"]


def test_wrong_content_type_is_415(client, github_source):
    headers, body = failure_delivery()
    headers["Content-Type"] = "text/plain"
    response = post(client, github_source, headers, body)
    assert response.status_code == 415
    assert "text/plain" in response.json()["message"]


class CountingStream(io.RawIOBase):
    """A request body that would go on for ever, counting what is read of it."""

    def __init__(self):
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"x" * len(buffer)
        self.bytes_read += len(buffer)
        return len(buffer)


def wsgi_post(path: str, stream, content_length: int, **extra):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(content_length),
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **extra,
    }
    # The test client's handler: the full middleware stack, without closing the test's database connection.
    response = ClientHandler(enforce_csrf_checks=True)(environ)
    return response.status_code, json.loads(response.content)


def test_empty_signed_json_body_is_400(github_source):
    headers, _ = delivery("workflow_run", body=b"")
    extra = {
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if name != "Content-Type"
    }
    status, answer = wsgi_post(github_source.webhook_path, io.BytesIO(b""), content_length=0, **extra)
    assert status == 400
    assert answer["message"] == EMPTY_BODY


@override_settings(KINTSUGI_WEBHOOK_MAX_BYTES=1024 * 1024)
def test_declared_oversized_body_is_413_without_reading_it(github_source):
    stream = CountingStream()
    status, answer = wsgi_post(github_source.webhook_path, stream, content_length=50 * 1024 * 1024)
    assert status == 413
    assert answer["message"] == views.TOO_LARGE.format(size=50 * 1024 * 1024, limit=1024 * 1024)
    assert stream.bytes_read == 0


@override_settings(KINTSUGI_WEBHOOK_MAX_BYTES=1000)
def test_body_just_over_the_limit_is_413_reading_at_most_one_byte_more(github_source, monkeypatch):
    # A Content-Length the check cannot trust (absent from the comparison) still bounds the read.
    monkeypatch.setattr(views, "_content_length", lambda request: None)
    stream = CountingStream()
    status, answer = wsgi_post(github_source.webhook_path, stream, content_length=10_000)
    assert status == 413
    assert answer["message"] == views.TOO_LARGE_STREAM.format(limit=1000)
    assert stream.bytes_read <= 64 * 1024  # one buffered read, never the whole 10 kB body beyond it


def test_bodies_above_djangos_upload_memory_limit_are_accepted_below_ours(client, github_source, settings):
    assert settings.KINTSUGI_WEBHOOK_MAX_BYTES > 3 * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    payload = deployment_status_payload(state="failure", at=NOW)
    payload["deployment_status"]["description"] = "x" * (3 * 1024 * 1024)
    headers, body = delivery("deployment_status", payload)
    assert post(client, github_source, headers, body).status_code == 202


def test_rate_limit_is_429_with_retry_after_until_the_next_minute(client, team):
    source = SourceFactory(team=team, rate_limit_per_minute=2)
    with time_machine.travel(NOW, tick=False) as traveller:
        for _ in range(2):
            headers, body = failure_delivery()
            assert post(client, source, headers, body).status_code == 202
        headers, body = failure_delivery()
        response = post(client, source, headers, body)
        assert response.status_code == 429
        assert response["Retry-After"] == "15"
        assert response.json()["retry_after"] == 15
        assert response.json()["message"] == views.RATE_LIMITED.format(limit=2, retry_after=15)
        traveller.shift(timedelta(seconds=15))
        assert post(client, source, headers, body).status_code == 202
    assert Delivery.objects.count() == 3


def test_rate_limits_are_per_source(client, team):
    busy = SourceFactory(team=team, rate_limit_per_minute=1)
    quiet = SourceFactory(team=team, rate_limit_per_minute=1)
    with time_machine.travel(NOW, tick=False):
        for source, expected in ((busy, 202), (busy, 429), (quiet, 202)):
            headers, body = failure_delivery()
            assert post(client, source, headers, body).status_code == expected


def test_unsupported_events_are_stored_then_ignored(client, github_source):
    headers, body = delivery("issues", {"action": "opened", "issue": {"number": 1}})
    response = post(client, github_source, headers, body)
    assert response.status_code == 202
    processed = delivery_process(delivery_id=response.json()["delivery"])
    assert processed.status == Delivery.Status.IGNORED
    assert "issues" in processed.error


def test_ping_is_processed_without_a_deployment(client, github_source):
    headers, body = delivery("ping", {"zen": "Design for failure.", "hook_id": 292047, "hook": {"type": "Repository"}})
    response = post(client, github_source, headers, body)
    assert response.status_code == 202
    processed = delivery_process(delivery_id=response.json()["delivery"])
    assert processed.status == Delivery.Status.PROCESSED
    assert not Deployment.objects.exists()


def test_nul_characters_in_headers_are_dropped(client, github_source):
    headers, body = failure_delivery(delivery_id="abc\x00def")
    response = post(client, github_source, headers, body)
    assert response.status_code in (202, 400)
    if response.status_code == 202:
        assert "\x00" not in Delivery.objects.get().delivery_id


def test_official_github_signature_vector():
    assert sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.django_db(transaction=True)
def test_delivery_is_committed_before_the_answer(github_source):
    headers, body = failure_delivery()
    response = post(Client(), github_source, headers, body)
    assert response.status_code == 202
    seen = {}

    def look_from_another_connection():
        seen["exists"] = Delivery.objects.filter(pk=response.json()["delivery"]).exists()
        connections.close_all()

    thread = threading.Thread(target=look_from_another_connection)
    thread.start()
    thread.join()
    assert seen["exists"] is True


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_copies_store_one_delivery_and_one_deployment(github_source):
    headers, body = failure_delivery()
    barrier = threading.Barrier(50)
    answers = []
    lock = threading.Lock()

    def send():
        client = Client()
        barrier.wait()
        response = post(client, github_source, headers, body)
        with lock:
            answers.append((response.status_code, response.json()))
        connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 49 + [202], answers[:3]
    assert {answer["delivery"] for _, answer in answers} == {Delivery.objects.get().pk}
    for _ in range(2):
        delivery_process(delivery_id=Delivery.objects.get().pk)
    assert Deployment.objects.count() == 1
    assert Incident.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_accepted_delivery_costs_at_most_three_queries(github_source, django_assert_max_num_queries):
    headers, body = failure_delivery()
    # The source and its secrets, the rate counter (in the database without Redis), the insert.
    with django_assert_max_num_queries(3):
        response = post(Client(), github_source, headers, body)
    assert response.status_code == 202


def test_a_source_kept_in_memory_costs_no_read_of_it(github_source):
    first_headers, first_body = failure_delivery(delivery_id="first")
    assert post(Client(), github_source, first_headers, first_body).status_code == 202
    headers, body = failure_delivery(delivery_id="second")
    with CaptureQueriesContext(connections["default"]) as queries:
        response = post(Client(), github_source, headers, body)
    assert response.status_code == 202
    # The rate counter (in the database without Redis) and the delivery: no read of the source.
    statements = [query["sql"].lstrip().split()[0].upper() for query in queries.captured_queries]
    assert "INSERT" in statements and "SELECT" not in statements, statements
    assert Delivery.objects.count() == 2


def warm(client, source) -> None:
    """Have this process read the source, as any delivery before the change would have."""
    headers, body = failure_delivery(delivery_id="warm-up")
    assert post(client, source, headers, body).status_code == 202


def test_a_secret_revoked_while_the_source_is_in_memory_is_refused_at_once(client, github_source):
    warm(client, github_source)
    source_rotate_secret(source=github_source, grace=timedelta(0))
    headers, body = failure_delivery(delivery_id="signed-with-the-old-secret")
    response = post(client, github_source, headers, body)
    assert response.status_code == 401
    assert not Delivery.objects.filter(delivery_id="signed-with-the-old-secret").exists()


def test_a_duplicate_signed_with_a_revoked_secret_is_refused(client, github_source):
    headers, body = failure_delivery(delivery_id="redelivered")
    assert post(client, github_source, headers, body).status_code == 202
    source_rotate_secret(source=github_source, grace=timedelta(0))
    assert post(client, github_source, headers, body).status_code == 401


def test_a_secret_issued_while_the_source_is_in_memory_works_at_once(client, github_source):
    warm(client, github_source)
    new_secret = source_rotate_secret(source=github_source, grace=timedelta(hours=1))
    headers, body = failure_delivery(secret=new_secret, delivery_id="signed-with-the-new-secret")
    assert post(client, github_source, headers, body).status_code == 202


def test_a_source_deactivated_or_deleted_while_in_memory_is_404_at_once(client, team):
    deactivated, deleted = SourceFactory(team=team, name="one"), SourceFactory(team=team, name="two")
    for source in (deactivated, deleted):
        warm(client, source)
    source_update(source=deactivated, is_active=False)
    path = deleted.webhook_path
    deleted.delete()
    for source, delivery_path in ((deactivated, None), (deleted, path)):
        headers, body = failure_delivery(delivery_id="after-the-change")
        response = post(client, source, headers, body, path=delivery_path)
        assert response.status_code == 404
        assert response.json()["message"] == views.UNKNOWN_SOURCE
    assert not Delivery.objects.filter(delivery_id="after-the-change").exists()


def test_a_source_changed_while_in_memory_is_read_again_and_the_delivery_stored(client, github_source):
    warm(client, github_source)
    source_update(source=github_source, rate_limit_per_minute=1)
    headers, body = failure_delivery(delivery_id="after-the-change")
    assert post(client, github_source, headers, body).status_code == 202  # checked against the source as it is
    headers, body = failure_delivery(delivery_id="over-the-new-limit")
    response = post(client, github_source, headers, body)
    assert response.status_code == 429  # the new limit, read again with the source
    assert response.json()["message"] == views.RATE_LIMITED.format(limit=1, retry_after=response["Retry-After"])


def test_a_delivery_checked_against_an_older_version_of_its_source_is_not_stored(github_source):
    version = github_source.edge_version
    source_update(source=github_source, rate_limit_per_minute=10)
    with pytest.raises(SourceChanged):
        receive_copy(github_source, edge_version=version)
    assert not Delivery.objects.exists()
    delivery, created = receive_copy(github_source, edge_version=github_source.edge_version)
    assert created and Delivery.objects.get().pk == delivery.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="only a server connection can die")
def test_a_connection_that_died_between_requests_costs_no_delivery(github_source, monkeypatch):
    import psycopg

    database = connections["default"]
    client = Client()
    headers, body = failure_delivery(delivery_id="before")
    assert post(client, github_source, headers, body).status_code == 202
    checks = []
    real_is_usable = type(database).is_usable
    monkeypatch.setattr(type(database), "is_usable", lambda self: checks.append(1) or real_is_usable(self))
    database.health_check_done = False  # a new request, as the server starts one
    headers, body = failure_delivery(delivery_id="healthy")
    assert post(client, github_source, headers, body).status_code == 202
    assert checks == [], "the insert itself tells whether the connection lives"
    backend = database.connection.info.backend_pid
    with psycopg.connect(_conninfo(database), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    database.health_check_done = False
    headers, body = failure_delivery(delivery_id="after")
    response = post(client, github_source, headers, body)
    assert response.status_code == 202
    assert checks == [1]
    assert database.connection.info.backend_pid != backend
    assert set(Delivery.objects.values_list("delivery_id", flat=True)) == {"before", "healthy", "after"}


def _conninfo(database) -> str:
    params = database.get_connection_params()
    return " ".join(f"{key}={params[key]}" for key in ("host", "port", "user", "dbname") if params.get(key))


def receive_copy(source, delivery_id="run-7", edge_version=None):
    return delivery_receive(
        source=source,
        delivery_id=delivery_id,
        event="workflow_run",
        headers={"x-github-event": "workflow_run"},
        content_type="application/json",
        body=b"{}",
        received_at=NOW,
        edge_version=edge_version,
    )


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_is_settled_by_the_insert_itself(github_source, django_assert_num_queries):
    first, created = receive_copy(github_source)
    assert created
    with django_assert_num_queries(2):  # the insert that inserts nothing, then the stored copy
        again, created = receive_copy(github_source)
    assert (again.pk, created) == (first.pk, False)
    copy = {"source_id": github_source.pk, "delivery_id": "run-7", "body": b"{}", "received_at": NOW}
    assert insert_unless_conflict(Delivery, copy, conflict=("source", "delivery_id")) is None  # raises nothing


def test_a_received_delivery_is_returned_as_stored(github_source):
    delivery, created = receive_copy(github_source, delivery_id="x" * 250)
    assert created
    stored = Delivery.objects.get()
    assert delivery.pk == stored.pk
    assert delivery.source is github_source
    for field in Delivery._meta.concrete_fields:
        assert getattr(delivery, field.attname) == getattr(stored, field.attname), field.name
    assert (stored.delivery_id, stored.status, stored.next_attempt_at) == ("x" * 200, Delivery.Status.RECEIVED, NOW)
    delivery.status = Delivery.Status.IGNORED
    delivery.save(update_fields=["status"])  # the returned delivery is a saved row, not a new one
    assert Delivery.objects.get().status == Delivery.Status.IGNORED


def test_a_duplicate_inside_a_transaction_leaves_it_usable(github_source):
    first, _ = receive_copy(github_source)
    again, created = receive_copy(github_source)
    assert (again.pk, created) == (first.pk, False)
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_broker_down_still_answers_202_quickly(github_source, broker_down):
    headers, body = failure_delivery()
    started = time.monotonic()
    response = post(Client(), github_source, headers, body)
    elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert elapsed < 3, f"answered in {elapsed:.2f}s"
    assert Delivery.objects.get().status == Delivery.Status.RECEIVED
