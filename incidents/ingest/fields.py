"""Typed reading of untrusted payloads, and the vocabulary of model and environment keys.

Paths are dotted ("workflow_run.head_sha"). Required readers raise MalformedPayload
naming the field; optional readers treat a value of the wrong type as absent, so a
sender adding or retyping an unrelated field never breaks ingestion. Nothing here
raises anything else, whatever the payload holds.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.ingest.errors import MISSING_FIELD, WRONG_TYPE, MalformedPayload
from incidents.ingest.parsing import json_kind

# The keys under which senders' variables, parameters, labels and payloads name a
# model, its version and the target environment, once normalized by normalize_key.
MODEL_NAME_KEYS = ("model_name", "modelname", "model")
MODEL_VERSION_KEYS = ("model_version", "modelversion")
ENVIRONMENT_KEYS = ("environment", "deploy_env", "deploy_environment", "target_env", "target_environment")
# Free-text maps (variables, labels) larger than this are read only this far.
MAX_PAIRS = 500


def value(payload: Any, path: str) -> Any:
    """Return the value at ``path``, or None when a step is missing or not an object."""
    current = payload
    for key in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def as_text(found: Any) -> str | None:
    """Return a string or integer as text; None for anything else (booleans included)."""
    if isinstance(found, str):
        return found
    if isinstance(found, int) and not isinstance(found, bool):
        return str(found)
    return None


def text(payload: Any, path: str) -> str:
    """Return the text at ``path`` (a string, or an integer written out), or "" if absent or of another type."""
    return as_text(value(payload, path)) or ""


def required_text(payload: Any, path: str) -> str:
    """Return the non-empty text at ``path``; raise MalformedPayload if it is missing or not text."""
    found = value(payload, path)
    if found is None or found == "":
        raise MalformedPayload(MISSING_FIELD.format(field=path))
    converted = as_text(found)
    if converted is None:
        raise MalformedPayload(WRONG_TYPE.format(field=path, expected="a string or an integer", kind=json_kind(found)))
    return converted


def mapping(payload: Any, path: str) -> dict:
    """Return the object at ``path``, or {} if absent or not an object."""
    found = value(payload, path)
    return found if isinstance(found, dict) else {}


def required_mapping(payload: Any, path: str) -> dict:
    """Return the object at ``path``; raise MalformedPayload if it is missing or not an object."""
    found = value(payload, path)
    if found is None:
        raise MalformedPayload(MISSING_FIELD.format(field=path))
    if not isinstance(found, dict):
        raise MalformedPayload(WRONG_TYPE.format(field=path, expected="an object", kind=json_kind(found)))
    return found


def items(payload: Any, path: str) -> list:
    """Return the array at ``path``, or [] if absent or not an array."""
    found = value(payload, path)
    return found if isinstance(found, list) else []


def first_line(message: str) -> str:
    return message.strip().split("\n", 1)[0].strip() if message else ""


def first(*candidates: str) -> str:
    """Return the first non-empty text."""
    for candidate in candidates:
        if candidate:
            return candidate
    return ""


# ISO 8601 as senders write it: "2021-08-05T10:26:08.000Z", GitLab's "2016-08-12 15:23:28 UTC"
# and "2021-04-28 21:50:00 +0200", Go's nanoseconds "2025-05-02T12:30:19.123456789Z".
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)


def _in_utc(moment: datetime) -> datetime | None:
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_iso(found: Any) -> datetime | None:
    """Return the aware datetime (in UTC) written in ``found``, or None if it is not a timestamp.

    A timestamp without a time zone is read as UTC, which is what senders that omit it mean.
    """
    if not isinstance(found, str) or len(found) > 64:
        return None
    match = _TIMESTAMP.fullmatch(found.strip())
    if match is None:
        return None
    day, time, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z", "z", "UTC") else zone
    try:
        moment = datetime.fromisoformat(f"{day}T{time.replace(',', '.')}{zone}")
    except ValueError:
        return None
    return _in_utc(moment)


def parse_epoch(found: Any, *, milliseconds: bool = False) -> datetime | None:
    """Return the aware datetime of a Unix time in seconds (or milliseconds), or None if it is not one."""
    if isinstance(found, bool) or not isinstance(found, int | float) or found != found:  # NaN is never equal
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=found / 1000 if milliseconds else found)
    except (OverflowError, ValueError):
        return None


def time_at(payload: Any, path: str) -> datetime | None:
    """Return the ISO 8601 timestamp at ``path`` as an aware datetime, or None."""
    return parse_iso(value(payload, path))


def first_time(payload: Any, *paths: str) -> datetime | None:
    """Return the first timestamp found at ``paths``, or None."""
    for path in paths:
        moment = time_at(payload, path)
        if moment is not None:
            return moment
    return None


def normalize_key(key: str) -> str:
    """Return a key in the form the vocabularies use: lower case, "-", "." and spaces as "_"."""
    return re.sub(r"[-. ]", "_", key.strip().lower())


def pairs(found: Any, *, key_field: str = "key", value_field: str = "value") -> dict[str, str]:
    """Return text pairs from an object, or from an array of {key, value} objects (GitLab variables,
    Helm parameters); entries that are not text are skipped."""
    result: dict[str, str] = {}
    if isinstance(found, dict):
        entries = list(found.items())[:MAX_PAIRS]
    elif isinstance(found, list):
        entries = [
            (entry.get(key_field), entry.get(value_field)) for entry in found[:MAX_PAIRS] if isinstance(entry, dict)
        ]
    else:
        return result
    for key, raw in entries:
        converted = as_text(raw)
        if isinstance(key, str) and converted is not None:
            result[key] = converted
    return result


def lookup(values: Mapping[str, str], keys: tuple[str, ...]) -> str:
    """Return the first non-empty value whose normalized key is one of ``keys`` (in the order of ``keys``)."""
    normalized: dict[str, str] = {}
    for key, found in values.items():
        if isinstance(found, str) and found.strip():
            normalized.setdefault(normalize_key(key), found.strip())
    for key in keys:
        if key in normalized:
            return normalized[key]
    return ""


def model_from(values: Mapping[str, str]) -> tuple[str, str]:
    """Return (model name, version) named in variables or parameters; ("", "") if none.

    A version without a name says nothing about which model, so it is dropped.
    """
    name = lookup(values, MODEL_NAME_KEYS)
    return (name, lookup(values, MODEL_VERSION_KEYS)) if name else ("", "")


def environment_from(values: Mapping[str, str]) -> str:
    return lookup(values, ENVIRONMENT_KEYS)
