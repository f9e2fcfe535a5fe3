from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.ingest import source_api
from incidents.models import Source, SourceKind
from incidents.selectors.sources import source_valid_secrets
from incidents.services import sources as source_services
from tests.factories import RegisteredModelFactory, SourceFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def test_api_requires_authentication(api_client):
    response = api_client.get("/api/v1/sources/")
    assert response.status_code == 401
    assert response.json()["message"]


@pytest.mark.parametrize("team_reference", ["slug", "id", "id-as-text"])
def test_create_answers_url_and_secret_once(token_client_for, member, team, team_reference):
    reference = {"slug": team.slug, "id": team.pk, "id-as-text": str(team.pk)}[team_reference]
    client = token_client_for(member)
    response = client.post("/api/v1/sources/", {"team": reference, "kind": "github", "name": "fraud-ci"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    source = Source.objects.get(pk=body["id"])
    assert body["webhook_url"] == source.webhook_url
    assert source.public_id in body["webhook_url"]
    assert source_valid_secrets(source=source) == [body["secret"]]
    assert body["team"] == team.pk
    assert source.created_by == member

    listed = client.get("/api/v1/sources/").json()
    assert [item["id"] for item in listed["results"]] == [source.pk]
    assert "secret" not in listed["results"][0]
    retrieved = client.get(f"/api/v1/sources/{source.pk}/").json()
    assert "secret" not in retrieved
    assert body["secret"] not in str(retrieved)


def test_create_with_options(token_client_for, member, team):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    response = token_client_for(member).post(
        "/api/v1/sources/",
        {
            "team": "fraud",
            "kind": "gitlab",
            "name": "fraud-gitlab",
            "environment_severity": {"production": "SEV1", "*": "SEV3"},
            "model_pattern": r"(?P<model>[a-z-]+)@(?P<version>\d+)",
            "model_pattern_field": "ref",
            "default_model": model.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["environment_severity"] == {"production": "SEV1", "*": "SEV3"}
    assert body["default_model"] == model.pk
    assert body["model_pattern_field"] == "ref"


def test_unknown_kind_lists_the_valid_kinds(token_client_for, member, team):
    response = token_client_for(member).post(
        "/api/v1/sources/", {"team": "fraud", "kind": "bamboo", "name": "x"}, format="json"
    )
    assert response.status_code == 400
    expected = source_services.UNKNOWN_KIND.format(kind="bamboo", kinds=", ".join(SourceKind.values))
    assert response.json()["kind"] == [expected]
    assert response.json()["message"] == f"kind: {expected}"


def test_bad_regex_says_why(token_client_for, member, team):
    response = token_client_for(member).post(
        "/api/v1/sources/",
        {"team": "fraud", "kind": "github", "name": "x", "model_pattern": "(?P<model>[a-z"},
        format="json",
    )
    assert response.status_code == 400
    [message] = response.json()["model_pattern"]
    assert message
    assert not Source.objects.exists()


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (["production"], source_services.SEVERITY_MAP_NOT_AN_OBJECT),
        ("SEV1", source_services.SEVERITY_MAP_NOT_AN_OBJECT),
        (
            {"production": "SEV9"},
            source_services.SEVERITY_MAP_BAD_SEVERITY.format(
                environment="production", severity="SEV9", severities="SEV1, SEV2, SEV3, SEV4"
            ),
        ),
        (
            {"staging": 3},
            source_services.SEVERITY_MAP_BAD_SEVERITY.format(
                environment="staging", severity=3, severities="SEV1, SEV2, SEV3, SEV4"
            ),
        ),
        ({"  ": "SEV1"}, source_services.SEVERITY_MAP_BAD_ENVIRONMENT.format(environment="  ")),
        ({"x" * 101: "SEV1"}, source_services.SEVERITY_MAP_BAD_ENVIRONMENT.format(environment="x" * 101)),
        (
            {"Prod": "SEV1", "prod": "SEV2"},
            source_services.SEVERITY_MAP_DUPLICATE.format(environment="prod"),
        ),
    ],
)
def test_bad_severity_map_names_the_entry(token_client_for, member, team, mapping, expected):
    response = token_client_for(member).post(
        "/api/v1/sources/",
        {"team": "fraud", "kind": "github", "name": "x", "environment_severity": mapping},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["environment_severity"] == [expected]


@pytest.mark.parametrize("team_reference", ["search-ranking", 999999, "", None, True, 1.5, ["fraud"]])
def test_unknown_team_is_400(token_client_for, member, team, team_reference):
    response = token_client_for(member).post(
        "/api/v1/sources/", {"team": team_reference, "kind": "github", "name": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "team" in response.json()


def test_huge_team_id_is_400_not_500(token_client_for, member, team):
    response = token_client_for(member).post(
        "/api/v1/sources/", {"team": "9" * 30, "kind": "github", "name": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["team"] == [source_api.UNKNOWN_TEAM.format(team="9" * 30)]


def test_create_for_another_team_is_403(token_client_for, member, team):
    TeamFactory(name="Search", slug="search")
    response = token_client_for(member).post(
        "/api/v1/sources/", {"team": "search", "kind": "github", "name": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["message"] == source_api.NOT_YOUR_TEAM


def test_duplicate_name_is_400(token_client_for, member, team):
    SourceFactory(team=team, name="fraud-ci")
    response = token_client_for(member).post(
        "/api/v1/sources/", {"team": "fraud", "kind": "github", "name": "fraud-ci"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["name"] == [source_services.NAME_TAKEN.format(team=team, name="fraud-ci")]


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_malformed_body_is_400(token_client_for, member, team, body):
    response = token_client_for(member).post("/api/v1/sources/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"]


def test_outsiders_neither_list_nor_read(token_client_for, outsider, team):
    source = SourceFactory(team=team)
    client = token_client_for(outsider)
    assert client.get("/api/v1/sources/").json()["count"] == 0
    assert client.get(f"/api/v1/sources/{source.pk}/").status_code == 404
    assert client.patch(f"/api/v1/sources/{source.pk}/", {"is_active": False}, format="json").status_code == 404
    assert client.post(f"/api/v1/sources/{source.pk}/rotate-secret/", {"grace_seconds": 0}).status_code == 404
    assert client.get("/api/v1/sources/99999999999999999999999/").status_code == 404


def test_list_filters_and_query_count(token_client_for, staff, team, django_assert_max_num_queries):
    search = TeamFactory(name="Search", slug="search")
    for index in range(20):
        SourceFactory(team=team if index % 2 else search, name=f"ci-{index}", kind="github" if index < 10 else "mlflow")
    client = token_client_for(staff)
    with django_assert_max_num_queries(5):
        body = client.get("/api/v1/sources/", {"team": "search"}).json()
    assert body["count"] == 10
    assert client.get("/api/v1/sources/", {"team": team.pk, "kind": "mlflow"}).json()["count"] == 5
    bad = client.get("/api/v1/sources/", {"kind": "bamboo"})
    assert bad.status_code == 400
    assert "kind" in bad.json()


def test_patch_options(token_client_for, member, team):
    source = SourceFactory(team=team, name="fraud-ci")
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    response = token_client_for(member).patch(
        f"/api/v1/sources/{source.pk}/",
        {"is_active": False, "default_model": model.pk, "environment_severity": {"prod": "SEV1"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    source.refresh_from_db()
    assert not source.is_active
    assert source.default_model == model
    assert source.environment_severity == {"prod": "SEV1"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"kind": "gitlab"}, "kind"),
        ({"team": "search"}, "team"),
        ({"public_id": "mine"}, "public_id"),
        ({"model_pattern": "(unclosed"}, "model_pattern"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"environment_severity": {"prod": "SEV0"}}, "environment_severity"),
        ({"is_active": "perhaps"}, "is_active"),
    ],
)
def test_patch_with_bad_input_is_400(token_client_for, member, team, patch, field):
    source = SourceFactory(team=team, name="fraud-ci", kind="github")
    response = token_client_for(member).patch(f"/api/v1/sources/{source.pk}/", patch, format="json")
    assert response.status_code == 400
    assert field in response.json()
    source.refresh_from_db()
    assert source.kind == "github"
    assert source.is_active


def test_patch_default_model_of_another_team_is_400(token_client_for, member, team):
    source = SourceFactory(team=team)
    foreign = RegisteredModelFactory(team=TeamFactory(slug="search"), name="ranker")
    response = token_client_for(member).patch(
        f"/api/v1/sources/{source.pk}/", {"default_model": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["default_model"] == [
        source_services.DEFAULT_MODEL_OTHER_TEAM.format(model="ranker", team=team)
    ]


def test_put_is_not_offered(token_client_for, member, team):
    source = SourceFactory(team=team)
    response = token_client_for(member).put(f"/api/v1/sources/{source.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405


def test_rotate_secret_with_grace(token_client_for, member, team):
    client = token_client_for(member)
    with time_machine.travel(NOW, tick=False) as traveller:
        source = SourceFactory(team=team, secret="old-secret")
        traveller.shift(timedelta(days=3))
        response = client.post(f"/api/v1/sources/{source.pk}/rotate-secret/", {"grace_seconds": 3600}, format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["previous_expires_at"] == "2025-03-17T13:00:00Z"
        assert source_valid_secrets(source=source) == [body["secret"], "old-secret"]
        traveller.shift(timedelta(hours=1))
        assert source_valid_secrets(source=source) == [body["secret"]]


@pytest.mark.parametrize("body", [{}, {"grace_seconds": -1}, {"grace_seconds": 604801}, {"grace_seconds": "soon"}])
def test_rotate_secret_with_bad_grace_is_400(token_client_for, member, team, body):
    source = SourceFactory(team=team, secret="old-secret")
    response = token_client_for(member).post(f"/api/v1/sources/{source.pk}/rotate-secret/", body, format="json")
    assert response.status_code == 400
    assert "grace_seconds" in response.json()
    assert source_valid_secrets(source=source) == ["old-secret"]


def test_schema_documents_the_source_endpoints(client, member):
    client.force_login(member)
    schema = client.get("/api/schema/").content
    assert b"/api/v1/sources/{id}/rotate-secret/" in schema
    assert b"/api/v1/sources/{id}/test-delivery/" in schema
