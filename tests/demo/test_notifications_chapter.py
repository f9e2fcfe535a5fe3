"""The notifications chapter: people were told of the story, and Fraud's channels have a log to read."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils.html import escape

from demo.chapters.notifications import SLACK_NAME, SLACK_URL, WEBHOOK_NAME
from incidents.services.incidents import incident_open
from notifications.models import Channel, ChannelKind, Event, Notification, NotificationSend, SendStatus
from notifications.services.channels import CHANNEL_PAUSED_FOR
from notifications.services.sends import send_deliver
from tests.notifications.helpers import run_all

pytestmark = pytest.mark.django_db


def model_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_fraud_has_a_slack_channel_and_a_webhook_with_a_log_and_people_their_notices(client):
    call_command("seed_demo", verbosity=0)
    slack = Channel.objects.get(team__slug="fraud", name=SLACK_NAME)
    webhook = Channel.objects.get(team__slug="fraud", name=WEBHOOK_NAME)
    assert slack.kind == ChannelKind.SLACK and webhook.kind == ChannelKind.WEBHOOK
    assert webhook.secret.startswith("whsec_")
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
    # Nothing of the story is left to send when a worker starts.
    assert not NotificationSend.objects.exclude(status__in=[SendStatus.SENT, SendStatus.FAILED]).exists()
    for channel in (slack, webhook):
        log = list(channel.sends.order_by("created_at"))
        assert log[0].is_test and log[0].status == SendStatus.SENT
        assert all(send.event is None or channel.hears(send.event.kind) for send in log)
        assert all(send.event is None or send.event.team_id == channel.team_id for send in log)
        assert len(log) > 5
    assert slack.sends.filter(attempts=2, status=SendStatus.SENT).count() == 1
    assert webhook.sends.filter(status=SendStatus.FAILED, response_code=404).count() == 1
    assert webhook.sends.filter(replays=1, status=SendStatus.SENT).count() == 1
    demo = get_user_model().objects.get(username="demo")
    assert Notification.objects.filter(user=demo).exists()
    # The team's page shows the channels and the log; the failed message can be replayed by Fraud's lead.
    client.force_login(get_user_model().objects.get(username="lucia"))
    page = client.get("/teams/fraud/").content.decode()
    assert SLACK_NAME in page and WEBHOOK_NAME in page and "Replay" in page and "404" in page
    first = model_counts()
    call_command("seed_demo", verbosity=0)
    assert model_counts() == first


@pytest.fixture
def no_outbound_call(monkeypatch):
    """Fail the test if anything is posted: the demo's channels have placeholder URLs."""

    def refuse(url, *args, **kwargs):
        raise AssertionError(f"posted to {url}")

    monkeypatch.setattr("notifications.services.sends.post_json", refuse)


def test_the_demo_channels_are_paused_for_their_placeholder_urls_and_a_lead_makes_one_real_in_one_edit(
    client, no_outbound_call, django_capture_on_commit_callbacks
):
    call_command("seed_demo", verbosity=0)
    channels = Channel.objects.filter(team__slug="fraud", name__in=[SLACK_NAME, WEBHOOK_NAME])
    assert len(channels) == 2
    for channel in channels:
        assert not channel.active and "placeholder" in channel.paused_reason
    logged = NotificationSend.objects.filter(channel__in=channels).count()
    # What people do in the demo is not sent to the placeholders: no send is written, none attempted.
    lucia = get_user_model().objects.get(username="lucia")
    incident_open(team=channels[0].team, title="Scores drifted after the v19 retrain", created_by=lucia)
    run_all()
    assert NotificationSend.objects.filter(channel__in=channels).count() == logged
    # The channel's page says why it is paused and how to make it real; no test message is offered or queued.
    slack = channels.get(name=SLACK_NAME)
    client.force_login(lucia)
    page = client.get(f"/teams/fraud/channels/{slack.pk}/").content.decode()
    assert "<strong>Paused.</strong> Demo channel: its URL is a placeholder" in page and "incoming-webhook URL" in page
    assert "Send a test message" not in page
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(f"/teams/fraud/channels/{slack.pk}/test/", follow=True)
    assert escape(CHANNEL_PAUSED_FOR.format(channel=SLACK_NAME, reason=slack.paused_reason)) in tested.content.decode()
    assert NotificationSend.objects.filter(channel__in=channels).count() == logged
    team_page = client.get("/teams/fraud/").content.decode()
    assert team_page.count("its URL is a placeholder") == 2
    # One edit: the team's own URL, and active.
    real = "https://hooks.slack.com/services/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"
    saved = client.post(
        f"/teams/fraud/channels/{slack.pk}/edit/",
        {"channel-name": SLACK_NAME, "channel-url": real, "channel-events": slack.events, "channel-active": "on"},
    )
    assert saved.status_code == 302
    slack.refresh_from_db()
    assert slack.active and slack.url == real and slack.paused_reason == ""
    page = client.get(f"/teams/fraud/channels/{slack.pk}/").content.decode()
    assert "its URL is a placeholder" not in page and "Send a test message" in page
    # The next `make run` leaves the channel the lead made real as it is.
    call_command("seed_demo", verbosity=0)
    slack.refresh_from_db()
    assert slack.active and slack.url == real


def test_a_demo_seeded_before_its_channels_were_paused_is_paused_on_the_next_run(no_outbound_call):
    call_command("seed_demo", verbosity=0)
    slack = Channel.objects.get(team__slug="fraud", name=SLACK_NAME)
    # As the seed left it before: active, and a message of the demo waiting for its next try at the placeholder.
    Channel.objects.filter(team__slug="fraud").update(active=True, paused_reason="")
    waiting = slack.sends.exclude(event=None).order_by("created_at").first()
    NotificationSend.objects.filter(pk=waiting.pk).update(
        status=SendStatus.RETRYING, attempts=1, next_attempt_at=waiting.created_at, sent_at=None
    )
    call_command("seed_demo", verbosity=0)
    slack.refresh_from_db()
    assert not slack.active and slack.url == SLACK_URL and "placeholder" in slack.paused_reason
    assert Channel.objects.filter(team__slug="fraud", active=False).count() == 2
    # Its waiting message is not tried at the placeholder again: it ends, saying why.
    ended = send_deliver(send_id=waiting.pk)
    assert ended.status == SendStatus.FAILED and ended.error == f"Not sent: {slack.paused_reason}"
