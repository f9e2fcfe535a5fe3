"""A contributing factor's deployment is chosen from two groups, each option telling the deployments apart."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Deployment, ModelVersion
from tests.postmortems.conftest import STARTED

pytestmark = pytest.mark.django_db


def _deploy(team, version, *, days_ago: int, status: str = "succeeded") -> Deployment:
    at = STARTED - timedelta(days=days_ago)
    return Deployment.objects.create(
        team=team,
        external_id=f"run-{version.pk}-{days_ago}",
        model_version=version,
        environment="production",
        status=status,
        pipeline="deploy-fraud",
        started_at=at,
        finished_at=at,
        last_event_at=at,
    )


def _deployment_select(client, postmortem) -> str:
    html = client.get(reverse("postmortems:edit", args=[postmortem.pk])).content.decode()
    match = re.search(r'<select name="factors-0-deployment"[^>]*>(.*?)</select>', html, re.S)
    assert match, "the first factor's deployment select"
    return match.group(1)


def test_the_linked_deployment_and_the_teams_others_are_grouped_dated_and_newest_first(
    client, postmortem, member, team, fraud_model
):
    v8 = ModelVersion.objects.create(model=fraud_model, version="8", version_number=8, created_at=STARTED)
    older, newer = _deploy(team, v8, days_ago=20), _deploy(team, v8, days_ago=3, status="cancelled")
    client.force_login(member)
    select = _deployment_select(client, postmortem)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    assert [label for label, _ in groups] == ["Linked to this incident", "Other recent deployments of the team"]
    labels = [re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', options) for _, options in groups]
    assert [label for _, label in labels[0]] == ["fraud-detector v9 · production · failed · 10 Mar 2026 13:54"]
    assert labels[1] == [
        (str(newer.pk), "fraud-detector v8 · production · cancelled · 7 Mar 2026 13:50"),
        (str(older.pk), "fraud-detector v8 · production · succeeded · 18 Feb 2026 13:50"),
    ]


def test_the_editor_runs_as_many_queries_with_many_deployments(client, postmortem, member, team, fraud_model):
    client.force_login(member)
    url = reverse("postmortems:edit", args=[postmortem.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(40):
        version = ModelVersion.objects.create(
            model=fraud_model, version=str(100 + number), version_number=100 + number, created_at=STARTED
        )
        _deploy(team, version, days_ago=number + 1)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
