"""API: a person's notifications, and a team's channels (members read, leads manage, outsiders see nothing)."""

import pytest
from django.urls import reverse

from incidents.services.incidents import incident_open
from notifications.models import Channel, ChannelKind, Notification, NotificationSend, SendStatus
from notifications.outbound import REFUSED_ADDRESS
from notifications.services.channels import CHANNEL_PAUSED_FOR, EVENTS_UNKNOWN, NOT_A_LEAD, channel_create
from notifications.services.sends import REPLAY_NOT_DONE
from tests.factories import MembershipFactory, TeamFactory
from tests.notifications.helpers import deliver_due, dispatch_all, run_all

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"


@pytest.fixture
def noticed(team, lead, member):
    for title in ("First", "Second", "Third"):
        incident_open(team=team, title=title, created_by=lead)
    dispatch_all()
    return list(Notification.objects.filter(user=member).order_by("-created_at", "-id"))


def test_notifications_newest_first_and_unread_filter(member, token_client_for, noticed):
    client = token_client_for(member)
    answer = client.get("/api/v1/notifications/")
    assert answer.status_code == 200
    titles = [item["title"].split(": ", 1)[1] for item in answer.json()["results"]]
    assert titles == ["Third", "Second", "First"]
    first = answer.json()["results"][0]
    assert first["kind"] == "incident.opened" and first["read"] is False and first["url"].startswith("http")
    assert first["facts"]["severity"] == "SEV3"
    assert client.post(f"/api/v1/notifications/{noticed[0].pk}/read/").json()["read"] is True
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert [item["id"] for item in unread["results"]] == [noticed[1].pk, noticed[2].pk]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}


def test_another_persons_notification_is_not_found(lead, outsider, token_client_for, noticed):
    client = token_client_for(outsider)
    assert client.get(f"/api/v1/notifications/{noticed[0].pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{noticed[0].pk}/read/").status_code == 404
    assert client.post("/api/v1/notifications/abc/read/").status_code == 404
    noticed[0].refresh_from_db()
    assert noticed[0].read_at is None


def test_notifications_need_a_sign_in(api_client):
    assert api_client.get("/api/v1/notifications/").status_code in (401, 403)


