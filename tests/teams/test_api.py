import pytest

from teams.models import Team

pytestmark = pytest.mark.django_db


def test_api_requires_authentication(api_client):
    response = api_client.get("/api/v1/teams/")
    assert response.status_code == 401
    assert response.json()["message"]


def test_list_teams_with_token(token_client_for, team, member, lead):
    response = token_client_for(member).get("/api/v1/teams/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert {m["user"]["username"] for m in body["results"][0]["members"]} == {"lucia", "priya"}


def test_only_staff_create_teams(token_client_for, member, staff):
    refused = token_client_for(member).post("/api/v1/teams/", {"name": "Search"}, format="json")
    assert refused.status_code == 403
    created = token_client_for(staff).post("/api/v1/teams/", {"name": "Search Ranking"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["slug"] == "search-ranking"
    assert Team.objects.filter(slug="search-ranking").exists()


def test_create_team_validates_fields(token_client_for, staff, team):
    response = token_client_for(staff).post(
        "/api/v1/teams/", {"name": "Fraud", "timezone": "Nowhere/Land", "digest_hour": 30}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert {"name", "timezone", "digest_hour"} <= set(body)
    assert body["message"]


def test_leads_update_team_members_cannot(token_client_for, team, lead, member):
    refused = token_client_for(member).patch(f"/api/v1/teams/{team.slug}/", {"description": "x"}, format="json")
    assert refused.status_code == 403
    updated = token_client_for(lead).patch(
        f"/api/v1/teams/{team.slug}/", {"description": "Scores card payments."}, format="json"
    )
    assert updated.status_code == 200
    team.refresh_from_db()
    assert team.description == "Scores card payments."


def test_users_me(token_client_for, lead, team):
    body = token_client_for(lead).get("/api/v1/users/me/").json()
    assert body["username"] == "lucia"
    assert body["teams"] == [{"id": team.id, "slug": "fraud", "name": "Fraud", "role": "lead"}]


def test_session_auth_works_for_api(client, member):
    client.force_login(member)
    assert client.get("/api/v1/users/me/").json()["username"] == "priya"


def test_unknown_api_path_is_json_404(token_client_for, member):
    response = token_client_for(member).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"] == "Not found."


def test_malformed_json_is_400_with_message(token_client_for, staff):
    response = token_client_for(staff).post("/api/v1/teams/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]


def test_openapi_schema_and_offline_docs(client, member):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/teams/" in schema.content
    client.force_login(member)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar" in docs.content or b"/static/" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_drf_create_token_command(member):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("drf_create_token", member.username, stdout=out)
    assert "Generated token" in out.getvalue()
