"""Signature and token checks: official test vectors, and every way a check refuses a delivery."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from django.http.request import HttpHeaders

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import (
    BAD_AUTHORIZATION,
    BAD_SIGNATURE,
    BAD_SIGNATURE_FORMAT,
    BAD_TIMESTAMP,
    BAD_TOKEN,
    MISSING_HEADER,
    MISSING_SIGNATURE,
    NO_SIGNATURE_VERSION,
    STALE_TIMESTAMP,
    SignatureError,
)

from .helpers import KINDS

NOW = datetime(2025, 5, 2, 12, 30, 19, tzinfo=UTC)
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "tok_3J9s2Kq8Vx1mZ4pLr7Ty0Wc5"


def secret_for(kind: str) -> str:
    return WHSEC if kind in ("generic", "gitlab") else TOKEN


def refused(kind: str, headers, body: bytes, secrets, now=NOW) -> str:
    with pytest.raises(SignatureError) as caught:
        sender_for(kind).verify(headers, body, secrets, now)
    assert caught.value.status == 401
    return caught.value.message


# Official vectors ------------------------------------------------------------


def test_github_official_vector():
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    sender_for("github").verify(headers, b"Hello, World!", ["It's a Secret to Everybody"], NOW)
    assert refused("github", headers, b"Hello, World!", ["It's a secret to everybody"]) == BAD_SIGNATURE
    assert refused("github", headers, b"Hello, World!!", ["It's a Secret to Everybody"]) == BAD_SIGNATURE


STANDARD_VECTOR = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
STANDARD_BODY = b'{"test": 2432232314}'
STANDARD_NOW = datetime.fromtimestamp(1614265330, UTC)


def test_standard_webhooks_official_vector():
    sender_for("generic").verify(STANDARD_VECTOR, STANDARD_BODY, [WHSEC], STANDARD_NOW)
    # The vector's key without its prefix, as some tools store it, works as well.
    sender_for("generic").verify(STANDARD_VECTOR, STANDARD_BODY, [WHSEC.removeprefix("whsec_")], STANDARD_NOW)
    assert refused("generic", STANDARD_VECTOR, b'{"test":2432232314}', [WHSEC], STANDARD_NOW) == BAD_SIGNATURE


def test_gitlab_signing_token_uses_the_standard_webhooks_vector():
    sender_for("gitlab").verify(STANDARD_VECTOR, STANDARD_BODY, [WHSEC], STANDARD_NOW)


@pytest.mark.parametrize(
    ("body", "secret", "digest"),
    [
        (b"hello world", "secret", "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"),
        (b"lalala", "another-secret", "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00"),
        (
            b"an-important-request-payload",
            "hunter123",
            "9be2242094a9a8c00c64306f382a7f9d691de910b4a266f67bd314ef18ac49fa",
        ),
        (b"foo", "secret", "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"),
    ],
)
def test_circleci_official_vectors(body, secret, digest):
    sender_for("circleci").verify({"Circleci-Signature": f"v1={digest}"}, body, [secret], NOW)
    assert refused("circleci", {"Circleci-Signature": f"v1={digest}"}, body + b" ", [secret]) == BAD_SIGNATURE


# The body MLflow's json.dumps writes for its documented model_version.created example.
MLFLOW_BODY = (
    b'{"entity": "model_version", "action": "created", "timestamp": "2025-05-02T12:30:19.482913+00:00", '
    b'"data": {"name": "example_model", "version": "1", "source": "runs:/abcd1234abcd5678/model", '
    b'"run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"}, '
    b'"description": "An example model version"}}'
)
MLFLOW_HEADERS = {
    "X-MLflow-Delivery-Id": "2f0d7c1e-3b7a-4a55-9d7e-0c8e1f2a3b4c",
    "X-MLflow-Timestamp": "1746189019",
    "X-MLflow-Signature": "v1,YXKKqdmQse/AVzT24MZHnVDKyl28mR3KeA5WQhAVRQY=",
}
MLFLOW_NOW = datetime.fromtimestamp(1746189019, UTC)


def test_mlflow_self_computed_vector():
    sender_for("mlflow").verify(MLFLOW_HEADERS, MLFLOW_BODY, ["my-mlflow-webhook-secret"], MLFLOW_NOW)
    assert refused("mlflow", MLFLOW_HEADERS, MLFLOW_BODY, ["other-secret"], MLFLOW_NOW) == BAD_SIGNATURE


# Every sender: samples verify, with rotation and in Django's header mapping ----


@pytest.mark.parametrize("kind", KINDS)
def test_sample_verifies_with_either_of_two_rotated_secrets(kind):
    secret = secret_for(kind)
    other = "whsec_" + base64.b64encode(b"o" * 32).decode() if kind in ("generic", "gitlab") else "tok_other"
    headers, body = sender_for(kind).sample(secret, NOW)
    sender_for(kind).verify(headers, body, [other, secret], NOW)
    sender_for(kind).verify(headers, body, [secret, other], NOW)
    assert refused(kind, headers, body, [other]) in (BAD_SIGNATURE, BAD_TOKEN.format(header=_token_header(kind)))


def _token_header(kind: str) -> str:
    return "X-Gitlab-Token" if kind == "gitlab" else "Authorization"


@pytest.mark.parametrize("kind", KINDS)
def test_verify_reads_django_request_headers(kind):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    sender_for(kind).verify(HttpHeaders(meta), body, [secret], NOW)
    lower = {name.lower(): value for name, value in headers.items()}
    sender_for(kind).verify(lower, body, [secret], NOW)


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_body_is_refused(kind):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    tampered = body.replace(b"staging", b"stagin9")
    if kind in ("jenkins", "argocd", "argo_rollouts", "gitlab"):
        # Token senders do not sign the body (GitLab does when its signing token is used).
        headers.pop("X-Gitlab-Token", None)
    if kind in ("jenkins", "argocd", "argo_rollouts"):
        sender_for(kind).verify(headers, tampered, [secret], NOW)
    else:
        assert refused(kind, headers, tampered, [secret]) == BAD_SIGNATURE


MISSING = {
    "github": "X-Hub-Signature-256",
    "gitlab": "X-Gitlab-Token",
    "jenkins": "Authorization",
    "argocd": "Authorization",
    "argo_rollouts": "Authorization",
    "circleci": "Circleci-Signature",
    "mlflow": "X-MLflow-Signature",
    "generic": "webhook-signature",
}


@pytest.mark.parametrize("kind", KINDS)
def test_missing_signature_header_is_named(kind):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    kept = {
        name: value
        for name, value in headers.items()
        if name.lower() not in {MISSING[kind].lower(), "webhook-signature", "x-gitlab-token"}
    }
    assert refused(kind, kept, body, [secret]) == MISSING_SIGNATURE.format(header=MISSING[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_no_entry(kind):
    headers, body = sender_for(kind).sample(secret_for(kind), NOW)
    with pytest.raises(SignatureError):
        sender_for(kind).verify(headers, body, [], NOW)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hostile", ["", "   ", "é" * 40, "v1,", "sha256=", "v1=", "\x00", "x" * 100_000])
def test_hostile_signature_values_are_refused_cleanly(kind, hostile):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    for name in list(headers):
        if name.lower() in {MISSING[kind].lower(), "webhook-signature", "x-gitlab-token"}:
            headers[name] = hostile
    refused(kind, headers, body, [secret])


# Timestamps (Standard Webhooks, GitLab signing tokens, MLflow) -----------------

TIMESTAMPED = {"generic": "webhook-timestamp", "gitlab": "webhook-timestamp", "mlflow": "X-MLflow-Timestamp"}


@pytest.mark.parametrize("kind", sorted(TIMESTAMPED))
@pytest.mark.parametrize("offset", [timedelta(seconds=-300), timedelta(0), timedelta(seconds=300)])
def test_timestamp_within_five_minutes_is_accepted(kind, offset):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    sender_for(kind).verify(headers, body, [secret], NOW + offset)


@pytest.mark.parametrize("kind", sorted(TIMESTAMPED))
@pytest.mark.parametrize("offset", [timedelta(seconds=-301), timedelta(seconds=301), timedelta(days=30)])
def test_stale_or_future_timestamp_is_refused(kind, offset):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    message = refused(kind, headers, body, [secret], now=NOW + offset)
    assert message == STALE_TIMESTAMP.format(timestamp=int(NOW.timestamp()))


FULL_WIDTH_DIGITS = "\uff11\uff12\uff13"


@pytest.mark.parametrize("kind", sorted(TIMESTAMPED))
@pytest.mark.parametrize("value", ["soon", "1.5", "-1", FULL_WIDTH_DIGITS, "1e9", "99999999999999999999"])
def test_malformed_timestamp_is_refused(kind, value):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    headers[TIMESTAMPED[kind]] = value
    assert refused(kind, headers, body, [secret]) == BAD_TIMESTAMP.format(header=TIMESTAMPED[kind])


@pytest.mark.parametrize("kind", sorted(TIMESTAMPED))
def test_missing_id_or_timestamp_is_named(kind):
    secret = secret_for(kind)
    headers, body = sender_for(kind).sample(secret, NOW)
    id_header = "X-MLflow-Delivery-Id" if kind == "mlflow" else "webhook-id"
    for name in (id_header, TIMESTAMPED[kind]):
        kept = {key: value for key, value in headers.items() if key != name}
        assert refused(kind, kept, body, [secret]) == MISSING_HEADER.format(header=name)


def test_timestamp_is_part_of_what_is_signed():
    headers, body = sender_for("generic").sample(WHSEC, NOW)
    headers["webhook-timestamp"] = str(int(NOW.timestamp()) + 1)
    assert refused("generic", headers, body, [WHSEC]) == BAD_SIGNATURE


# Several signatures, versions -------------------------------------------------


def standard_signature(key_secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(key_secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_any_of_several_space_separated_signatures_verifies():
    headers = dict(STANDARD_VECTOR)
    other = standard_signature(
        "whsec_" + base64.b64encode(b"k" * 32).decode(), headers["webhook-id"], headers["webhook-timestamp"], b"x"
    )
    headers["webhook-signature"] = f"v1a,c2lnbmVk {other} {STANDARD_VECTOR['webhook-signature']}"
    sender_for("generic").verify(headers, STANDARD_BODY, [WHSEC], STANDARD_NOW)


def test_signatures_of_other_versions_only_are_refused():
    headers = {**STANDARD_VECTOR, "webhook-signature": "v1a,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}
    message = refused("generic", headers, STANDARD_BODY, [WHSEC], STANDARD_NOW)
    assert message == NO_SIGNATURE_VERSION.format(header="webhook-signature", version="v1")


def test_mlflow_tolerates_several_signatures():
    headers = {**MLFLOW_HEADERS, "X-MLflow-Signature": "v1,AAAA " + MLFLOW_HEADERS["X-MLflow-Signature"]}
    sender_for("mlflow").verify(headers, MLFLOW_BODY, ["my-mlflow-webhook-secret"], MLFLOW_NOW)


def test_circleci_requires_v1_and_accepts_it_among_others():
    digest = "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"
    sender_for("circleci").verify({"Circleci-Signature": f"v2=abc,v1={digest}"}, b"foo", ["secret"], NOW)
    message = refused("circleci", {"Circleci-Signature": f"v2={digest}"}, b"foo", ["secret"])
    assert message == NO_SIGNATURE_VERSION.format(header="Circleci-Signature", version="v1")


def test_github_legacy_sha1_header_shape_is_refused_with_the_expected_shape():
    headers = {"X-Hub-Signature-256": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"}
    message = refused("github", headers, b"Hello, World!", ["It's a Secret to Everybody"])
    assert message == BAD_SIGNATURE_FORMAT.format(header="X-Hub-Signature-256", shape="sha256=<hex digest>")


def test_github_signature_in_upper_case_hex_verifies():
    digest = "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"
    sender_for("github").verify(
        {"X-Hub-Signature-256": f"sha256={digest}"}, b"Hello, World!", ["It's a Secret to Everybody"], NOW
    )


# GitLab's token and signing token ----------------------------------------------


def test_gitlab_token_alone_is_enough():
    sender_for("gitlab").verify({"X-Gitlab-Token": WHSEC}, b"{}", [WHSEC], NOW)


def test_gitlab_wrong_token_is_refused():
    message = refused("gitlab", {"X-Gitlab-Token": WHSEC + "x"}, b"{}", [WHSEC])
    assert message == BAD_TOKEN.format(header="X-Gitlab-Token")


def test_gitlab_wrong_signature_is_refused_even_with_the_right_token():
    headers = {**STANDARD_VECTOR, "X-Gitlab-Token": WHSEC}
    assert refused("gitlab", headers, b'{"test": 1}', [WHSEC], STANDARD_NOW) == BAD_SIGNATURE


def test_gitlab_right_signature_with_wrong_token_is_refused():
    headers = {**STANDARD_VECTOR, "X-Gitlab-Token": "guess"}
    message = refused("gitlab", headers, STANDARD_BODY, [WHSEC], STANDARD_NOW)
    assert message == BAD_TOKEN.format(header="X-Gitlab-Token")


# Authorization: Bearer and Basic (Jenkins, Argo CD) -----------------------------


@pytest.mark.parametrize("kind", ["jenkins", "argocd"])
@pytest.mark.parametrize(
    "value",
    [
        f"Bearer {TOKEN}",
        f"bearer  {TOKEN}",
        "Basic " + base64.b64encode(f"jenkins:{TOKEN}".encode()).decode(),
        "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode(),
        "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode(),
    ],
)
def test_authorization_accepts_bearer_and_basic_password(kind, value):
    sender_for(kind).verify({"Authorization": value}, b"{}", [TOKEN], NOW)


@pytest.mark.parametrize("kind", ["jenkins", "argocd"])
@pytest.mark.parametrize(
    "value",
    ["Token abc", "Bearer", "Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest x"],
)
def test_malformed_authorization_is_explained(kind, value):
    assert refused(kind, {"Authorization": value}, b"{}", [TOKEN]) == BAD_AUTHORIZATION


@pytest.mark.parametrize("kind", ["jenkins", "argocd"])
def test_wrong_password_is_refused(kind):
    value = "Basic " + base64.b64encode(f"{TOKEN}:wrong".encode()).decode()
    assert refused(kind, {"Authorization": value}, b"{}", [TOKEN]) == BAD_TOKEN.format(header="Authorization")


def test_basic_password_in_latin1_is_read():
    secret = "pässwort"
    value = "Basic " + base64.b64encode(f"jenkins:{secret}".encode("latin-1")).decode()
    sender_for("jenkins").verify({"Authorization": value}, b"{}", [secret], NOW)
