"""Webhook deliveries skip the middleware that serves people, and keep every header an answer needs."""

import pytest

from tests.factories import SourceFactory
from tests.incidents.ingest.github import delivery, post

pytestmark = pytest.mark.django_db


def test_a_delivery_reaches_its_view_without_session_user_or_messages(client, team):
    source = SourceFactory(team=team, kind="github")
    headers, body = delivery("ping", {"zen": "Design for failure.", "hook_id": 1})
    response = post(client, source, headers, body)
    assert response.status_code == 202
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert "Set-Cookie" not in response.headers
    assert request.resolver_match.view_name == "ingest:receive"


@pytest.mark.parametrize("public_id", ["unknown-source", "Z" * 64])
def test_every_webhook_answer_keeps_its_security_and_framing_headers(client, public_id):
    response = client.post(f"/hooks/{public_id}/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Length"] == str(len(response.content))
    assert "no-store" in response["Cache-Control"]


def test_a_path_under_hooks_that_no_pattern_matches_gets_the_usual_404(client):
    response = client.post("/hooks/a/b/c/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert hasattr(response.wsgi_request, "session")


def test_pages_still_run_the_whole_stack(client, team):
    response = client.get("/")
    assert response.status_code == 302  # sign-in required
    assert hasattr(response.wsgi_request, "user")
    assert response["X-Frame-Options"] == "DENY"
