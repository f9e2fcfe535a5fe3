"""Model discovery: which model (and version) a pipeline event is about. Pure.

In order: what the payload said ("payload"); the source's pattern over the run
title, ref or environment ("pattern"); the source's default model ("default").

Patterns run on RE2, whose matching time grows linearly with the text, so a
pattern written carelessly (or maliciously) cannot stall ingestion the way
backtracking engines can on ``(a+)+$``. RE2 has no look-around and no
back-references; ``validate_pattern`` says so when a pattern uses them.
"""

import dataclasses
from functools import lru_cache

import re2

from incidents.ingest.events import PipelineEvent

# Longest pattern a source may store (Source.model_pattern) and longest text it runs over.
MAX_PATTERN_LENGTH = 300
MAX_SUBJECT_LENGTH = 1000
PATTERN_FIELDS = {
    "any": ("title", "ref", "environment"),
    "title": ("title",),
    "ref": ("ref",),
    "environment": ("environment",),
}

PATTERN_INVALID = "Not a regular expression Kintsugi can run: {error}."
PATTERN_TOO_LONG = "Keep the pattern within {limit} characters."
PATTERN_NEEDS_GROUP = "Name what to capture: (?P<model>…) for the model, (?P<version>…) for its version."

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[object | None, str | None]:
    """Return (compiled pattern, None) or (None, the reason it cannot be used)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return None, PATTERN_TOO_LONG.format(limit=MAX_PATTERN_LENGTH)
    try:
        compiled = re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else "unknown error"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, PATTERN_INVALID.format(error=str(reason).rstrip("."))
    except (TypeError, ValueError) as error:
        return None, PATTERN_INVALID.format(error=str(error).rstrip("."))
    if not {"model", "version"} & set(compiled.groupindex):
        return None, PATTERN_NEEDS_GROUP
    return compiled, None


def validate_pattern(pattern: str) -> str | None:
    """Return why ``pattern`` cannot be used to find models (a message for the form), or None if it can.

    An empty pattern is valid: it means "no pattern".
    """
    if not pattern:
        return None
    return _compile(pattern)[1]


def match_pattern(pattern: str, subject: str) -> tuple[str, str] | None:
    """Return (model, version) captured by ``pattern`` in ``subject`` (either may be ""), or None."""
    compiled, _problem = _compile(pattern)
    if compiled is None or not subject:
        return None
    found = compiled.search(subject[:MAX_SUBJECT_LENGTH])
    if found is None:
        return None
    groups = found.groupdict()
    model = (groups.get("model") or "").strip()
    version = (groups.get("version") or "").strip()
    return (model, version) if model or version else None


def discover_model(event: PipelineEvent, *, pattern: str, pattern_field: str, default_model: str) -> PipelineEvent:
    """Return ``event`` with model_name, model_version and model_origin set from the first rule that finds a model.

    1. The payload named the model: keep it ("payload"), completing a missing version from the pattern.
    2. The pattern captures a model in the title, ref or environment (per ``pattern_field``; "any" tries
       them in that order): use it ("pattern").
    3. ``default_model`` is set: use it ("default"), with a version the pattern or payload found.
    Otherwise return the event unchanged with model_origin "". An unusable pattern is skipped.
    """
    found = None
    if pattern:
        for name in PATTERN_FIELDS.get(pattern_field, PATTERN_FIELDS["any"]):
            found = match_pattern(pattern, getattr(event, name))
            if found is not None and (found[0] or event.model_name or default_model):
                break
            found = None
    pattern_model, pattern_version = found or ("", "")

    if event.model_name:
        version = event.model_version
        if not version and pattern_version and pattern_model in ("", event.model_name):
            version = pattern_version
        return dataclasses.replace(event, model_version=version, model_origin="payload")
    if pattern_model:
        return dataclasses.replace(
            event, model_name=pattern_model, model_version=pattern_version, model_origin="pattern"
        )
    if default_model:
        version = pattern_version or event.model_version
        return dataclasses.replace(event, model_name=default_model, model_version=version, model_origin="default")
    if event.model_origin:
        return dataclasses.replace(event, model_origin="")
    return event
