"""Sample deliveries for the "send test delivery" button, and the generic schema's two implementations."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import INVALID_FIELD, MISSING_FIELD, WRONG_TYPE, MalformedPayload
from incidents.ingest.schema import DATE_TIME_PROBLEM, load_schema

from .helpers import KINDS, assert_sane

NOW = datetime(2025, 5, 2, 12, 30, 19, tzinfo=UTC)


def secret_for(kind: str) -> str:
    return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" if kind in ("generic", "gitlab") else "tok_sample"


@pytest.mark.parametrize("kind", KINDS)
def test_sample_is_a_failed_deployment_of_demo_model_to_staging(kind):
    sender = sender_for(kind)
    headers, body = sender.sample(secret_for(kind), NOW)
    assert isinstance(body, bytes) and all(isinstance(value, str) for value in headers.values())
    sender.verify(headers, body, [secret_for(kind)], NOW)
    payload = sender.parse(headers, body)
    event = sender.adapt(sender.event_name(headers, payload), payload)
    assert_sane(event)
    if kind == "mlflow":
        assert (event.kind, event.registry.action, event.model_name, event.model_version) == (
            "registry",
            "version_created",
            "demo-model",
            "1",
        )
        return
    assert event.status == "failed"
    assert event.occurred_at is not None and abs((event.occurred_at - NOW).total_seconds()) < 1
    if kind == "circleci":
        # CircleCI payloads carry no model or environment; the title names them for a pattern to find.
        assert "demo-model v1" in event.title and "staging" in event.title
    else:
        assert (event.model_name, event.model_version, event.environment) == ("demo-model", "1", "staging")


# The generic schema: published JSON Schema and plain Python agree ---------------

VALID = {
    "type": "deployment.failed",
    "timestamp": "2025-05-02T12:30:19Z",
    "data": {"pipeline": "release", "run_id": "7", "model": {"name": "ranker", "version": 3}},
}


def with_change(path: str, value) -> dict:
    body = json.loads(json.dumps(VALID))
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return body


DELETE = object()
CASES = [
    (VALID, None),
    (with_change("data.run_id", 17), None),
    (with_change("data.environment", None), None),
    (with_change("data.model", None), None),
    (with_change("data.started_at", "2025-05-02T12:30:19.5+02:00"), None),
    (with_change("data.extra", {"anything": [1, 2]}), None),
    (with_change("type", DELETE), MISSING_FIELD.format(field="type")),
    (with_change("timestamp", DELETE), MISSING_FIELD.format(field="timestamp")),
    (with_change("data", DELETE), MISSING_FIELD.format(field="data")),
    (with_change("data.pipeline", DELETE), MISSING_FIELD.format(field="data.pipeline")),
    (with_change("data.model.name", DELETE), MISSING_FIELD.format(field="data.model.name")),
    (with_change("data", []), WRONG_TYPE.format(field="data", expected="an object", kind="array")),
    (
        with_change("data.run_id", ["7"]),
        WRONG_TYPE.format(field="data.run_id", expected="a string or an integer", kind="array"),
    ),
    (
        with_change("data.run_id", True),
        WRONG_TYPE.format(field="data.run_id", expected="a string or an integer", kind="boolean"),
    ),
    (with_change("data.pipeline", None), WRONG_TYPE.format(field="data.pipeline", expected="a string", kind="null")),
    (with_change("data.pipeline", ""), INVALID_FIELD.format(field="data.pipeline", problem="must not be empty")),
    (
        with_change("data.title", "t" * 301),
        INVALID_FIELD.format(field="data.title", problem="is longer than 300 characters"),
    ),
    (
        with_change("data.run_url", "javascript:alert(1)"),
        INVALID_FIELD.format(field="data.run_url", problem="must be an http(s) URL"),
    ),
    (
        with_change("timestamp", "2025-05-02 12:30:19"),
        INVALID_FIELD.format(field="timestamp", problem=DATE_TIME_PROBLEM),
    ),
    (
        with_change("data.finished_at", "2025-05-02T12:30:19"),
        INVALID_FIELD.format(field="data.finished_at", problem=DATE_TIME_PROBLEM),
    ),
    (
        with_change("data.model.version", 1.5),
        WRONG_TYPE.format(field="data.model.version", expected="a string, an integer or null", kind="number"),
    ),
    (
        with_change("data.model", "ranker"),
        WRONG_TYPE.format(field="data.model", expected="an object or null", kind="string"),
    ),
]


@pytest.mark.parametrize(("body", "message"), CASES)
def test_generic_validation_gives_precise_messages(body, message):
    sender = sender_for("generic")
    if message is None:
        assert_sane(sender.adapt("deployment.failed", body))
        return
    with pytest.raises(MalformedPayload) as caught:
        sender.adapt("deployment.failed", body)
    assert caught.value.message == message


@pytest.mark.parametrize(("body", "message"), CASES)
def test_published_schema_agrees_with_the_plain_python_check(body, message):
    validator = jsonschema.Draft202012Validator(load_schema("generic"))
    assert validator.is_valid(body) is (message is None)


def test_impossible_dates_match_the_pattern_but_are_refused():
    body = with_change("timestamp", "2025-02-30T12:00:00Z")
    with pytest.raises(MalformedPayload) as caught:
        sender_for("generic").adapt("deployment.failed", body)
    assert caught.value.message == INVALID_FIELD.format(field="timestamp", problem=DATE_TIME_PROBLEM)


def test_schema_is_a_valid_json_schema_listing_the_recorded_types():
    schema = load_schema("generic")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]["type"]["enum"]) == set(sender_for("generic").adapters)
