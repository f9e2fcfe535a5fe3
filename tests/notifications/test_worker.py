"""End to end with a real worker: the issue's "Done when", and tasks run again by the worker sending nothing more.

The team and people are the demo's (its first chapter): Fraud, led by Lucía; its source is made as the
demo makes the GitHub Actions source of fraud-detector (its severities and model pattern), by Lucía.
A signed failing delivery goes through the webhook; a real Celery worker processes it, dispatches the
event and sends its messages to a loopback Slack receiver, a loopback webhook receiver and a loopback
SMTP server.
"""

import threading
import time
from dataclasses import dataclass

import pytest
from celery.signals import task_postrun
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from demo.chapters import people
from demo.chapters.sources import DEMO_SOURCES
from incidents.models import Incident, Source
from incidents.services.incidents import incident_resolve
from incidents.services.sources import source_create
from notifications.models import ChannelKind, Event, EventKind, Notification, NotificationSend, SendStatus
from notifications.services.channels import channel_create
from notifications.tasks import events_dispatch_task, send_deliver_task
from postmortems.services.postmortems import postmortem_start
from teams.models import Team
from tests.incidents.ingest.github import delivery, deployment_status_payload, post
from tests.notifications.receivers import wait_until
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
DEMO_SOURCE = "fraud-detector GitHub Actions"


@dataclass(frozen=True)
class DemoFraud:
    team: Team
    lead: object
    source: Source
    secret: str
    hook: object


@pytest.fixture
def demo_fraud(receiver):
    """The demo's people, Fraud's GitHub source as the demo makes it (by its lead), its Slack and webhook channels."""
    people.seed()
    fraud = Team.objects.get(slug="fraud")
    lead = User.objects.get(username="lucia")
    ((_, name, kind, severity, pattern, pattern_field),) = [row for row in DEMO_SOURCES if row[1] == DEMO_SOURCE]
    source, secret = source_create(
        team=fraud,
        kind=kind,
        name=name,
        environment_severity=severity,
        model_pattern=pattern,
        model_pattern_field=pattern_field,
        created_by=lead,
    )
    slack_url = receiver.url("/slack")
    channel_create(team=fraud, actor=lead, kind=ChannelKind.SLACK, name="#fraud", url=slack_url, events=["*"])
    hook = channel_create(
        team=fraud, actor=lead, kind=ChannelKind.WEBHOOK, name="Ops", url=receiver.url("/webhook"), events=["*"]
    )
    return DemoFraud(team=fraud, lead=lead, source=source, secret=secret, hook=hook)


def send_failure(demo: DemoFraud, deployment_id: int = 145988746):
    payload = deployment_status_payload(state="failure", at=timezone.now(), deployment_id=deployment_id)
    headers, body = delivery("deployment_status", payload, secret=demo.secret)
    answer = post(Client(), demo.source, headers, body)
    assert answer.status_code == 202, answer.content


