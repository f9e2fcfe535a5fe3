"""Sending for real: a loopback HTTP receiver, a loopback SMTP server, signatures checked by standardwebhooks."""

import json
import socket
import time
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from slack_sdk.models.blocks import Block
from standardwebhooks.webhooks import Webhook

from incidents.services.incidents import incident_assign_owner, incident_open, incident_transition
from notifications.messages import RESTRICTED_TEXT, SLACK_HEADER_MAX
from notifications.models import ChannelKind, EmailWhen, Event, EventKind, NotificationSend, SendStatus
from notifications.outbound import REFUSED_ADDRESS, REFUSED_METADATA, OutboundRefused, post_json
from notifications.services.channels import CHANNEL_PAUSED_FOR, channel_create, channel_send_test, channel_update
from notifications.services.inbox import email_preferences_set
from notifications.services.sends import NOT_SENT_PAUSED, REPLAY_NOT_DONE, send_deliver, send_replay
from tests.notifications.helpers import deliver_due, dispatch_all, run_all

pytestmark = pytest.mark.django_db

WEBHOOK_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "notifications" / "schemas" / "webhook-v1.schema.json").read_text()
)

# The body a Teams workflow ("When a Teams webhook request is received") takes: a message whose
# attachments are Adaptive Cards (Microsoft Learn, "Create incoming webhooks with Workflows").
TEAMS_MESSAGE_SHAPE = {
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "properties": {
                            "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
                            "type": {"const": "AdaptiveCard"},
                            "version": {"enum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]},
                            "body": {
                                "type": "array",
                                "items": {
                                    "oneOf": [
                                        {
                                            "type": "object",
                                            "required": ["type", "text"],
                                            "properties": {"type": {"const": "TextBlock"}, "text": {"type": "string"}},
                                        },
                                        {
                                            "type": "object",
                                            "required": ["type", "facts"],
                                            "properties": {
                                                "type": {"const": "FactSet"},
                                                "facts": {
                                                    "type": "array",
                                                    "items": {
                                                        "type": "object",
                                                        "required": ["title", "value"],
                                                        "additionalProperties": False,
                                                        "properties": {
                                                            "title": {"type": "string"},
                                                            "value": {"type": "string"},
                                                        },
                                                    },
                                                },
                                            },
                                        },
                                    ]
                                },
                            },
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "title", "url"],
                                    "properties": {"type": {"const": "Action.OpenUrl"}, "url": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def channel(team, lead, receiver, kind=ChannelKind.SLACK, path="/hook", events=("*",), name=None):
    return channel_create(
        team=team, actor=lead, kind=kind, name=name or f"{kind} {path}", url=receiver.url(path), events=list(events)
    )


def declare(team, lead, **options):
    return incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=lead, **options)


def test_slack_gets_block_kit_as_slack_documents_it(team, lead, member, receiver):
    channel(team, lead, receiver, ChannelKind.SLACK)
    declare(team, lead, severity="SEV2", environment="production")
    sends = run_all()
    assert [send.status for send in sends] == [SendStatus.SENT]
    (request,) = receiver.received()
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"].startswith("INC-") and "Scores drifted" in body["text"]
    for block in body["blocks"]:
        # Slack's SDK models refuse a block that breaks the documented limits.
        Block.parse(block).validate_json()
    header, section, actions, _context = body["blocks"]
    assert header["type"] == "header" and len(header["text"]["text"]) <= SLACK_HEADER_MAX
    assert {"type": "mrkdwn", "text": "*Severity*\nSEV2"} in section["fields"]
    assert {"type": "mrkdwn", "text": "*Environment*\nproduction"} in section["fields"]
    assert actions["elements"][0]["url"].endswith(f"/incidents/{Event.objects.get().incident_id}/")


def test_slack_text_is_escaped_and_long_titles_clipped(team, lead, receiver):
    channel(team, lead, receiver, ChannelKind.SLACK)
    incident_open(team=team, title="<!channel> & " + "x" * 280, created_by=lead)
    run_all()
    body = receiver.received()[0].json()
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= SLACK_HEADER_MAX
    Block.parse(body["blocks"][0]).validate_json()
    assert "<!channel>" not in json.dumps(body["blocks"][1])


def test_teams_gets_an_adaptive_card_in_a_message(team, lead, receiver):
    channel(team, lead, receiver, ChannelKind.TEAMS)
    declare(team, lead)
    run_all()
    body = receiver.received()[0].json()
    jsonschema.validate(body, TEAMS_MESSAGE_SHAPE)
    card = body["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith("INC-")
    assert card["actions"][0]["title"] == "Open in Kintsugi"


def test_mattermost_and_discord_get_slack_compatible_attachments(team, lead, receiver):
    channel(team, lead, receiver, ChannelKind.MATTERMOST, path="/mattermost")
    channel(team, lead, receiver, ChannelKind.DISCORD, path="/api/webhooks/1/abc")
    declare(team, lead)
    run_all()
    mattermost = receiver.received("/mattermost")[0].json()
    discord = receiver.received("/api/webhooks/1/abc/slack")[0].json()  # Discord's Slack-compatible endpoint
    for body in (mattermost, discord):
        attachment = body["attachments"][0]
        assert attachment["title"].startswith("INC-")
        assert attachment["title_link"].startswith("http")
        assert {field["title"] for field in attachment["fields"]} >= {"Severity", "Team"}


def test_outbound_webhooks_are_signed_and_match_the_documented_body(team, lead, member, receiver):
    hook = channel(team, lead, receiver, ChannelKind.WEBHOOK)
    assert hook.secret.startswith("whsec_")
    declare(team, lead, severity="SEV1", environment="production")
    run_all()
    (request,) = receiver.received()
    payload = Webhook(hook.secret).verify(request.body, request.headers)
    jsonschema.validate(payload, WEBHOOK_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert payload["type"] == EventKind.INCIDENT_OPENED
    assert payload["version"] == 1
    assert payload["data"]["incident"]["severity"] == "SEV1"
    assert payload["data"]["incident"]["title"] == "Scores drifted after the v14 retrain"
    assert request.headers["webhook-id"] == NotificationSend.objects.get().message_id
    # A wrong key, or a body changed on the way, does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(hook.secret).verify(request.body.replace(b"SEV1", b"SEV4"), request.headers)


def test_a_restricted_incident_reaches_chat_without_its_title(team, lead, member, receiver):
    channel(team, lead, receiver, ChannelKind.SLACK, path="/slack")
    hook = channel(team, lead, receiver, ChannelKind.WEBHOOK, path="/webhook")
    declare(team, lead, restricted=True, environment="production")
    run_all()
    slack = receiver.received("/slack")[0]
    assert b"Scores drifted" not in slack.body
    assert RESTRICTED_TEXT in slack.json()["blocks"][1]["text"]["text"]
    webhook = receiver.received("/webhook")[0]
    assert b"Scores drifted" not in webhook.body
    payload = Webhook(hook.secret).verify(webhook.body, webhook.headers)
    jsonschema.validate(payload, WEBHOOK_SCHEMA)
    assert payload["data"]["restricted"] is True
    assert set(payload["data"]["incident"]) == {"id", "reference", "url"}


def test_a_channel_hears_only_the_events_it_chose(team, lead, member, receiver):
    channel(team, lead, receiver, events=[EventKind.INCIDENT_RESOLVED])
    incident = declare(team, lead)
    run_all()
    assert receiver.received() == []
    incident_transition(incident=incident, to_status="resolved", actor=lead)
    run_all()
    assert "resolved" in receiver.received()[0].json()["text"]


def test_a_receiver_answering_500_then_200_gets_it_once_after_a_backoff(team, lead, receiver, settings):
    settings.KINTSUGI_NOTIFY_RETRY_BACKOFF = 30
    receiver.answers = [500, 200]
    channel(team, lead, receiver)
    declare(team, lead)
    now = timezone.now()
    (first,) = run_all(now)
    assert (first.status, first.response_code, first.attempts) == (SendStatus.RETRYING, 500, 1)
    assert first.next_attempt_at == now + timedelta(seconds=30)
    assert deliver_due(now + timedelta(seconds=29)) == []  # not due yet
    (second,) = deliver_due(now + timedelta(seconds=30))
    assert (second.status, second.response_code, second.attempts) == (SendStatus.SENT, 200, 2)
    assert len(receiver.received()) == 2
    assert deliver_due(now + timedelta(hours=2)) == []  # nothing left to send


@pytest.fixture
def published_countdowns():
    """Record the seconds ahead that each send task is published with (None: at once), as the broker is told."""
    from celery.signals import before_task_publish
    from django.utils.dateparse import parse_datetime

    seen = []

    def record(sender=None, headers=None, **kwargs):
        if sender == "notifications.tasks.send_deliver_task":
            eta = (headers or {}).get("eta")
            seen.append(None if eta is None else (parse_datetime(eta) - timezone.now()).total_seconds())

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


def test_a_retry_due_later_than_the_broker_holds_a_task_is_queued_in_hops(
    team, lead, receiver, settings, published_countdowns
):
    """Redis would hand a task held past its visibility timeout to another worker: no countdown is that long."""
    settings.KINTSUGI_BROKER_VISIBILITY_TIMEOUT = 40
    settings.KINTSUGI_NOTIFY_RETRY_BACKOFF = 300
    receiver.answers = [503, 200]
    channel(team, lead, receiver)
    declare(team, lead)
    dispatch_all()
    published_countdowns.clear()
    now = timezone.now()
    (send,) = deliver_due(now)
    assert send.status == SendStatus.RETRYING and send.next_attempt_at == now + timedelta(seconds=300)
    assert len(published_countdowns) == 1 and 0 < published_countdowns[0] <= 20

    # The hop runs early: the send is not due, nothing is sent, and the next hop is queued.
    assert send_deliver(send_id=send.pk, now=now + timedelta(seconds=20)) is None
    assert len(receiver.received()) == 1
    assert len(published_countdowns) == 2 and 0 < published_countdowns[1] <= 20

    # Once due, the same task sends it; a hop arriving after that queues nothing more.
    assert send_deliver(send_id=send.pk, now=now + timedelta(seconds=300)).status == SendStatus.SENT
    assert send_deliver(send_id=send.pk, now=now + timedelta(seconds=320)) is None
    assert len(receiver.received()) == 2 and len(published_countdowns) == 2


def test_retries_back_off_exponentially_then_fail(team, lead, receiver, settings):
    settings.KINTSUGI_NOTIFY_RETRY_BACKOFF = 10
    settings.KINTSUGI_NOTIFY_MAX_ATTEMPTS = 4
    receiver.answers = [503]
    channel(team, lead, receiver)
    declare(team, lead)
    dispatch_all()
    now, gaps = timezone.now(), []
    for _ in range(4):
        (send,) = deliver_due(now)
        if send.next_attempt_at:
            gaps.append((send.next_attempt_at - now).total_seconds())
            now = send.next_attempt_at
    assert gaps == [10, 20, 40]
    assert send.status == SendStatus.FAILED and send.attempts == 4 and send.response_code == 503


def test_a_receiver_refusing_the_message_for_good_is_not_retried(team, lead, receiver):
    receiver.answers = [410]
    channel(team, lead, receiver)
    declare(team, lead)
    (send,) = run_all()
    assert (send.status, send.response_code) == (SendStatus.FAILED, 410)


def test_redirects_are_not_followed(team, lead, receiver):
    receiver.answers = [302]
    channel(team, lead, receiver)
    declare(team, lead)
    (send,) = run_all()
    assert send.status == SendStatus.FAILED and send.response_code == 302
    assert [request.path for request in receiver.received()] == ["/hook"]  # never /elsewhere


def test_a_receiver_that_hangs_is_given_up_on_quickly(team, lead, receiver, settings):
    settings.KINTSUGI_OUTBOUND_TIMEOUT = 0.5
    receiver.answers = ["hang"]
    channel(team, lead, receiver)
    declare(team, lead)
    started = time.monotonic()
    (send,) = run_all()
    assert time.monotonic() - started < 5
    assert send.status == SendStatus.RETRYING
    assert "timed out" in send.error.lower()


def test_a_receiver_refusing_the_connection_is_tried_again_later(team, lead, receiver):
    with socket.socket() as probe:  # a loopback port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel_create(
        team=team, actor=lead, kind=ChannelKind.SLACK, name="gone", url=f"http://127.0.0.1:{port}/hook", events=["*"]
    )
    declare(team, lead)
    (send,) = run_all()
    assert (send.status, send.attempts, send.response_code) == (SendStatus.RETRYING, 1, None)
    assert "refused" in send.error.lower()
    assert send.next_attempt_at > timezone.now()


def test_private_addresses_are_refused_unless_allowed(team, lead, receiver, settings):
    hook = channel(team, lead, receiver)  # created while allowed
    settings.KINTSUGI_OUTBOUND_ALLOW_PRIVATE = False
    declare(team, lead)
    (send,) = run_all()
    assert send.status == SendStatus.FAILED  # refused: no retry will change that
    assert send.error == REFUSED_ADDRESS.format(host="127.0.0.1", address="127.0.0.1")
    assert receiver.received() == []
    # A name resolving to loopback is refused at connect time too.
    with pytest.raises(OutboundRefused, match="loopback"):
        post_json(f"http://localhost:{receiver.port}/hook", b"{}")
    assert receiver.received() == []
    assert hook.pk


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/"])
def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed(settings, url):
    settings.KINTSUGI_OUTBOUND_ALLOW_PRIVATE = True
    with pytest.raises(OutboundRefused) as refused:
        post_json(url, b"{}")
    assert str(refused.value) == REFUSED_METADATA.format(host=url.split("/")[2].strip("[]"), address="169.254.169.254")


def test_a_retried_task_sends_once(team, lead, receiver):
    channel(team, lead, receiver)
    declare(team, lead)
    dispatch_all()
    send_id = NotificationSend.objects.get().pk
    assert send_deliver(send_id=send_id).status == SendStatus.SENT
    assert send_deliver(send_id=send_id) is None  # the redelivered task finds it sent
    assert len(receiver.received()) == 1


def test_a_send_another_worker_holds_is_left_alone(team, lead, receiver):
    channel(team, lead, receiver)
    declare(team, lead)
    dispatch_all()
    send = NotificationSend.objects.get()
    NotificationSend.objects.filter(pk=send.pk).update(
        status=SendStatus.SENDING, claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert send_deliver(send_id=send.pk) is None
    assert receiver.received() == []
    # Once that worker's claim has run out (it was lost), the send is attempted again.
    later = timezone.now() + timedelta(minutes=2)
    assert send_deliver(send_id=send.pk, now=later).status == SendStatus.SENT


def test_replay_sends_again_with_the_same_message_id(team, lead, receiver, django_capture_on_commit_callbacks):
    hook = channel(team, lead, receiver, ChannelKind.WEBHOOK)
    declare(team, lead)
    (send,) = run_all()
    with pytest.raises(ValueError, match=REPLAY_NOT_DONE):
        NotificationSend.objects.filter(pk=send.pk).update(status=SendStatus.RETRYING)
        send_replay(send=send)
    NotificationSend.objects.filter(pk=send.pk).update(status=SendStatus.SENT)
    with django_capture_on_commit_callbacks():
        replayed = send_replay(send=send)
    assert replayed.replays == 1 and replayed.status == SendStatus.PENDING
    deliver_due()
    first, second = receiver.received()
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(hook.secret).verify(second.body, second.headers)


def test_a_test_message_reaches_each_kind_of_channel(team, lead, receiver, inbox):
    hook = channel(team, lead, receiver, ChannelKind.WEBHOOK, path="/webhook")
    slack = channel(team, lead, receiver, ChannelKind.SLACK, path="/slack")
    mail = channel_create(
        team=team, actor=lead, kind=ChannelKind.EMAIL, name="List", url="ml-team@example.com", events=["*"]
    )
    for target in (hook, slack, mail):
        channel_send_test(channel=target, actor=lead)
    sends = deliver_due()
    assert {send.status for send in sends} == {SendStatus.SENT}
    payload = Webhook(hook.secret).verify(
        receiver.received("/webhook")[0].body, receiver.received("/webhook")[0].headers
    )
    jsonschema.validate(payload, WEBHOOK_SCHEMA)
    assert payload["type"] == "test"
    assert receiver.received("/slack")[0].json()["text"] == "Test message from Kintsugi"
    assert inbox.to("ml-team@example.com")[0]["Subject"] == "Test message from Kintsugi"


def test_emails_go_to_whoever_is_asked_and_wants_them(team, lead, member, inbox):
    incident = declare(team, lead)
    run_all()
    assert inbox.to(member.email) == []  # the opening is told to the team, in the app
    incident_assign_owner(incident=incident, owner=member, actor=lead)
    run_all()
    # Asked to lead it: emailed by default.
    (message,) = inbox.to(member.email)
    assert message["Subject"].startswith(f"{incident.reference} is now led by {member.get_full_name()}")
    text = message.get_body(("plain",)).get_content()
    assert f"/incidents/{incident.pk}/" in text
    assert "&#x27;" not in message["Subject"]
    # Asking for every opening by email brings the next one.
    email_preferences_set(user=member, choices={EventKind.INCIDENT_OPENED: EmailWhen.ALWAYS})
    declare(team, lead)
    run_all()
    assert len(inbox.to(member.email)) == 2
    email_preferences_set(user=member, choices={EventKind.INCIDENT_OWNER_ASSIGNED: EmailWhen.NEVER})
    incident_assign_owner(incident=incident, owner=lead, actor=lead)
    incident_assign_owner(incident=incident, owner=member, actor=lead)
    run_all()
    assert len(inbox.to(member.email)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_send_send_it_once(team, lead, receiver):
    import threading

    from django.db import connection

    channel(team, lead, receiver, ChannelKind.WEBHOOK)
    declare(team, lead)
    dispatch_all()
    send_id = NotificationSend.objects.get().pk
    start = threading.Barrier(2)
    results = []

    def worker():
        start.wait()
        try:
            results.append(send_deliver(send_id=send_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(result is None for result in results) == [False, True]  # one claimed it, the other found it taken
    assert len(receiver.received()) == 1
    assert NotificationSend.objects.get().status == SendStatus.SENT


def test_a_channel_paused_for_a_reason_is_sent_nothing_until_a_lead_answers_it(
    team, lead, receiver, django_capture_on_commit_callbacks
):
    hook = channel(team, lead, receiver, ChannelKind.WEBHOOK)
    declare(team, lead)
    (sent,) = run_all()
    waiting = NotificationSend.objects.create(
        channel=hook, created_at=timezone.now(), next_attempt_at=timezone.now(), status=SendStatus.RETRYING
    )
    reason = "Its receiver moves to a new address on Monday."
    channel_update(channel=hook, actor=lead, active=False)
    hook.paused_reason = reason
    hook.save(update_fields=["paused_reason"])
    # A message still waiting ends unsent, saying why; nothing reaches the receiver.
    ended = send_deliver(send_id=waiting.pk)
    assert ended.status == SendStatus.FAILED and ended.error == NOT_SENT_PAUSED.format(reason=reason)
    paused = CHANNEL_PAUSED_FOR.format(channel=hook.name, reason=reason)
    with pytest.raises(ValidationError, match=paused):
        channel_send_test(channel=hook, actor=lead)
    with pytest.raises(ValueError, match=paused):
        send_replay(send=sent)
    assert len(receiver.received()) == 1
    # A new URL answers the reason: the channel stays paused, and a test message goes out again.
    channel_update(channel=hook, actor=lead, url=receiver.url("/moved"))
    assert not hook.active and hook.paused_reason == ""
    with django_capture_on_commit_callbacks():
        channel_send_test(channel=hook, actor=lead)
    deliver_due()
    assert len(receiver.received("/moved")) == 1


def test_resuming_a_channel_clears_why_it_was_paused(team, lead, receiver):
    chat = channel_create(
        team=team,
        actor=lead,
        kind=ChannelKind.SLACK,
        name="#ml",
        url=receiver.url("/hook"),
        events=["*"],
        paused_reason="Demo channel.",
    )
    assert not chat.active and chat.paused_reason == "Demo channel."
    channel_update(channel=chat, actor=lead, events=["incident.opened"])
    assert chat.paused_reason == "Demo channel."
    channel_update(channel=chat, actor=lead, active=True)
    chat.refresh_from_db()
    assert chat.active and chat.paused_reason == ""