def test_a_lead_creates_a_webhook_channel_and_sees_its_secret_once(team, lead, token_client_for):
    client = token_client_for(lead)
    answer = client.post(
        "/api/v1/channels/",
        {
            "team": "fraud",
            "kind": "webhook",
            "name": "Pager bridge",
            "url": "https://hooks.example.com/kintsugi",
            "events": ["*"],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["*"] and body["active"] is True
    assert Channel.objects.get().secret == body["secret"]
    again = client.get(f"/api/v1/channels/{body['id']}/").json()
    assert "secret" not in again
    assert again["url"] == "https://hooks.example.com/kintsugi"


def test_members_read_channels_without_their_credentials_and_cannot_change_them(team, lead, member, token_client_for):
    lead_client, member_client = token_client_for(lead), token_client_for(member)
    created = lead_client.post(
        "/api/v1/channels/",
        {"team": team.pk, "kind": "slack", "name": "#ml-incidents", "url": SLACK_URL, "events": ["incident.opened"]},
        format="json",
    ).json()
    listed = member_client.get("/api/v1/channels/").json()["results"]
    assert [item["name"] for item in listed] == ["#ml-incidents"]
    assert listed[0]["url"] == "https://hooks.slack.com/…"  # the webhook URL is a credential
    for method, path, data in (
        (
            "post",
            "/api/v1/channels/",
            {"team": "fraud", "kind": "slack", "name": "x", "url": SLACK_URL, "events": ["*"]},
        ),
        ("patch", f"/api/v1/channels/{created['id']}/", {"active": False}),
        ("delete", f"/api/v1/channels/{created['id']}/", None),
        ("post", f"/api/v1/channels/{created['id']}/test/", None),
    ):
        answer = getattr(member_client, method)(path, data, format="json")
        assert answer.status_code == 403, (method, path)
        assert answer.json()["message"] == NOT_A_LEAD.format(team=team)
    assert Channel.objects.get().active


def test_outsiders_see_no_channel_of_another_team(team, lead, outsider, token_client_for):
    lead_client = token_client_for(lead)
    created = lead_client.post(
        "/api/v1/channels/",
        {"team": "fraud", "kind": "slack", "name": "#ml", "url": SLACK_URL, "events": ["*"]},
        format="json",
    ).json()
    client = token_client_for(outsider)
    assert client.get("/api/v1/channels/").json()["results"] == []
    assert client.get(f"/api/v1/channels/{created['id']}/").status_code == 404
    assert client.post(f"/api/v1/channels/{created['id']}/test/").status_code == 404
    # Naming a team one is not in answers like a team that does not exist.
    answer = client.post(
        "/api/v1/channels/",
        {"team": "fraud", "kind": "slack", "name": "mine", "url": SLACK_URL, "events": ["*"]},
        format="json",
    )
    assert answer.status_code == 400 and "team" in answer.json()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"events": ["incident.exploded"]}, "events", None),
        ({"events": []}, "events", None),
        ({"events": "incident.opened"}, "events", None),
        ({"url": "ftp://example.com/"}, "url", None),
        ({"url": "http://10.0.0.7/hook"}, "url", REFUSED_ADDRESS.format(host="10.0.0.7", address="10.0.0.7")),
        ({"url": "http://[::1]/hook"}, "url", None),
        ({"kind": "email", "url": "not an address"}, "url", None),
        ({"kind": "pager"}, "kind", None),
        ({"name": ""}, "name", None),
    ],
)
def test_bad_channels_are_refused_with_the_field_named(team, lead, token_client_for, payload, field, message):
    data = {"team": "fraud", "kind": "webhook", "name": "Bridge", "url": "https://hooks.example.com/k", "events": ["*"]}
    data.update(payload)
    answer = token_client_for(lead).post("/api/v1/channels/", data, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()
    if message:
        assert answer.json()[field] == [message]
    assert not Channel.objects.exists()


def test_unknown_event_names_are_listed(team, lead, token_client_for):
    answer = token_client_for(lead).post(
        "/api/v1/channels/",
        {"team": "fraud", "kind": "slack", "name": "x", "url": SLACK_URL, "events": ["incident.exploded"]},
        format="json",
    )
    assert answer.json()["events"][0].startswith(EVENTS_UNKNOWN.split("{")[0])


def test_a_lead_changes_tests_and_deletes_a_channel(team, lead, token_client_for, django_capture_on_commit_callbacks):
    client = token_client_for(lead)
    created = client.post(
        "/api/v1/channels/",
        {
            "team": "fraud",
            "kind": "teams",
            "name": "ML channel",
            "url": "https://example.webhook.office.com/x",
            "events": ["*"],
        },
        format="json",
    ).json()
    changed = client.patch(
        f"/api/v1/channels/{created['id']}/",
        {"events": ["postmortem.published", "incident.opened"], "active": False},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["events"] == ["incident.opened", "postmortem.published"]
    assert (
        client.patch(f"/api/v1/channels/{created['id']}/", {"kind": "slack"}, format="json").json()["active"] is False
    )
    with django_capture_on_commit_callbacks() as queued:
        tested = client.post(f"/api/v1/channels/{created['id']}/test/")
    assert tested.status_code == 202 and tested.json()["status"] == "pending" and tested.json()["event"] is None
    assert len(queued) == 1  # sent by a worker, never on the request's path
    log = client.get(f"/api/v1/channels/{created['id']}/sends/").json()
    assert [item["id"] for item in log["results"]] == [tested.json()["id"]]
    assert client.delete(f"/api/v1/channels/{created['id']}/").status_code == 204
    assert not NotificationSend.objects.exists()


def test_staff_see_every_teams_channels(team, lead, staff, token_client_for):
    other = TeamFactory(name="Search", slug="search")
    other_lead = MembershipFactory(team=other, role="lead").user
    for owner, slug in ((lead, "fraud"), (other_lead, "search")):
        token_client_for(owner).post(
            "/api/v1/channels/",
            {"team": slug, "kind": "slack", "name": f"#{slug}", "url": SLACK_URL, "events": ["*"]},
            format="json",
        )
    names = [item["name"] for item in token_client_for(staff).get("/api/v1/channels/").json()["results"]]
    assert sorted(names) == ["#fraud", "#search"]
    filtered = token_client_for(staff).get("/api/v1/channels/?team=search").json()["results"]
    assert [item["name"] for item in filtered] == ["#search"]


def test_the_schema_documents_notifications_and_channels(client, member):
    client.force_login(member)
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/read/",
        "/api/v1/notifications/read-all/",
        "/api/v1/channels/",
        "/api/v1/channels/{id}/",
        "/api/v1/channels/{id}/test/",
    ):
        assert path in paths, path
    assert "secret" in schema["components"]["schemas"]["ChannelCreated"]["properties"]
    kinds = schema["components"]["schemas"]["ChannelKindEnum"]["enum"]
    assert set(kinds) == set(ChannelKind.values)


def test_staff_read_their_own_notifications(team, lead, staff, token_client_for):
    incident = incident_open(team=team, title="Drift")  # by a pipeline: nobody leads it, so the ask stays open
    from notifications.services.events import notify_event

    notify_event(kind="incident.severity_raised", incident=incident, actor=lead, recipients=[staff])
    dispatch_all()
    client = token_client_for(staff)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert len(client.get("/api/v1/notifications/").json()["results"]) == 1


def test_a_notice_of_an_incident_restricted_later_is_hidden(team, lead, member, token_client_for, outsider):
    from incidents.services.incidents import incident_update
    from notifications.services.events import notify_event

    incident = incident_open(team=team, title="Drift")  # by a pipeline: nobody leads it, so the ask stays open
    notify_event(kind="incident.severity_raised", incident=incident, actor=lead, recipients=[outsider])
    dispatch_all()
    client = token_client_for(outsider)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    incident_update(incident=incident, actor=lead, restricted=True)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert client.get("/api/v1/notifications/").json()["results"] == []


def test_the_delivery_log_is_replayed_through_the_api(
    team, lead, member, outsider, receiver, token_client_for, django_capture_on_commit_callbacks
):
    slack = Channel.objects.create(
        team=team, kind=ChannelKind.SLACK, name="#ml", url=receiver.url("/slack"), events=["*"], created_by=lead
    )
    receiver.answers = [404, 200]  # refused for good the first time: failed, then fixed on the receiver's side
    incident_open(team=team, title="Scores drifted", created_by=lead)
    run_all()
    (send,) = NotificationSend.objects.filter(channel=slack)
    assert send.status == SendStatus.FAILED and send.response_code == 404
    log = token_client_for(member).get(f"/api/v1/sends/?channel={slack.pk}&status=failed").json()
    assert [item["id"] for item in log["results"]] == [send.pk]
    assert log["results"][0]["channel"] == slack.pk
    assert token_client_for(member).post(f"/api/v1/sends/{send.pk}/replay/").status_code == 403
    assert token_client_for(outsider).post(f"/api/v1/sends/{send.pk}/replay/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        answer = token_client_for(lead).post(f"/api/v1/sends/{send.pk}/replay/")
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == SendStatus.PENDING and answer.json()["replays"] == 1
    deliver_due()
    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.replays == 1
    first, again = receiver.received("/slack")
    assert first.body == again.body
    # Only a sent or failed message is sent again: one already waiting is refused, and loses nothing.
    NotificationSend.objects.filter(pk=send.pk).update(status=SendStatus.RETRYING)
    refused = token_client_for(lead).post(f"/api/v1/sends/{send.pk}/replay/")
    assert refused.status_code == 400 and refused.json()["status"] == [REPLAY_NOT_DONE]
    assert NotificationSend.objects.get(pk=send.pk).replays == 1


def test_a_persons_emails_are_in_no_channel_log(team, lead, member, token_client_for):
    incident_open(team=team, title="Scores drifted", created_by=lead, owner=member)
    dispatch_all()
    assert NotificationSend.objects.filter(user=member).exists()
    assert token_client_for(member).get("/api/v1/sends/").json()["results"] == []
    assert token_client_for(member).get("/api/v1/sends/?channel=abc").status_code == 400


def test_the_openapi_schema_documents_replay_and_following(client, member):
    client.force_login(member)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    replay = schema["paths"]["/api/v1/sends/{id}/replay/"]["post"]
    assert "202" in replay["responses"]
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/follows/"])
    assert "delete" in schema["paths"]["/api/v1/follows/{id}/"]


def test_a_channel_paused_for_a_reason_says_why_and_refuses_a_test_until_resumed(team, lead, token_client_for):
    paused = channel_create(
        team=team,
        actor=lead,
        kind=ChannelKind.SLACK,
        name="#ml",
        url=SLACK_URL,
        events=["*"],
        paused_reason="Demo channel: its URL is a placeholder.",
    )
    client = token_client_for(lead)
    listed = client.get(f"/api/v1/channels/{paused.pk}/").json()
    assert listed["active"] is False and listed["paused_reason"] == "Demo channel: its URL is a placeholder."
    refused = client.post(f"/api/v1/channels/{paused.pk}/test/")
    assert refused.status_code == 400
    assert refused.json()["active"] == [CHANNEL_PAUSED_FOR.format(channel="#ml", reason=paused.paused_reason)]
    assert not NotificationSend.objects.exists()
    resumed = client.patch(f"/api/v1/channels/{paused.pk}/", {"active": True}, format="json").json()
    assert resumed["active"] is True and resumed["paused_reason"] == ""
