"""End to end with a real worker: a signed failing delivery reaches the app, the inbox, Slack and a webhook."""

import time

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from incidents.models import Incident
from notifications.models import ChannelKind, Notification, NotificationSend, SendStatus
from notifications.services.channels import channel_create
from postmortems.services.postmortems import postmortem_start
from tests.factories import SourceFactory
from tests.incidents.ingest.github import delivery, deployment_status_payload, post
from tests.notifications.receivers import wait_until
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db(transaction=True)


def send_failure(source, deployment_id: int = 145988746):
    headers, body = delivery(
        "deployment_status", deployment_status_payload(state="failure", at=timezone.now(), deployment_id=deployment_id)
    )
    answer = post(Client(), source, headers, body)
    assert answer.status_code == 202, answer.content


def test_a_failing_delivery_is_heard_once_everywhere(celery_worker, team, lead, member, receiver, inbox):
    source = SourceFactory(team=team, name="fraud-serving", kind="github", created_by=lead)
    channel_create(
        team=team, actor=lead, kind=ChannelKind.SLACK, name="#ml-incidents", url=receiver.url("/slack"), events=["*"]
    )
    hook = channel_create(
        team=team,
        actor=lead,
        kind=ChannelKind.WEBHOOK,
        name="Bridge",
        url=receiver.url("/webhook"),
        events=["incident.opened"],
    )
    started = time.monotonic()
    send_failure(source)
    assert wait_until(
        lambda: (
            receiver.received("/slack")
            and receiver.received("/webhook")
            and inbox.to(lead.email)
            and Notification.objects.filter(user=member).exists()
        )
    ), (receiver.requests, inbox.all(), list(NotificationSend.objects.values("status", "error")))
    elapsed = time.monotonic() - started
    assert elapsed < 20
    # More failures of the same lane join the incident: nothing more is sent.
    for run in range(1, 6):
        send_failure(source, deployment_id=145988746 + run)
    assert wait_until(lambda: Incident.objects.get().timeline.filter(kind="deployment").count() == 6)
    assert wait_until(lambda: not NotificationSend.objects.exclude(status=SendStatus.SENT).exists())
    incident = Incident.objects.get()
    assert len(receiver.received("/slack")) == 1
    (signed,) = receiver.received("/webhook")
    payload = Webhook(hook.secret).verify(signed.body, signed.headers)
    assert payload["type"] == "incident.opened"
    assert payload["data"]["incident"]["reference"] == incident.reference
    assert payload["data"]["incident"]["model"] == "fraud-detector"
    assert payload["data"]["incident"]["version"] == "17"
    assert payload["data"]["incident"]["run_url"] == "https://github.com/acme-ml/fraud-serving/actions/runs/145988746"
    # The source's owner triages the unowned incident: emailed; the rest of the team hears in the app.
    assert len(inbox.all()) == 1
    (email,) = inbox.to(lead.email)
    assert email["Subject"] == f"{incident.reference} opened: {incident.title}"
    assert "fraud-detector v17" in email.get_body(("plain",)).get_content()
    assert Notification.objects.filter(user=member).count() == 1
    assert Notification.objects.get(user=lead).direct
    print(f"\nheard everywhere {elapsed:.2f} s after the delivery was accepted")


def test_sending_a_post_mortem_for_review_tells_the_reviewer(celery_worker, incident, member, reviewer, inbox):
    postmortem = postmortem_start(incident=incident, actor=member)
    in_review(postmortem, member, reviewer)
    assert wait_until(lambda: inbox.to(reviewer.email))
    (email,) = inbox.to(reviewer.email)
    assert email["Subject"] == f"Review requested: {postmortem.title}"
    notice = Notification.objects.get(user=reviewer)
    assert notice.direct and notice.event.kind == "postmortem.review_requested"
