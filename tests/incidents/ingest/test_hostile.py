"""Hostile payloads: every fixture mutated at every field must give a sane event or a 400, never a crash.

A table of mutations (hypothesis-free) is applied to every value of every fixture
down to a few levels: deleted, null, wrong types, empty, huge, control characters.
"""

import copy
import json

import pytest

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import MalformedPayload, UnsupportedEvent

from .helpers import assert_sane, fixture_id, fixture_paths, headers_for

DELETE = object()
MUTATIONS = [
    DELETE,
    None,
    0,
    -1,
    2**70,
    1.5,
    True,
    "",
    "x" * 100_000,
    "\x00\n\t",
    "é☃",
    [],
    [None, 1, "a"],
    {},
    {"a": {}},
]
MAX_DEPTH = 4
MAX_LIST_ITEMS = 3


def paths(value, prefix=(), depth=0):
    """Yield the path of every value inside ``value``, down to MAX_DEPTH."""
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value[:MAX_LIST_ITEMS]))
    else:
        return
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key), depth + 1)


def mutated(payload: dict, path: tuple, mutation) -> dict:
    copied = copy.deepcopy(payload)
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    if mutation is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(mutation)
    return copied


def run_all(kind: str, headers: dict, payload: dict) -> None:
    """Run what the pipeline runs on a parsed payload; only the two declared outcomes may escape."""
    sender = sender_for(kind)
    try:
        delivery = sender.delivery_id(headers, payload, json.dumps(payload).encode())
        assert isinstance(delivery, str) and 0 < len(delivery) <= 200
        name = sender.event_name(headers, payload)
        assert isinstance(name, str) and len(name) <= 120
        event = sender.adapt(name, payload)
    except (MalformedPayload, UnsupportedEvent) as expected:
        assert str(expected)
        return
    assert_sane(event)


@pytest.mark.parametrize("path", fixture_paths(), ids=fixture_id)
def test_every_mutation_of_a_fixture_is_handled(path):
    kind = path.parent.name
    headers = headers_for(kind, path.stem.split("__")[0])
    payload = json.loads(path.read_text())
    run_all(kind, headers, {})
    count = 0
    for where in paths(payload):
        for mutation in MUTATIONS:
            run_all(kind, headers, mutated(payload, where, mutation))
            count += 1
    assert count > 50  # the table really ran


@pytest.mark.parametrize("kind", ["github", "gitlab", "circleci"])
@pytest.mark.parametrize("event", ["", "x" * 10_000, "workflow_run\x00", "Pipeline Hook\n"])
def test_hostile_event_headers(kind, event):
    header = {"github": "X-GitHub-Event", "gitlab": "X-Gitlab-Event", "circleci": "Circleci-Event-Type"}[kind]
    run_all(kind, {header: event}, {"object_attributes": {"id": 1, "status": "failed"}, "workflow_run": {"id": 1}})


def test_huge_strings_are_clipped_to_their_columns():
    path = next(path for path in fixture_paths() if path.stem == "workflow_run__completed_failure")
    payload = json.loads(path.read_text())
    payload["workflow_run"]["display_title"] = "Deploy " + "ranker " * 20_000
    payload["workflow_run"]["head_branch"] = "b" * 10_000
    event = sender_for("github").adapt("workflow_run", payload)
    assert len(event.title) == 300
    assert len(event.ref) == 255
    assert_sane(event)
