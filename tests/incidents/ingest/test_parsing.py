"""Reading bodies, content types, delivery ids, event names and timestamps."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from incidents.ingest import fields
from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import (
    EMPTY_BODY,
    MALFORMED_JSON,
    MISSING_FIELD,
    MISSING_FORM_PAYLOAD,
    NOT_AN_OBJECT,
    WRONG_CONTENT_TYPE,
    WRONG_TYPE,
    MalformedPayload,
    UnsupportedMediaType,
)
from incidents.ingest.events import EventKind, PipelineEvent
from incidents.ingest.parsing import DELIVERY_ID_LIMIT, EVENT_NAME_LIMIT, TOO_DEEP, bounded_event, bounded_id

from .helpers import FIXTURES, KINDS

JSON = {"Content-Type": "application/json"}
NOW = datetime(2025, 5, 2, 12, 30, 19, tzinfo=UTC)


def malformed(kind: str, headers, body: bytes) -> str:
    with pytest.raises(MalformedPayload) as caught:
        sender_for(kind).parse(headers, body)
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"a": 1,}',
            MALFORMED_JSON.format(error="Expecting property name enclosed in double quotes at line 1, column 9"),
        ),
        (b'{"a":\n  tru}', MALFORMED_JSON.format(error="Expecting value at line 2, column 3")),
        (b"[1, 2]", NOT_AN_OBJECT.format(kind="array")),
        (b'"text"', NOT_AN_OBJECT.format(kind="string")),
        (b"null", NOT_AN_OBJECT.format(kind="null")),
        (b"42", NOT_AN_OBJECT.format(kind="integer")),
        (b"", EMPTY_BODY),
        (b"  \n", EMPTY_BODY),
        (b'{"a": NaN}', MALFORMED_JSON.format(error="NaN is not a JSON number")),
        (b'{"a": "\xff\xfe"}', MALFORMED_JSON.format(error="the body is not UTF-8 text")),
        (b"[" * 100_000 + b"]" * 100_000, MALFORMED_JSON.format(error=TOO_DEEP)),
    ],
)
def test_bad_bodies_get_precise_messages(kind, body, message):
    assert malformed(kind, JSON, body) == message


def test_huge_integer_is_malformed_not_a_crash():
    message = malformed("generic", JSON, b'{"a": ' + b"9" * 5000 + b"}")
    assert message.startswith("Body is not valid JSON: Exceeds the limit")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml;charset=UTF-8", "multipart/form-data"])
def test_other_content_types_are_unsupported(kind, content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        sender_for(kind).parse({"Content-Type": content_type}, b"{}")
    assert caught.value.status == 415
    assert caught.value.message == WRONG_CONTENT_TYPE.format(content_type=content_type)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.x+json"],
)
def test_json_content_types_are_accepted(kind, content_type):
    assert sender_for(kind).parse({"content-type": content_type}, b'{"a": 1}') == {"a": 1}


# Argo CD and Argo Rollouts send no Content-Type unless configured to (one notification engine).
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in ("argocd", "argo_rollouts")])
def test_missing_content_type_is_unsupported(kind):
    with pytest.raises(UnsupportedMediaType):
        sender_for(kind).parse({}, b"{}")


def test_argocd_may_omit_the_content_type_when_the_body_is_json():
    assert sender_for("argocd").parse({}, b'{"event": "app.sync.failed"}') == {"event": "app.sync.failed"}
    with pytest.raises(MalformedPayload):
        sender_for("argocd").parse({}, b"sync failed for ranker")


def test_argocd_get_without_body_is_told_to_post():
    assert malformed("argocd", {}, b"") == EMPTY_BODY


def test_github_form_encoded_body_carries_json_in_payload():
    payload = json.loads((FIXTURES / "github" / "workflow_run__completed_failure.json").read_text())
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "workflow_run"}
    parsed = sender_for("github").parse(headers, raw)
    assert parsed == payload
    assert sender_for("github").adapt("workflow_run", parsed).external_id == "run:8812345678:2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"other=1", MISSING_FORM_PAYLOAD),
        (b"", MISSING_FORM_PAYLOAD),
        (
            b"payload=%7Bnope",
            MALFORMED_JSON.format(error="Expecting property name enclosed in double quotes at line 1, column 2"),
        ),
        (b"payload=%5B%5D", NOT_AN_OBJECT.format(kind="array")),
        (b"payload=\xff", "Form-encoded body cannot be read: the body is not UTF-8 text."),
        (
            b"&".join(b"f%d=1" % number for number in range(60)),
            "Form-encoded body cannot be read: Max number of fields exceeded.",
        ),
    ],
)
def test_github_bad_forms_get_precise_messages(body, message):
    assert malformed("github", {"Content-Type": "application/x-www-form-urlencoded"}, body) == message


def test_only_github_accepts_forms():
    with pytest.raises(UnsupportedMediaType):
        sender_for("generic").parse({"Content-Type": "application/x-www-form-urlencoded"}, b"payload=%7B%7D")


# Delivery ids and event names -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_samples_carry_a_fresh_delivery_id_each_call(kind):
    secret = "whsec_" + "A" * 43 + "=" if kind in ("generic", "gitlab") else "tok"
    ids = set()
    for _ in range(5):
        headers, body = sender_for(kind).sample(secret, NOW)
        payload = sender_for(kind).parse(headers, body)
        ids.add(sender_for(kind).delivery_id(headers, payload, body))
    assert len(ids) == 5
    assert all(0 < len(value) <= DELIVERY_ID_LIMIT for value in ids)


@pytest.mark.parametrize(
    ("kind", "headers", "expected"),
    [
        (
            "github",
            {"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ),
        ("gitlab", {"Idempotency-Key": "k-1", "webhook-id": "w-1", "X-Gitlab-Event-UUID": "u-1"}, "k-1"),
        ("gitlab", {"webhook-id": "w-1", "X-Gitlab-Event-UUID": "u-1"}, "w-1"),
        ("gitlab", {"X-Gitlab-Event-UUID": "u-1"}, "u-1"),
        (
            "mlflow",
            {"X-MLflow-Delivery-Id": "2f0d7c1e-3b7a-4a55-9d7e-0c8e1f2a3b4c"},
            "2f0d7c1e-3b7a-4a55-9d7e-0c8e1f2a3b4c",
        ),
        ("generic", {"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
    ],
)
def test_delivery_id_comes_from_the_senders_header(kind, headers, expected):
    assert sender_for(kind).delivery_id(headers, {}, b"{}") == expected


def test_circleci_delivery_id_is_the_body_id():
    payload = {"id": "3888f21b-eaa7-38e3-8f3d-75a63bba8895"}
    assert sender_for("circleci").delivery_id({}, payload, b"") == "3888f21b-eaa7-38e3-8f3d-75a63bba8895"


def test_jenkins_delivery_id_is_a_digest_of_name_number_and_phase():
    payload = json.loads((FIXTURES / "jenkins" / "finalized__failure.json").read_text())
    first = sender_for("jenkins").delivery_id({}, payload, b"")
    # Retried notification, same build and phase: same id; another phase: another id.
    assert sender_for("jenkins").delivery_id({}, json.loads(json.dumps(payload)), b"x") == first
    payload["build"]["phase"] = "COMPLETED"
    assert sender_for("jenkins").delivery_id({}, payload, b"") != first
    assert len(first) == 64


def test_argocd_delivery_id_tells_notifications_apart():
    payload = json.loads((FIXTURES / "argocd" / "app_sync_succeeded__labels.json").read_text())
    first = sender_for("argocd").delivery_id({}, payload, b"")
    assert sender_for("argocd").delivery_id({}, dict(payload), b"") == first
    degraded = {**payload, "event": "app.health.degraded"}
    later = {**payload, "sent_at": "2025-04-18T13:00:00Z"}
    assert (
        len(
            {
                first,
                sender_for("argocd").delivery_id({}, degraded, b""),
                sender_for("argocd").delivery_id({}, later, b""),
            }
        )
        == 3
    )


def test_missing_delivery_header_falls_back_to_a_digest_of_the_body():
    first = sender_for("github").delivery_id({}, {}, b'{"a": 1}')
    assert first.startswith("sha256:")
    assert first == sender_for("github").delivery_id({}, {}, b'{"a": 1}')
    assert first != sender_for("github").delivery_id({}, {}, b'{"a": 2}')


@pytest.mark.parametrize("value", ["x" * (DELIVERY_ID_LIMIT + 1), "id\nwith\nbreaks", "tab\tid"])
def test_unfit_delivery_ids_become_digests(value):
    bounded = bounded_id(value)
    assert bounded.startswith("sha256:")
    assert len(bounded) <= DELIVERY_ID_LIMIT
    assert bounded == bounded_id(value)


def test_event_names_are_printable_and_bounded():
    assert bounded_event("workflow_run\n") == "workflow_run"
    assert bounded_event("x" * 500) == "x" * EVENT_NAME_LIMIT
    assert bounded_event(12) == ""


def test_gitlab_event_name_falls_back_to_object_kind():
    assert sender_for("gitlab").event_name({}, {"object_kind": "build"}) == "Job Hook"
    assert sender_for("gitlab").event_name({}, {"object_kind": "note"}) == ""


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("jenkins", {"name": "x", "build": {}}, MISSING_FIELD.format(field="build.phase")),
        ("jenkins", {"name": "x", "build": "oops"}, MISSING_FIELD.format(field="build.phase")),
        ("argocd", {"app": "ranker"}, MISSING_FIELD.format(field="event")),
        ("mlflow", {"action": "created"}, MISSING_FIELD.format(field="entity")),
        (
            "mlflow",
            {"entity": "model_version", "action": ["created"]},
            WRONG_TYPE.format(field="action", expected="a string or an integer", kind="array"),
        ),
        ("generic", {"data": {}}, MISSING_FIELD.format(field="type")),
        ("generic", {"type": 3}, WRONG_TYPE.format(field="type", expected="a string", kind="integer")),
    ],
)
def test_event_name_from_body_requires_the_field(kind, payload, message):
    with pytest.raises(MalformedPayload) as caught:
        sender_for(kind).event_name({}, payload)
    assert caught.value.message == message


def test_unknown_event_is_unsupported_by_name():
    from incidents.ingest.errors import UnsupportedEvent

    with pytest.raises(UnsupportedEvent) as caught:
        sender_for("github").adapt("issues", {})
    assert caught.value.event == "issues"
    assert str(caught.value) == "Event 'issues' is not one Kintsugi records."


# Timestamps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-08-05T10:26:08.000Z", datetime(2021, 8, 5, 10, 26, 8, tzinfo=UTC)),
        ("2016-08-12 15:23:28 UTC", datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)),
        ("2021-04-28 21:50:00 +0200", datetime(2021, 4, 28, 19, 50, tzinfo=UTC)),
        ("2016-08-12T17:23:21+02:00", datetime(2016, 8, 12, 15, 23, 21, tzinfo=UTC)),
        ("2025-05-02T12:30:19.123456789Z", datetime(2025, 5, 2, 12, 30, 19, 123456, tzinfo=UTC)),
        ("2025-05-02T12:30:19,5+00:00", datetime(2025, 5, 2, 12, 30, 19, 500000, tzinfo=UTC)),
        ("2025-05-02T12:30:19", datetime(2025, 5, 2, 12, 30, 19, tzinfo=UTC)),
        ("2025-05-02T12:30", datetime(2025, 5, 2, 12, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_in_every_senders_format_become_aware_utc(text, expected):
    parsed = fields.parse_iso(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2025-13-45T00:00:00Z", "9999-12-31T23:59:59-14:00", 1746189019, None, ["2025"], "2" * 100],
)
def test_anything_else_is_no_timestamp(value):
    assert fields.parse_iso(value) is None


def test_epochs():
    assert fields.parse_epoch(1746188979000, milliseconds=True) == datetime(2025, 5, 2, 12, 29, 39, tzinfo=UTC)
    assert fields.parse_epoch(1746188979) == datetime(2025, 5, 2, 12, 29, 39, tzinfo=UTC)
    for value in (10**20, float("inf"), float("nan"), True, "1746188979", None):
        assert fields.parse_epoch(value, milliseconds=True) is None


# Events clean their text ------------------------------------------------------


def test_events_clip_text_to_columns_and_drop_unsafe_urls():
    event = PipelineEvent(
        kind=EventKind.PIPELINE,
        external_id="x" * 1000,
        title="Deploy\nranker\x00 v42 " + "y" * 400,
        environment="  production  ",
        run_url="javascript:alert(1)",
        message="line one\nline two",
    )
    assert event.external_id.startswith("sha256:") and len(event.external_id) <= 300
    assert event.title.startswith("Deploy ranker v42 ") and len(event.title) == 300 and event.title.endswith("…")
    assert event.environment == "production"
    assert event.run_url == ""
    assert event.message == "line one\nline two"
    assert PipelineEvent(kind=EventKind.PIPELINE, run_url="https://ci.example.com/" + "a" * 600).run_url == ""
    assert (
        PipelineEvent(kind=EventKind.PIPELINE, run_url="https://ci.example.com/r/1").run_url
        == "https://ci.example.com/r/1"
    )


def test_events_refuse_naive_datetimes():
    with pytest.raises(TypeError):
        PipelineEvent(kind=EventKind.PIPELINE, occurred_at=datetime(2025, 5, 2, 12, 30))
