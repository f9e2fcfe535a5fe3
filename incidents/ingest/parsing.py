"""Reading a delivery's frame: headers, content type, JSON or form body, delivery ids. Pure."""

import hashlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

from incidents.ingest.errors import (
    EMPTY_BODY,
    MALFORMED_FORM,
    MALFORMED_JSON,
    MISSING_FORM_PAYLOAD,
    NOT_AN_OBJECT,
    WRONG_CONTENT_TYPE,
    MalformedPayload,
    UnsupportedMediaType,
)

DELIVERY_ID_LIMIT = 200  # Delivery.delivery_id
EVENT_NAME_LIMIT = 120  # Delivery.event
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Arrays and objects nested deeper than this are refused. The limit is ours, not the stack's: Python's parser
# stops where the caller's stack runs out, which is deeper in a web request than in a worker's task, so the
# edge would accept bodies the worker cannot read. Real payloads nest a dozen levels.
MAX_NESTING = 200
TOO_DEEP = f"arrays or objects are nested more than {MAX_NESTING} levels deep"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return the value of header ``name`` whatever its case in ``headers``, or None."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        for key, candidate in headers.items():
            if key.lower() == wanted:
                return candidate
    return value


def media_type(headers: Mapping[str, str]) -> str:
    """Return the lower-cased media type of the Content-Type header without parameters, or ""."""
    value = header(headers, "Content-Type") or ""
    return value.split(";", 1)[0].strip().lower()


def is_json_media_type(value: str) -> bool:
    return value == "application/json" or (value.startswith("application/") and value.endswith("+json"))


def require_json_content_type(headers: Mapping[str, str], *, allow_missing: bool = False) -> None:
    """Raise UnsupportedMediaType unless the body is declared JSON (or undeclared, when allowed)."""
    kind = media_type(headers)
    if is_json_media_type(kind) or (allow_missing and not kind):
        return
    shown = (header(headers, "Content-Type") or "")[:100]
    raise UnsupportedMediaType(WRONG_CONTENT_TYPE.format(content_type=shown))


def json_kind(value) -> str:
    """Return the JSON name of a decoded value's type ("array", "string"…), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def load_json_object(raw: bytes | str) -> dict:
    """Return the JSON object in ``raw``; raise MalformedPayload naming what is wrong and where."""
    if not raw.strip():
        raise MalformedPayload(EMPTY_BODY)
    try:
        payload = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        problem = f"{error.msg} at line {error.lineno}, column {error.colno}"
        raise MalformedPayload(MALFORMED_JSON.format(error=problem)) from None
    except UnicodeDecodeError:
        raise MalformedPayload(MALFORMED_JSON.format(error="the body is not UTF-8 text")) from None
    except RecursionError:
        raise MalformedPayload(MALFORMED_JSON.format(error=TOO_DEEP)) from None
    except ValueError as error:  # NaN/Infinity, integers with thousands of digits
        raise MalformedPayload(MALFORMED_JSON.format(error=str(error).rstrip("."))) from None
    if not isinstance(payload, dict):
        raise MalformedPayload(NOT_AN_OBJECT.format(kind=json_kind(payload)))
    if _opening_brackets(raw) > MAX_NESTING and nesting_depth(payload) > MAX_NESTING:
        raise MalformedPayload(MALFORMED_JSON.format(error=TOO_DEEP))
    return payload


def embedded_json_object(text: str) -> dict | None:
    """Return the JSON object in a payload's text field (under 64 KiB, read as a body is), or None."""
    if not text.strip().startswith("{") or len(text) >= 65536:
        return None
    try:
        return load_json_object(text)
    except MalformedPayload:
        return None


def _opening_brackets(raw: bytes | str) -> int:
    """Return how many "[" and "{" the text holds: a bound on its nesting, counted at C speed."""
    return raw.count(b"[" if isinstance(raw, bytes) else "[") + raw.count(b"{" if isinstance(raw, bytes) else "{")


def nesting_depth(value) -> int:
    """Return how deeply arrays and objects nest in a decoded JSON value (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(headers: Mapping[str, str], raw: bytes, *, allow_missing_content_type: bool = False) -> dict:
    """Return the JSON object of a delivery declared as application/json."""
    require_json_content_type(headers, allow_missing=allow_missing_content_type)
    return load_json_object(raw)


def parse_json_or_form(headers: Mapping[str, str], raw: bytes) -> dict:
    """Return the JSON object of a delivery sent as JSON or as a form with the JSON in field ``payload``."""
    if media_type(headers) != FORM_CONTENT_TYPE:
        return parse_json(headers, raw)
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=50, errors="strict")
    except UnicodeDecodeError:
        raise MalformedPayload(MALFORMED_FORM.format(error="the body is not UTF-8 text")) from None
    except ValueError as error:
        raise MalformedPayload(MALFORMED_FORM.format(error=str(error).rstrip("."))) from None
    values = fields.get("payload")
    if not values:
        raise MalformedPayload(MISSING_FORM_PAYLOAD)
    return load_json_object(values[0])


def body_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def bounded_id(value: str | None, raw: bytes = b"") -> str:
    """Return a delivery id that fits its column: ``value`` if short and printable, else a digest.

    Without a value, the digest of the raw body stands in, so a resent identical body
    is still recognized as the same delivery.
    """
    if value is None or not value.strip():
        return body_digest(raw)
    value = value.strip()
    if len(value) > DELIVERY_ID_LIMIT or not value.isprintable():
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def digest_id(*parts: object) -> str:
    """Return a delivery id made of ``parts``: the hex SHA-256 of their texts joined by newlines."""
    joined = "\n".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()


def bounded_event(value: object) -> str:
    """Return an event name that fits its column and can be shown: printable, one line, clipped."""
    if not isinstance(value, str):
        return ""
    value = "".join(character for character in value if character.isprintable()).strip()
    return value[:EVENT_NAME_LIMIT]
