"""What the edge refuses, and what it answers when the database is gone.

The edge refuses exactly what the worker could not turn into an event (too
deep, against the generic schema), reads chunked bodies, counts only
authenticated requests against a source's rate limit, and answers 503 with
Retry-After, never a 400 or a 500, whenever the database fails under it.
"""

import io
import json
import sys
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents.ingest import views
from incidents.ingest.adapters.generic import example_body, sign
from incidents.ingest.batch import delivery_process
from incidents.ingest.errors import INVALID_FIELD, MISSING_FIELD, WRONG_TYPE
from incidents.ingest.parsing import MALFORMED_JSON, MAX_NESTING, TOO_DEEP
from incidents.models import Delivery, Deployment
from incidents.services.sources import source_rotate_secret
from tests.factories import SourceFactory
from tests.incidents.ingest.github import delivery, deployment_status_payload, post
from tests.incidents.ingest.test_receive import wsgi_post

pytestmark = pytest.mark.django_db

GENERIC_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def nested(depth: int) -> list:
    """Return arrays nested ``depth`` deep."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def failure_payload() -> dict:
    return deployment_status_payload(state="failure", at=timezone.now())


def as_environ(headers: dict[str, str]) -> dict[str, str]:
    return {
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if name != "Content-Type"
    }


# -- Chunked bodies ---------------------------------------------------------------------------------------------


def test_a_chunked_body_ended_by_the_server_is_read_and_stored(github_source):
    headers, body = delivery("deployment_status", failure_payload())
    # As gunicorn passes a chunked request: no Content-Length, the stream ended after the last chunk.
    status, answer = wsgi_post(
        github_source.webhook_path,
        io.BytesIO(body),
        content_length=0,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input_terminated": True},
        **as_environ(headers),
    )
    assert (status, answer["status"]) == (202, "accepted")
    assert bytes(Delivery.objects.get().body) == body


def test_an_oversized_chunked_body_is_413(github_source, settings):
    settings.KINTSUGI_WEBHOOK_MAX_BYTES = 1000
    headers, body = delivery("deployment_status", {**failure_payload(), "padding": "x" * 2000})
    status, answer = wsgi_post(
        github_source.webhook_path,
        io.BytesIO(body),
        content_length=0,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input_terminated": True},
        **as_environ(headers),
    )
    assert status == 413
    assert answer["message"] == views.TOO_LARGE_STREAM.format(limit=1000)
    assert not Delivery.objects.exists()


def test_a_chunked_body_the_server_does_not_end_is_411_not_read_as_empty(github_source):
    # Django's development server passes a chunked body on without ending it: it cannot be read safely.
    headers, body = delivery("deployment_status", failure_payload())
    status, answer = wsgi_post(
        github_source.webhook_path,
        io.BytesIO(body),
        content_length=0,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **as_environ(headers),
    )
    assert status == 411
    assert answer["message"] == views.LENGTH_REQUIRED


# -- Nesting ----------------------------------------------------------------------------------------------------


def test_a_body_nested_deeper_than_the_limit_is_400_at_the_edge(client, github_source):
    headers, body = delivery("deployment_status", {**failure_payload(), "deep": nested(955)})
    response = post(client, github_source, headers, body)
    assert response.status_code == 400
    assert response.json()["message"] == MALFORMED_JSON.format(error=TOO_DEEP)
    assert not Delivery.objects.exists()


def test_a_body_nested_to_the_limit_is_accepted_and_read_by_a_worker_with_a_deep_stack(client, github_source):
    headers, body = delivery("deployment_status", {**failure_payload(), "deep": nested(MAX_NESTING - 1)})
    response = post(client, github_source, headers, body)
    assert response.status_code == 202

    def deep_stack(frames: int):
        # A worker's task runs under more frames than a web request: the parser must not need them.
        return deep_stack(frames - 1) if frames else delivery_process(delivery_id=response.json()["delivery"])

    processed = deep_stack(sys.getrecursionlimit() - MAX_NESTING - 150)
    assert (processed.status, processed.error) == (Delivery.Status.PROCESSED, "")
    assert Deployment.objects.count() == 1


# -- The generic schema at the edge -----------------------------------------------------------------------------


@pytest.fixture
def generic_source(team):
    return SourceFactory(team=team, kind="generic", secret=GENERIC_SECRET)


def post_generic(source, payload: dict):
    raw = json.dumps(payload).encode()
    message_id, timestamp = f"msg_{uuid.uuid4().hex}", str(int(timezone.now().timestamp()))
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(GENERIC_SECRET, message_id, timestamp, raw),
    }
    return Client().post(source.webhook_path, data=raw, content_type="application/json", headers=headers)


def generic_body(**data) -> dict:
    body = example_body(timezone.now())
    body["data"].update(data)
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "deployment.failed", "timestamp": "2026-03-02T09:00:00Z"}, MISSING_FIELD.format(field="data")),
        (
            generic_body(run_url="javascript:alert(1)"),
            INVALID_FIELD.format(field="data.run_url", problem="must be an http(s) URL"),
        ),
        (
            generic_body(pipeline=17),
            WRONG_TYPE.format(field="data.pipeline", expected="a string", kind="integer"),
        ),
        (
            generic_body(environment=["staging"]),
            WRONG_TYPE.format(field="data.environment", expected="a string or null", kind="array"),
        ),
        (
            generic_body(model={"version": "3"}),
            MISSING_FIELD.format(field="data.model.name"),
        ),
    ],
    ids=["no-data", "javascript-url", "pipeline-number", "environment-array", "model-without-name"],
)
def test_a_generic_body_against_the_schema_is_400_naming_the_field(generic_source, body, message):
    response = post_generic(generic_source, body)
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert not Delivery.objects.exists()


def test_a_generic_body_of_a_type_kintsugi_ignores_is_still_accepted(generic_source):
    response = post_generic(generic_source, {"type": "build.finished", "anything": ["goes"]})
    assert response.status_code == 202
    assert delivery_process(delivery_id=response.json()["delivery"]).status == Delivery.Status.IGNORED


def test_a_valid_generic_body_is_accepted(generic_source):
    assert post_generic(generic_source, example_body(timezone.now())).status_code == 202


# -- The rate limit counts only authenticated requests ----------------------------------------------------------


def test_unsigned_junk_spends_none_of_a_sources_rate_limit(client, team):
    source = SourceFactory(team=team, rate_limit_per_minute=5)
    for _ in range(5):
        headers, body = delivery("deployment_status", failure_payload())
        del headers["X-Hub-Signature-256"]
        assert post(client, source, headers, body).status_code == 401
    for _ in range(3):
        headers, body = delivery("deployment_status", failure_payload(), secret="a guess")
        assert post(client, source, headers, body).status_code == 401
    headers, body = delivery("deployment_status", failure_payload())
    assert post(client, source, headers, body).status_code == 202


# -- The database down ------------------------------------------------------------------------------------------


@contextmanager
def database_unreachable():
    """Point the default connection at a database that cannot be opened, then back."""
    settings = connection.settings_dict
    kept = {"NAME": settings["NAME"], "PORT": settings.get("PORT"), "HOST": settings.get("HOST")}
    connection.close()
    if connection.vendor == "sqlite":
        settings["NAME"] = "/nonexistent-directory/kintsugi.sqlite3"
    else:
        settings["HOST"], settings["PORT"] = "127.0.0.1", "1"  # nothing listens on port 1
    try:
        yield
    finally:
        connection.close()
        settings.update(kept)


def assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(views.UNAVAILABLE_RETRY_AFTER)
    assert response.json()["message"] == views.STORAGE_UNAVAILABLE


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_for_a_source_not_in_memory_and_for_unknown_urls(github_source):
    headers, body = delivery("deployment_status", failure_payload())
    with database_unreachable():
        assert_unavailable(post(Client(), github_source, headers, body))
        assert_unavailable(post(Client(), github_source, headers, body, path="/hooks/no-such-source/"))
    assert post(Client(), github_source, headers, body).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_for_a_source_in_memory(github_source):
    headers, body = delivery("deployment_status", failure_payload())
    assert post(Client(), github_source, headers, body).status_code == 202  # the source is now in memory
    headers, body = delivery("deployment_status", failure_payload())
    with database_unreachable():
        assert_unavailable(post(Client(), github_source, headers, body))
    assert post(Client(), github_source, headers, body).status_code == 202
    assert Delivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_delivery_signed_with_a_new_secret_while_the_database_is_down_is_503_not_400(github_source):
    headers, body = delivery("deployment_status", failure_payload())
    assert post(Client(), github_source, headers, body).status_code == 202  # kept in memory, old secret only
    new_secret = source_rotate_secret(source=github_source, grace=timedelta(hours=1))
    headers, body = delivery("deployment_status", failure_payload(), secret=new_secret)
    with database_unreachable():
        assert_unavailable(post(Client(), github_source, headers, body))
    assert post(Client(), github_source, headers, body).status_code == 202
