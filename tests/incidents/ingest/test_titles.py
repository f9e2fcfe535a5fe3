"""Every sender's failure makes an incident title that reads as a whole sentence, whatever the payload left out."""

import dataclasses
import json
import re

import pytest

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import UnsupportedEvent
from incidents.ingest.events import EventStatus
from incidents.models import Incident
from incidents.services.deployments import deployment_event_apply
from tests.factories import SourceFactory

from .helpers import fixture_id, fixture_paths, headers_for

pytestmark = pytest.mark.django_db


def failure_events():
    """Yield (fixture id, kind, event) for every fixture whose event is a failure."""
    for path in fixture_paths():
        kind, prefix = path.parent.name, path.stem.split("__")[0]
        sender = sender_for(kind)
        headers = headers_for(kind, prefix)
        payload = sender.parse(headers, path.read_bytes())
        try:
            event = sender.adapt(sender.event_name(headers, payload), payload)
        except UnsupportedEvent:
            continue
        if event.status == EventStatus.FAILED:
            yield fixture_id(path), kind, event


FAILURES = list(failure_events())
NO_MODEL = {"model_name": "", "model_version": "", "model_origin": ""}


def test_every_pipeline_sender_has_a_failure_fixture():
    kinds = {kind for _, kind, _ in FAILURES}
    assert kinds >= {"github", "gitlab", "jenkins", "argocd", "argo_rollouts", "circleci", "generic"}


def title_for(kind, event):
    source = SourceFactory(kind=kind)
    deployment_event_apply(source=source, event=event, occurred_at=event.occurred_at, delivery=None)
    return Incident.objects.get(source=source).title


@pytest.mark.parametrize(("name", "kind", "event"), FAILURES, ids=[name for name, _, _ in FAILURES])
def test_a_failure_naming_no_model_and_no_environment_says_so(name, kind, event):
    title = title_for(kind, dataclasses.replace(event, environment="", **NO_MODEL))

    # What failed is named apart from the sentence around it (a pipeline's name may hold a colon), and the
    # title ends saying what was not given instead of stopping at "failed to deploy".
    assert re.fullmatch(r"(Pipeline|Run) “[^“”]+” failed to deploy \(no model or environment given\)", title) or (
        title == f"Commit {event.sha[:8]} failed to deploy (no model or environment given)"
    ), json.dumps(title)


@pytest.mark.parametrize(("name", "kind", "event"), FAILURES, ids=[name for name, _, _ in FAILURES])
def test_a_failure_naming_no_model_names_its_environment(name, kind, event):
    title = title_for(kind, dataclasses.replace(event, environment="staging", **NO_MODEL))

    assert re.fullmatch(r"(Pipeline|Run) “[^“”]+” failed to deploy to staging", title) or (
        title == f"Commit {event.sha[:8]} failed to deploy to staging"
    ), json.dumps(title)
