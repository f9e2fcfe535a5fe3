import json

import pytest

from incidents.ingest.payload_preview import payload_preview
from incidents.models import Delivery
from tests.factories import DeliveryFactory, SourceFactory, TeamFactory

pytestmark = pytest.mark.django_db


def delivery_url(delivery, suffix="") -> str:
    return f"/sources/{delivery.source_id}/deliveries/{delivery.pk}/{suffix}"


# --- the payload viewer, alone ---------------------------------------------------------


def test_preview_indents_json():
    preview = payload_preview(body=b'{"a":{"b":[1,2]}}', content_type="application/json")
    assert preview.format == "json"
    assert preview.text == json.dumps({"a": {"b": [1, 2]}}, indent=2)
    assert not preview.truncated


def test_preview_reads_githubs_form_encoded_payload():
    body = b"payload=%7B%22action%22%3A%22completed%22%7D"
    preview = payload_preview(body=body, content_type="application/x-www-form-urlencoded")
    assert preview.format == "form-json"
    assert '"action": "completed"' in preview.text


def test_preview_shows_text_and_bytes_it_cannot_decode():
    preview = payload_preview(body=b"status=ok \xff\xfe", content_type="text/plain")
    assert preview.format == "text"
    assert preview.text.startswith("status=ok ")
    assert "\ufffd" in preview.text


def test_preview_truncates_large_bodies():
    body = json.dumps({"log": "x" * 5000}).encode()
    preview = payload_preview(body=body, limit=1000)
    assert preview.truncated
    assert len(preview.text) == 1000
    assert preview.size == len(body)


def test_preview_survives_hostile_nesting():
    body = b"[" * 100_000 + b"]" * 100_000
    preview = payload_preview(body=body, limit=50)
    assert preview.format == "text"
    assert preview.truncated


def test_preview_of_an_empty_body():
    assert payload_preview(body=b"").format == "empty"


# --- the delivery page -----------------------------------------------------------------


def test_delivery_page_shows_escaped_pretty_payload_headers_and_error(client, member, team):
    source = SourceFactory(team=team)
    delivery = DeliveryFactory(
        source=source,
        status="failed",
        attempts=5,
        error="Payload has no workflow_run.id.",
        headers={"x-github-event": "workflow_run", "x-github-delivery": "72d3162e"},
        body=json.dumps({"action": "completed", "title": "<script>alert(1)</script>"}).encode(),
        normalized={"kind": "pipeline", "status": "failed", "environment": "production", "sha": ""},
    )
    client.force_login(member)
    response = client.get(delivery_url(delivery))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert '"action": "completed"' in content.replace("&quot;", '"')
    assert "x-github-delivery" in content
    assert "Payload has no workflow_run.id." in content
    assert response.context["normalized"] == {"kind": "pipeline", "status": "failed", "environment": "production"}
    assert delivery_url(delivery, "raw/") in content


def test_large_body_is_truncated_with_a_download_link(client, member, team):
    body = json.dumps({"log": "line\n" * 40_000}).encode()
    delivery = DeliveryFactory(source=SourceFactory(team=team), body=body)
    client.force_login(member)
    response = client.get(delivery_url(delivery))
    assert response.context["preview"].truncated
    assert b"Download the whole body" in response.content
    raw = client.get(delivery_url(delivery, "raw/"))
    assert raw.status_code == 200
    assert raw.content == body
    assert raw["Content-Type"] == "application/octet-stream"
    assert raw["Content-Disposition"].startswith("attachment;")
    assert raw["X-Content-Type-Options"] == "nosniff"


def test_non_json_body_is_shown_as_escaped_text(client, member, team):
    delivery = DeliveryFactory(source=SourceFactory(team=team), body=b"<b>not json</b>", content_type="text/html")
    client.force_login(member)
    response = client.get(delivery_url(delivery))
    assert response.context["preview"].format == "text"
    assert b"&lt;b&gt;not json&lt;/b&gt;" in response.content


def test_delivery_of_another_source_or_team_is_404(client, member, outsider, team):
    mine = SourceFactory(team=team)
    other_team_delivery = DeliveryFactory(source=SourceFactory(team=TeamFactory(slug="search")))
    client.force_login(member)
    assert client.get(f"/sources/{mine.pk}/deliveries/{other_team_delivery.pk}/").status_code == 404
    assert client.get(f"/sources/{mine.pk}/deliveries/{other_team_delivery.pk}/raw/").status_code == 404
    assert client.get(delivery_url(other_team_delivery)).status_code == 404
    client.force_login(outsider)
    delivery = DeliveryFactory(source=mine)
    assert client.get(delivery_url(delivery)).status_code == 404
    assert client.get(delivery_url(delivery, "raw/")).status_code == 404


def test_replay_by_a_member_marks_the_delivery_replayed(client, member, team, django_capture_on_commit_callbacks):
    delivery = DeliveryFactory(source=SourceFactory(team=team), status="failed", attempts=5, error="boom")
    client.force_login(member)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(delivery_url(delivery, "replay/"))
    assert response.status_code == 302
    assert response["Location"] == delivery_url(delivery)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.REPLAYED
    assert delivery.replay_count == 1
    assert delivery.error == ""
    assert callbacks, "processing is queued after the commit"


def test_replay_is_refused_to_outsiders_and_to_get(client, member, outsider, team):
    delivery = DeliveryFactory(source=SourceFactory(team=team), status="failed")
    client.force_login(member)
    assert client.get(delivery_url(delivery, "replay/")).status_code == 405
    client.force_login(outsider)
    assert client.post(delivery_url(delivery, "replay/")).status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_delivery_page_query_count_is_bounded(client, member, team, django_assert_max_num_queries):
    from tests.factories import DeploymentFactory

    source = SourceFactory(team=team)
    deployment = DeploymentFactory(source=source, status="failed")
    delivery = DeliveryFactory(source=source, deployment=deployment, status="processed")
    client.force_login(member)
    with django_assert_max_num_queries(9):
        response = client.get(delivery_url(delivery))
    assert response.status_code == 200
    assert str(deployment) in response.content.decode()
