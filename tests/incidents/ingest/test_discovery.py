"""Model discovery: payload first, then the source's pattern, then its default model."""

import time

import pytest

from incidents.ingest.discovery import (
    MAX_PATTERN_LENGTH,
    PATTERN_NEEDS_GROUP,
    PATTERN_TOO_LONG,
    discover_model,
    validate_pattern,
)
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent

PATTERN = r"(?P<model>[a-z][a-z0-9-]*[a-z0-9]) v(?P<version>\d+)"


def event(**values) -> PipelineEvent:
    return PipelineEvent(kind=EventKind.PIPELINE, status=EventStatus.FAILED, **values)


def discover(found: PipelineEvent, *, pattern=PATTERN, pattern_field="any", default_model="") -> tuple[str, str, str]:
    result = discover_model(found, pattern=pattern, pattern_field=pattern_field, default_model=default_model)
    return result.model_name, result.model_version, result.model_origin


def test_payload_model_wins():
    found = event(model_name="fraud-detector", model_version="17", title="Deploy ranker v42")
    assert discover(found, default_model="ranker") == ("fraud-detector", "17", "payload")


def test_payload_model_without_version_takes_the_patterns_version_of_the_same_model():
    assert discover(event(model_name="ranker", title="Deploy ranker v42")) == ("ranker", "42", "payload")
    assert discover(event(model_name="ranker", title="Deploy fraud-detector v17")) == ("ranker", "", "payload")


def test_pattern_over_the_title():
    assert discover(event(title="Deploy ranker v42 to production")) == ("ranker", "42", "pattern")


@pytest.mark.parametrize(
    ("pattern_field", "expected"),
    [
        ("any", ("ranker", "42", "pattern")),
        ("title", ("ranker", "42", "pattern")),
        ("ref", ("churn-predictor", "8", "pattern")),
        ("environment", ("", "", "")),
        ("unknown", ("ranker", "42", "pattern")),
    ],
)
def test_pattern_field_chooses_where_to_look(pattern_field, expected):
    found = event(title="Deploy ranker v42", ref="release/churn-predictor v8", environment="production")
    assert discover(found, pattern_field=pattern_field) == expected


def test_any_tries_title_then_ref_then_environment():
    assert discover(event(title="nightly", ref="main", environment="ranker v9")) == ("ranker", "9", "pattern")
    assert discover(event(title="nightly", ref="ranker v3", environment="ranker v9")) == ("ranker", "3", "pattern")


def test_default_model_when_nothing_else_names_one():
    assert discover(event(title="nightly"), default_model="ranker") == ("ranker", "", "default")


def test_default_model_with_a_version_only_pattern():
    found = event(title="Release 2025.04 build 17")
    assert discover(found, pattern=r"build (?P<version>\d+)", default_model="ranker") == ("ranker", "17", "default")


def test_nothing_found_leaves_the_event_unchanged():
    found = event(title="nightly")
    result = discover_model(found, pattern=PATTERN, pattern_field="any", default_model="")
    assert result == found
    assert result.model_origin == ""


@pytest.mark.parametrize("pattern", ["(", "(?P<model>a", "(?=look)(?P<model>a)", r"(?P<model>a)\1", "[z-a]"])
def test_invalid_patterns_do_not_crash_and_are_explained(pattern):
    message = validate_pattern(pattern)
    assert message.startswith("Not a regular expression Kintsugi can run: ")
    found = event(title="Deploy ranker v42")
    assert discover_model(found, pattern=pattern, pattern_field="any", default_model="") == found


def test_pattern_needs_a_named_group():
    assert validate_pattern(r"ranker v\d+") == PATTERN_NEEDS_GROUP
    assert discover(event(title="ranker v1"), pattern=r"ranker v\d+") == ("", "", "")


def test_overlong_pattern_is_refused():
    assert validate_pattern("(?P<model>a)" + "b" * MAX_PATTERN_LENGTH) == PATTERN_TOO_LONG.format(
        limit=MAX_PATTERN_LENGTH
    )


@pytest.mark.parametrize("pattern", ["", PATTERN, r"(?i)(?P<model>[\w-]+)@(?P<version>[\w.]+)"])
def test_valid_patterns(pattern):
    assert validate_pattern(pattern) is None


def test_catastrophic_patterns_run_in_linear_time():
    # On a backtracking engine each of these takes longer than the age of the universe.
    subject = "a" * 5000 + "!"
    started = time.perf_counter()
    for pattern in [r"(?P<model>(a+)+)$", r"(?P<model>(a|aa)*)b$", r"(?P<model>\w*\w*\w*\w*\w*)\d"]:
        assert validate_pattern(pattern) is None
        discover_model(
            event(title=subject, ref=subject, environment=subject),
            pattern=pattern,
            pattern_field="any",
            default_model="",
        )
    assert time.perf_counter() - started < 1.0


def test_discovered_names_are_clipped_to_their_columns():
    found = event(title="x" * 250 + " v" + "1" * 40)
    name, version, origin = discover(found, pattern=r"(?P<model>x+) v(?P<version>\d+)")
    assert (len(name), len(version), origin) == (200, 40, "pattern")