def test_done_when_a_failing_delivery_is_heard_everywhere_once_and_a_review_request_reaches_the_reviewer(
    celery_worker, demo_fraud, receiver, inbox
):
    lead, hook = demo_fraud.lead, demo_fraud.hook
    team_members = set(User.objects.filter(memberships__team=demo_fraud.team).exclude(pk=lead.pk))
    assert len(team_members) == 3
    started = time.monotonic()
    send_failure(demo_fraud)
    assert wait_until(
        lambda: (
            receiver.received("/slack")
            and receiver.received("/webhook")
            and inbox.to(lead.email)
            and Notification.objects.filter(user__in=team_members).count() == len(team_members)
        )
    ), (receiver.requests, inbox.all(), list(NotificationSend.objects.values("status", "error")))
    elapsed = time.monotonic() - started
    assert elapsed < 20
    # More failures of the same lane join the incident: nothing more is sent.
    for run in range(1, 4):
        send_failure(demo_fraud, deployment_id=145988746 + run)
    assert wait_until(lambda: Incident.objects.get().timeline.filter(kind="deployment").count() == 4)
    assert wait_until(lambda: not NotificationSend.objects.exclude(status=SendStatus.SENT).exists())
    incident = Incident.objects.get()
    # One in-app notification for each person of the team; the source's owner is asked to triage it.
    for person in team_members:
        assert list(Notification.objects.filter(user=person).values_list("event__kind", "direct")) == [
            (EventKind.INCIDENT_OPENED, False)
        ]
    assert list(Notification.objects.filter(user=lead).values_list("event__kind", "direct")) == [
        (EventKind.INCIDENT_OPENED, True)
    ]
    # One email, to the owner of the source who triages the unowned incident.
    (email,) = inbox.all()
    assert email[0] == [lead.email]
    assert email[1]["Subject"] == f"{incident.reference} opened: {incident.title}"
    assert "fraud-detector v17" in email[1].get_body(("plain",)).get_content()
    # One message at Slack, and one signed webhook that verifies with standardwebhooks.
    (slack,) = receiver.received("/slack")
    assert incident.reference in slack.json()["text"]
    (signed,) = receiver.received("/webhook")
    payload = Webhook(hook.secret).verify(signed.body, signed.headers)
    assert payload["type"] == EventKind.INCIDENT_OPENED
    assert payload["data"]["incident"]["reference"] == incident.reference
    assert payload["data"]["incident"]["model"] == "fraud-detector"
    assert payload["data"]["incident"]["version"] == "17"
    assert payload["data"]["incident"]["run_url"] == "https://github.com/acme-ml/fraud-serving/actions/runs/145988746"
    print(f"\nheard everywhere {elapsed:.2f} s after the delivery was accepted")

    # Sending the post-mortem for review notifies the reviewer, from another team, in the app and by email.
    author, reviewer = User.objects.get(username="priya"), User.objects.get(username="mei")
    incident_resolve(incident=incident, actor=lead)
    postmortem = postmortem_start(incident=incident, actor=author)
    in_review(postmortem, author, reviewer)
    assert wait_until(lambda: inbox.to(reviewer.email))
    (asked,) = inbox.to(reviewer.email)
    assert asked["Subject"] == f"Post-mortem review requested: {incident.title}"
    notice = Notification.objects.get(user=reviewer)
    assert notice.direct and notice.event.kind == EventKind.POSTMORTEM_REVIEW_REQUESTED


@pytest.fixture
def tasks_done():
    """Count the tasks the worker finished, by name, and let a test wait for a number of them."""
    done: dict[str, int] = {}
    lock = threading.Lock()

    def count(sender=None, **kwargs):
        with lock:
            done[sender.name] = done.get(sender.name, 0) + 1

    task_postrun.connect(count, weak=False)
    yield lambda name: done.get(name, 0)
    task_postrun.disconnect(count)


def test_tasks_the_worker_runs_again_send_nothing_more(celery_worker, demo_fraud, receiver, inbox, tasks_done):
    send_failure(demo_fraud)
    assert wait_until(lambda: NotificationSend.objects.exists())
    assert wait_until(lambda: not NotificationSend.objects.exclude(status=SendStatus.SENT).exists())
    arrived, emailed = len(receiver.requests), len(inbox.all())
    assert arrived == 2 and emailed == 1
    # As a broker redelivering them would: the event's dispatch, twice, and every send, twice.
    event = Event.objects.get()
    dispatches = tasks_done(events_dispatch_task.name)
    deliveries = tasks_done(send_deliver_task.name)
    send_ids = list(NotificationSend.objects.values_list("pk", flat=True))
    for _ in range(2):
        events_dispatch_task.delay([event.pk])
        for send_id in send_ids:
            send_deliver_task.delay(send_id)
    assert wait_until(
        lambda: (
            tasks_done(events_dispatch_task.name) == dispatches + 2
            and tasks_done(send_deliver_task.name) == deliveries + 2 * len(send_ids)
        )
    )
    assert len(receiver.requests) == arrived and len(inbox.all()) == emailed
    assert NotificationSend.objects.count() == len(send_ids)
    assert all(send.attempts == 1 for send in NotificationSend.objects.all())
