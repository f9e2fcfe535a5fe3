"""API of deliveries and deployments: visibility, filters, replay permissions, query counts."""

import base64

import pytest

from incidents.ingest.api import REPLAY_FORBIDDEN
from incidents.models import Delivery
from teams.models import Membership
from tests.factories import (
    DeliveryFactory,
    DeploymentFactory,
    MembershipFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    SourceFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_team():
    return TeamFactory(name="Recsys", slug="recsys")


@pytest.fixture
def sources(team, other_team):
    return SourceFactory(team=team, name="fraud-ci"), SourceFactory(team=other_team, name="recsys-ci")


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def test_anonymous_callers_are_refused(api_client):
    assert api_client.get("/api/v1/deliveries/").status_code in (401, 403)
    assert api_client.get("/api/v1/deployments/").status_code in (401, 403)


def test_members_see_only_their_teams_deliveries_and_staff_see_all(member, staff, token_client_for, sources):
    mine = DeliveryFactory(source=sources[0])
    theirs = DeliveryFactory(source=sources[1])
    assert ids(token_client_for(member).get("/api/v1/deliveries/")) == {mine.pk}
    assert ids(token_client_for(staff).get("/api/v1/deliveries/")) == {mine.pk, theirs.pk}
    assert token_client_for(member).get(f"/api/v1/deliveries/{theirs.pk}/").status_code == 404


def test_delivery_filters(member, token_client_for, sources, team):
    second_source = SourceFactory(team=team, name="fraud-registry", kind="mlflow")
    ignored = DeliveryFactory(source=sources[0], event="issues", status=Delivery.Status.IGNORED)
    run = DeliveryFactory(source=sources[0], event="workflow_run")
    registry = DeliveryFactory(source=second_source, event="model_version.created")
    client = token_client_for(member)
    assert ids(client.get("/api/v1/deliveries/", {"source": sources[0].pk})) == {ignored.pk, run.pk}
    assert ids(client.get("/api/v1/deliveries/", {"status": "ignored"})) == {ignored.pk}
    assert ids(client.get("/api/v1/deliveries/", {"event": "model_version.created"})) == {registry.pk}


@pytest.mark.parametrize(("query", "field"), [({"status": "exploded"}, "status"), ({"source": "abc"}, "source")])
def test_invalid_filters_are_400_with_a_message(member, token_client_for, query, field):
    response = token_client_for(member).get("/api/v1/deliveries/", query)
    assert response.status_code == 400
    assert response.json()["message"].startswith(field)


def test_delivery_detail_shows_the_body_as_text_or_base64(member, token_client_for, sources):
    text = DeliveryFactory(source=sources[0], body=b'{"zen": "Approachable is better than simple."}')
    binary = DeliveryFactory(source=sources[0], body=b"\xff\xfe\x00\x01")
    client = token_client_for(member)
    shown = client.get(f"/api/v1/deliveries/{text.pk}/").json()
    assert (shown["body_encoding"], shown["body"]) == ("utf-8", '{"zen": "Approachable is better than simple."}')
    shown = client.get(f"/api/v1/deliveries/{binary.pk}/").json()
    assert (shown["body_encoding"], base64.b64decode(shown["body"])) == ("base64", b"\xff\xfe\x00\x01")
    assert "body" not in client.get("/api/v1/deliveries/").json()["results"][0]


def test_delivery_list_query_count_is_fixed(member, token_client_for, sources, django_assert_max_num_queries):
    for _ in range(30):
        DeliveryFactory(source=sources[0])
    client = token_client_for(member)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/deliveries/")
    assert response.json()["count"] == 30


def test_members_replay_and_the_delivery_is_queued(
    member, token_client_for, sources, django_capture_on_commit_callbacks
):
    failed = DeliveryFactory(source=sources[0], status=Delivery.Status.FAILED, attempts=5, error="RuntimeError: x")
    with django_capture_on_commit_callbacks() as callbacks:
        response = token_client_for(member).post(f"/api/v1/deliveries/{failed.pk}/replay/")
    assert response.status_code == 202
    assert response.json()["status"] == "replayed"
    failed.refresh_from_db()
    assert (failed.status, failed.replay_count, failed.attempts, failed.error) == ("replayed", 1, 0, "")
    assert len(callbacks) == 1


def test_outsiders_cannot_replay(outsider, token_client_for, sources):
    delivery = DeliveryFactory(source=sources[0])
    assert token_client_for(outsider).post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 404


def test_staff_see_but_replay_only_as_members_do(staff, token_client_for, sources):
    delivery = DeliveryFactory(source=sources[0])
    assert token_client_for(staff).post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 202


def test_replay_refused_to_someone_who_sees_the_delivery_without_being_a_member(token_client_for, sources, monkeypatch):
    viewer = MembershipFactory(team=sources[0].team, role=Membership.Role.MEMBER).user
    monkeypatch.setattr("incidents.ingest.api.user_is_team_member", lambda **kwargs: False)
    delivery = DeliveryFactory(source=sources[0])
    response = token_client_for(viewer).post(f"/api/v1/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 403
    assert response.json()["message"] == REPLAY_FORBIDDEN


def test_deployments_are_organisation_wide_and_filtered(member, token_client_for, sources, team):
    fraud = RegisteredModelFactory(team=team, name="fraud-detector")
    v17 = ModelVersionFactory(model=fraud, version="17")
    failed = DeploymentFactory(source=sources[0], model_version=v17, status="failed", environment="production")
    staging = DeploymentFactory(source=sources[0], model_version=v17, status="succeeded", environment="staging")
    other = DeploymentFactory(source=sources[1])
    client = token_client_for(member)
    # Every team's, as the model pages that show them (docs/visibility.md).
    assert ids(client.get("/api/v1/deployments/")) == {failed.pk, staging.pk, other.pk}
    assert ids(client.get("/api/v1/deployments/", {"status": "failed"})) == {failed.pk}
    assert ids(client.get("/api/v1/deployments/", {"environment": "staging"})) == {staging.pk}
    assert ids(client.get("/api/v1/deployments/", {"model": "fraud-detector"})) == {failed.pk, staging.pk}
    assert ids(client.get("/api/v1/deployments/", {"model": str(fraud.pk)})) == {failed.pk, staging.pk}
    assert ids(client.get("/api/v1/deployments/", {"team": "fraud"})) == {failed.pk, staging.pk}
    assert ids(client.get("/api/v1/deployments/", {"team": str(team.pk)})) == {failed.pk, staging.pk}
    assert ids(client.get("/api/v1/deployments/", {"source": sources[1].pk})) == {other.pk}
    assert ids(client.get("/api/v1/deployments/", {"team": other.team.slug})) == {other.pk}
    row = client.get(f"/api/v1/deployments/{failed.pk}/").json()
    assert (row["model"], row["version"], row["team_slug"]) == ("fraud-detector", "17", "fraud")


def test_deployment_list_query_count_is_fixed(staff, token_client_for, sources, django_assert_max_num_queries):
    for _ in range(30):
        DeploymentFactory(source=sources[0])
    client = token_client_for(staff)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/deployments/")
    assert response.json()["count"] == 30


def test_invalid_deployment_status_is_400(member, token_client_for):
    response = token_client_for(member).get("/api/v1/deployments/", {"status": "exploded"})
    assert response.status_code == 400
    assert "status" in response.json()["message"]
