"""Signature and token checks shared by the senders. Pure; every comparison is constant time.

Three schemes cover every sender:
- an HMAC-SHA256 of the raw body in a header (GitHub, CircleCI);
- Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}" with a replay window
  (generic, GitLab signing tokens, and MLflow under its own header names and key);
- a shared secret sent as is (GitLab's token, Authorization Bearer or Basic).
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime

from incidents.ingest.errors import (
    BAD_AUTHORIZATION,
    BAD_SIGNATURE,
    BAD_TIMESTAMP,
    BAD_TOKEN,
    MISSING_HEADER,
    MISSING_SIGNATURE,
    NO_SIGNATURE_VERSION,
    STALE_TIMESTAMP,
    SignatureError,
)
from incidents.ingest.parsing import header

TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
# More signatures than this in one header are ignored: rotation needs two or three.
MAX_SIGNATURES = 10


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def equal(left: str | bytes, right: str | bytes) -> bool:
    """Return whether two values are equal, in constant time, whatever characters they hold."""
    if isinstance(left, str):
        left = left.encode("utf-8", "replace")
    if isinstance(right, str):
        right = right.encode("utf-8", "replace")
    return hmac.compare_digest(left, right)


def require_header(headers: Mapping[str, str], name: str, *, signature: bool = False) -> str:
    value = header(headers, name)
    if value is None or not value.strip():
        template = MISSING_SIGNATURE if signature else MISSING_HEADER
        raise SignatureError(template.format(header=name))
    return value.strip()


def hex_body_signature_matches(candidates: Iterable[str], raw: bytes, secrets: list[str]) -> bool:
    """Return whether any candidate is the hex HMAC-SHA256 of ``raw`` under any secret."""
    expected = [hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest() for secret in secrets]
    matched = False
    for candidate in candidates:
        candidate = candidate.strip().lower()
        for digest in expected:
            # No early exit: the time taken does not tell which secret matched.
            matched |= equal(digest, candidate)
    return matched


def standard_webhooks_key(secret: str) -> bytes | None:
    """Return the HMAC key of a Standard Webhooks secret ("whsec_" + base64), or None if it is not one."""
    encoded = secret.removeprefix("whsec_")
    try:
        # Unpadded base64 is accepted, as the reference library does.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def check_timestamp(value: str, *, header_name: str, now: datetime) -> int:
    """Return the Unix time in ``value``; raise SignatureError if malformed or over 5 minutes from ``now``."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise SignatureError(BAD_TIMESTAMP.format(header=header_name))
    timestamp = int(value)
    if abs(now.timestamp() - timestamp) > TIMESTAMP_TOLERANCE_SECONDS:
        raise SignatureError(STALE_TIMESTAMP.format(timestamp=timestamp))
    return timestamp


def verify_signed_message(
    headers: Mapping[str, str],
    raw: bytes,
    *,
    keys: list[bytes],
    now: datetime,
    id_header: str = "webhook-id",
    timestamp_header: str = "webhook-timestamp",
    signature_header: str = "webhook-signature",
) -> None:
    """Check a Standard Webhooks style signature: v1,base64(HMAC(key, "{id}.{timestamp}.{body}")).

    The signature header may list several space-separated signatures (during a
    rotation); versions other than v1 are skipped. Raise SignatureError unless
    one of them was made with one of ``keys`` within 5 minutes of ``now``.
    """
    signature = require_header(headers, signature_header, signature=True)
    message_id = require_header(headers, id_header)
    timestamp = require_header(headers, timestamp_header)
    check_timestamp(timestamp, header_name=timestamp_header, now=now)
    signed = f"{message_id}.{timestamp}.".encode() + raw
    expected = [hmac_sha256(key, signed) for key in keys]
    candidates = []
    for entry in signature.split()[:MAX_SIGNATURES]:
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidates.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            candidates.append(b"")
    if not candidates:
        raise SignatureError(NO_SIGNATURE_VERSION.format(header=signature_header, version="v1"))
    matched = False
    for candidate in candidates:
        for digest in expected:
            matched |= equal(digest, candidate)
    if not matched:
        raise SignatureError(BAD_SIGNATURE)


def token_matches(token: str, secrets: list[str]) -> bool:
    """Return whether ``token`` equals one of ``secrets``."""
    matched = False
    for secret in secrets:
        matched |= equal(secret, token)
    return matched


def authorization_secret(headers: Mapping[str, str]) -> str:
    """Return the secret in an Authorization header: the Bearer token, or the Basic password (any user)."""
    value = require_header(headers, "Authorization", signature=True)
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(BAD_AUTHORIZATION) from None
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            # Jenkins encodes with the platform charset, which may not be UTF-8.
            text = decoded.decode("latin-1")
        _user, colon, password = text.partition(":")
        if colon:
            return password
    raise SignatureError(BAD_AUTHORIZATION)


def verify_authorization(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check ``Authorization: Bearer <secret>`` or ``Basic`` with the secret as password."""
    if not token_matches(authorization_secret(headers), secrets):
        raise SignatureError(BAD_TOKEN.format(header="Authorization"))
