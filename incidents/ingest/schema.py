"""Validation of payloads against the JSON Schemas in ``schemas/``, in plain Python.

Covers the part of JSON Schema those files use (type, enum, required, properties,
minLength, maxLength, minimum, maximum, pattern, format date-time, anyOf, local $ref), so the
published schema and the check Kintsugi runs are one set of rules. Raises
MalformedPayload at the first problem, naming the field's path and what is wrong.
"""

import json
import re
from functools import cache
from pathlib import Path

from incidents.ingest.errors import INVALID_FIELD, MISSING_FIELD, WRONG_TYPE, MalformedPayload
from incidents.ingest.fields import parse_iso
from incidents.ingest.parsing import json_kind

SCHEMAS = Path(__file__).resolve().parent / "schemas"

TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
DATE_TIME_PROBLEM = "must be an ISO 8601 date-time with a time zone, like 2025-05-02T12:30:19Z"
PATTERN_PROBLEMS = {"^https?://": "must be an http(s) URL"}


@cache
def load_schema(name: str) -> dict:
    """Return the schema in ``schemas/<name>.schema.json``."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def is_type(instance, name: str) -> bool:
    if name == "integer":
        return (isinstance(instance, int) and not isinstance(instance, bool)) or (
            isinstance(instance, float) and instance.is_integer()
        )
    if name == "number":
        return isinstance(instance, int | float) and not isinstance(instance, bool)
    expected = {"string": str, "boolean": bool, "object": dict, "array": list}.get(name)
    if expected is not None:
        return isinstance(instance, expected)
    return name == "null" and instance is None


def resolve(schema: dict, root: dict) -> dict:
    reference = schema.get("$ref")
    if reference is None:
        return schema
    target = root
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{key: item for key, item in schema.items() if key != "$ref"}}


def describe(types: list[str]) -> str:
    words = [TYPE_WORDS.get(name, name) for name in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def validate(instance, schema: dict, *, root: dict | None = None, path: str = "") -> None:
    """Raise MalformedPayload if ``instance`` breaks a rule of ``schema``; ``path`` names it in messages."""
    root = root if root is not None else schema
    schema = resolve(schema, root)
    label = path or "body"

    if "anyOf" in schema:
        problems = []
        for option in schema["anyOf"]:
            try:
                validate(instance, option, root=root, path=path)
            except MalformedPayload as problem:
                problems.append(problem)
            else:
                break
        else:
            raise problems[0]

    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(is_type(instance, name) for name in types):
            raise MalformedPayload(WRONG_TYPE.format(field=label, expected=describe(types), kind=json_kind(instance)))

    if "enum" in schema and instance not in schema["enum"]:
        allowed = ", ".join(repr(option) for option in schema["enum"])
        shown = repr(instance) if isinstance(instance, str) and len(instance) <= 80 else json_kind(instance)
        raise MalformedPayload(INVALID_FIELD.format(field=label, problem=f"must be one of {allowed}; got {shown}"))

    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem="must not be empty"))
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            problem = f"is longer than {schema['maxLength']} characters"
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem=problem))
        if schema.get("format") == "date-time" and (
            re.search(schema.get("pattern", ""), instance) is None or parse_iso(instance) is None
        ):
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem=DATE_TIME_PROBLEM))
        pattern = schema.get("pattern")
        if pattern is not None and re.search(pattern, instance) is None:
            problem = PATTERN_PROBLEMS.get(pattern, f"must match {pattern}")
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem=problem))

    if is_type(instance, "number"):
        if "minimum" in schema and instance < schema["minimum"]:
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem=f"must be at least {schema['minimum']}"))
        if "maximum" in schema and instance > schema["maximum"]:
            raise MalformedPayload(INVALID_FIELD.format(field=label, problem=f"must be at most {schema['maximum']}"))

    if isinstance(instance, dict):
        for name in schema.get("required", ()):
            if name not in instance:
                raise MalformedPayload(MISSING_FIELD.format(field=f"{path}.{name}" if path else name))
        for name, child in schema.get("properties", {}).items():
            if name in instance:
                validate(instance[name], child, root=root, path=f"{path}.{name}" if path else name)
