"""Schemathesis over the whole API, in-process: no input gets a 500, and every answer matches the schema.

The schema drf-spectacular serves (``/api/schema/``) drives Hypothesis through every operation, against
the WSGI app in this process, signed in by token as the demo's staff person with the demo organisation
seeded, so list, detail and action operations meet real rows. Each operation gets three kinds of cases:
valid ones whose path names a row that exists, valid ones with generated path values, and invalid ones
(which must be refused with a 4xx). Every case runs in a savepoint that is rolled back, so each one meets
the same seeded data and a run is repeatable; examples are derandomized and bounded per operation.
"""

import logging
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance
from werkzeug.test import Client

from demo.chapters.people import DEMO_USERNAME

SCHEMA_PATH = "/api/schema/"
CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
# Examples per operation and kind of case: enough to meet every field's edges, small enough that the
# whole schema runs in about a minute on SQLite.
EXAMPLES = {"existing": 3, "positive": 6, "negative": 6}


@dataclass
class Tally:
    cases: dict = field(default_factory=dict)  # operation -> cases run
    without_rows: list = field(default_factory=list)  # operations whose path named no existing row
    failures: dict = field(default_factory=dict)


@pytest.fixture
def in_process_requests():
    """Let requests served in this process share the test's connection, as Django's test client does.

    The WSGI handler closes old connections at the start and end of each request; inside the test's
    transaction that closes the very connection the test holds.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _existing_path_values(schema, headers) -> dict[str, list]:
    """Return, per collection path (``/api/v1/incidents/``), the path values of rows the user can read."""
    client = schema.app
    values = {}
    for operation in schema.get_all_operations():
        operation = operation.ok()
        if operation.method.upper() != "GET" or "{" in operation.path:
            continue
        response = Client(client).get(operation.path, headers=headers)
        if response.status_code != 200:
            continue
        body = response.get_json()
        rows = body.get("results", []) if isinstance(body, dict) else body
        if not isinstance(rows, list):
            continue
        values[operation.path] = [row for row in rows if isinstance(row, dict)][:5]
    return values


def _run(operation, strategy, examples: int, headers: dict, tally: Tally) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        tally.cases[operation.label] = tally.cases.get(operation.label, 0) + 1
        with transaction.atomic():
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            finally:
                transaction.set_rollback(True)  # undo what the case wrote, so the next meets the same rows

    try:
        run()
    except Unsatisfiable:
        pass  # nothing in the operation can be made invalid (no parameters, or text that takes anything)
    except (Exception, BaseExceptionGroup) as error:  # a check's failures come as a group
        tally.failures.setdefault(operation.label, []).append(str(error)[:1500])


@pytest.fixture
def quiet_request_log():
    """Keep the thousands of expected 4xx answers out of the test's output."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.django_db
def test_every_operation_answers_without_server_error_and_as_its_schema_says(in_process_requests, quiet_request_log):
    call_command("seed_demo", verbosity=0)
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    token, _ = Token.objects.get_or_create(user=user)
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, WSGIHandler())
    existing = _existing_path_values(schema, headers)
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        parameters = [p.name for p in operation.path_parameters]
        if parameters:
            collection = operation.path.split("{")[0]
            name = parameters[0]
            values = [row[name if name in row else "id"] for row in existing.get(collection, [])]
            if values:
                strategy = st.sampled_from(values).flatmap(
                    lambda value, op=operation, name=name: op.as_strategy(path_parameters={name: value})
                )
                _run(operation, strategy, EXAMPLES["existing"], headers, tally)
            else:
                tally.without_rows.append(operation.label)
        _run(operation, operation.as_strategy(GenerationMode.POSITIVE), EXAMPLES["positive"], headers, tally)
        _run(operation, operation.as_strategy(GenerationMode.NEGATIVE), EXAMPLES["negative"], headers, tally)
    operations = [result.ok().label for result in schema.get_all_operations()]
    print(f"schemathesis: {sum(tally.cases.values())} cases over {len(tally.cases)} of {len(operations)} operations")
    print(f"no existing row for: {', '.join(tally.without_rows) or 'none'}")
    assert set(tally.cases) == set(operations), "every operation of the schema gets cases"
    report = "\n\n".join(f"{label}:\n" + "\n".join(errors) for label, errors in sorted(tally.failures.items()))
    assert not tally.failures, f"{len(tally.failures)} operations failed:\n{report}"
