"""The notifications chapter: people were told of the story, and Fraud's channels have a log to read."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.chapters.notifications import SLACK_NAME, WEBHOOK_NAME
from notifications.models import Channel, ChannelKind, Event, Notification, NotificationSend, SendStatus

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
