"""Every event of the issue on every kind of channel it may go to, each at a real receiver on loopback.

A team has one channel of each kind, hearing every event: Slack, Microsoft
Teams, Mattermost and Discord (at the HTTP receiver), a signed webhook (the
receiver, verified with ``standardwebhooks``) and a mailing list (the SMTP
server). Each event is made to happen through the service that makes it
happen, and must reach each channel exactly once, in its documented shape,
and the person it asks to act in the app and by email.
"""

import json
from dataclasses import dataclass
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from slack_sdk.models.blocks import Block
from standardwebhooks.webhooks import Webhook

from incidents.models import Severity
from incidents.services.incidents import (
    incident_assign_owner,
    incident_change_severity,
    incident_open,
    incident_reopen,
    incident_resolve,
    incident_transition,
)
from notifications.messages import RESTRICTED_TEXT
from notifications.models import ChannelKind, EventKind, Notification
from notifications.services.channels import channel_create
from postmortems.models import ReviewDecision
from postmortems.services.actions import action_item_create
from postmortems.services.postmortems import postmortem_publish, postmortem_review, postmortem_submit
from postmortems.services.reminders import action_item_remind
from tests.factories import ActionItemFactory, DeliveryFactory, SourceFactory
from tests.notifications.helpers import run_all
from tests.notifications.test_sends import TEAMS_MESSAGE_SHAPE, WEBHOOK_SCHEMA
from tests.postmortems.test_services import fill_required, in_review

pytestmark = pytest.mark.django_db

MAILING_LIST = "ml-incidents@example.com"
TITLE = "Scores drifted after the v14 retrain"
# Where each HTTP channel posts; Discord's Slack-compatible endpoint is its URL and "/slack".
PATHS = {
    ChannelKind.SLACK: "/slack",
    ChannelKind.TEAMS: "/teams",
    ChannelKind.MATTERMOST: "/mattermost",
    ChannelKind.DISCORD: "/api/webhooks/1/abc",
    ChannelKind.WEBHOOK: "/webhook",
}
RECEIVED_AT = {**PATHS, ChannelKind.DISCORD: "/api/webhooks/1/abc/slack"}


@dataclass
class World:
    team: object
    lead: object
    member: object
    reviewer: object
    postmortem: object
    now: object = None


def _incident(world, **options):
    options = {"owner": world.member, **options}
    return incident_open(team=world.team, title=TITLE, created_by=world.lead, **options)


def _resolved(world):
    incident = _incident(world)
    incident_resolve(incident=incident, actor=world.lead)
    return incident


def _in_review(world):
    return in_review(world.postmortem, world.member, world.reviewer)


def _approved(world):
    postmortem = _in_review(world)
    postmortem_review(postmortem=postmortem, reviewer=world.reviewer, decision=ReviewDecision.APPROVE)
    postmortem.refresh_from_db()
    return postmortem


def _item(world, *, due_in_days: int):
    return ActionItemFactory(
        incident=world.postmortem.incident, owner=world.member, due_date=world.now.date() + timedelta(days=due_in_days)
    )


def _failing_source(world):
    source = SourceFactory(team=world.team, name="fraud-serving", kind="github", created_by=world.lead)
    return DeliveryFactory(source=source, event="deployment_status", attempts=0)


# Per event: what happens first (run and delivered before), then the change that makes the event, then who it asks
# to act (direct in the app, emailed) as a fixture name, or None when it asks nobody and tells the team.
SCENARIOS = {
    EventKind.INCIDENT_OPENED: (lambda world: None, lambda world, _: _incident(world), "member"),
    EventKind.INCIDENT_SEVERITY_RAISED: (
        _incident,
        lambda world, incident: incident_change_severity(incident=incident, severity=Severity.SEV1, actor=world.lead),
        "member",
    ),
    EventKind.INCIDENT_OWNER_ASSIGNED: (
        lambda world: _incident(world, owner=None),
        lambda world, incident: incident_assign_owner(incident=incident, owner=world.member, actor=world.lead),
        "member",
    ),
    EventKind.INCIDENT_MITIGATED: (
        _incident,
        lambda world, incident: incident_transition(incident=incident, to_status="mitigated", actor=world.lead),
        "member",
    ),
    EventKind.INCIDENT_RESOLVED: (
        _incident,
        lambda world, incident: incident_resolve(incident=incident, actor=world.lead),
        "member",
    ),
    EventKind.INCIDENT_REOPENED: (
        _resolved,
        lambda world, incident: incident_reopen(incident=incident, actor=world.lead),
        "member",
    ),
    EventKind.POSTMORTEM_REVIEW_REQUESTED: (
        lambda world: fill_required(world.postmortem, world.member),
        lambda world, postmortem: postmortem_submit(
            postmortem=postmortem, actor=world.member, reviewers=[world.reviewer]
        ),
        "reviewer",
    ),
    EventKind.POSTMORTEM_CHANGES_REQUESTED: (
        _in_review,
        lambda world, postmortem: postmortem_review(
            postmortem=postmortem,
            reviewer=world.reviewer,
            decision=ReviewDecision.REQUEST_CHANGES,
            comment="Which image tag?",
        ),
        "member",
    ),
    EventKind.POSTMORTEM_APPROVED: (
        _in_review,
        lambda world, postmortem: postmortem_review(
            postmortem=postmortem, reviewer=world.reviewer, decision=ReviewDecision.APPROVE
        ),
        "member",
    ),
    EventKind.POSTMORTEM_PUBLISHED: (
        _approved,
        lambda world, postmortem: postmortem_publish(postmortem=postmortem, actor=world.member),
        None,
    ),
    EventKind.ACTION_ITEM_ASSIGNED: (
        lambda world: None,
        lambda world, _: action_item_create(
            incident=world.postmortem.incident,
            actor=world.lead,
            title="Pin image tags",
            owner=world.member,
            verification="CI refuses :latest.",
        ),
        "member",
    ),
    EventKind.ACTION_ITEM_DUE_SOON: (
        lambda world: _item(world, due_in_days=2),
        lambda world, item: action_item_remind(item_id=item.pk, now=world.now),
        "member",
    ),
    EventKind.ACTION_ITEM_OVERDUE: (
        lambda world: _item(world, due_in_days=-3),
        lambda world, item: action_item_remind(item_id=item.pk, now=world.now),
        "member",
    ),
    EventKind.SOURCE_DELIVERIES_FAILING: (
        _failing_source,
        lambda world, delivery: _fail_for_good(delivery),
        "lead",
    ),
}


def _fail_for_good(delivery):
    from incidents.ingest.batch import delivery_record_failure

    assert delivery_record_failure(delivery_id=delivery.pk, error="RuntimeError: registry unreachable") is None


@pytest.fixture
def channels(team, lead, receiver):
    made = {
        kind: channel_create(team=team, actor=lead, kind=kind, name=f"{kind}", url=receiver.url(path), events=["*"])
        for kind, path in PATHS.items()
    }
    made[ChannelKind.EMAIL] = channel_create(
        team=team, actor=lead, kind=ChannelKind.EMAIL, name="list", url=MAILING_LIST, events=["*"]
    )
    return made


def forget_what_arrived(receiver, inbox) -> None:
    with receiver.lock:
        receiver.requests.clear()
    with inbox.lock:
        inbox.messages.clear()


def test_every_event_kind_has_a_scenario():
    assert set(SCENARIOS) == set(EventKind)


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_each_event_reaches_every_channel_once_in_its_shape(
    kind, settings, team, lead, member, reviewer, postmortem, receiver, inbox, channels
):
    settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS = 1
    world = World(team=team, lead=lead, member=member, reviewer=reviewer, postmortem=postmortem, now=timezone.now())
    before, change, asked = SCENARIOS[kind]
    subject = before(world)
    run_all(world.now)
    forget_what_arrived(receiver, inbox)

    change(world, subject)
    sends = run_all(world.now)

    assert {send.status for send in sends} == {"sent"}, [(send.channel, send.error) for send in sends]
    for channel_kind, path in RECEIVED_AT.items():
        assert len(receiver.received(path)) == 1, (channel_kind, [r.path for r in receiver.received()])
    slack = receiver.received("/slack")[0].json()
    for block in slack["blocks"]:
        Block.parse(block).validate_json()
    assert slack["text"]
    jsonschema.validate(receiver.received("/teams")[0].json(), TEAMS_MESSAGE_SHAPE)
    for path in ("/mattermost", RECEIVED_AT[ChannelKind.DISCORD]):
        attachment = receiver.received(path)[0].json()["attachments"][0]
        assert attachment["title_link"].startswith("http")
    signed = receiver.received("/webhook")[0]
    payload = Webhook(channels[ChannelKind.WEBHOOK].secret).verify(signed.body, signed.headers)
    jsonschema.validate(payload, WEBHOOK_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert payload["type"] == kind
    assert len(inbox.to(MAILING_LIST)) == 1

    notices = Notification.objects.filter(event__kind=kind)
    if asked is None:  # told, not asked: the team hears in the app, and nobody by email
        assert notices.filter(user=lead, direct=False).count() == 1
        assert set(inbox.all()[0][0]) == {MAILING_LIST} and len(inbox.all()) == 1
    else:
        person = {"member": member, "lead": lead, "reviewer": reviewer}[asked]
        assert notices.filter(user=person, direct=True).count() == 1
        # One email to the person asked: the notification's, or for reminders the reminder itself.
        assert len(inbox.to(person.email)) == 1
        assert len(inbox.all()) == 2


@pytest.mark.parametrize("kind", [ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.MATTERMOST, ChannelKind.DISCORD])
def test_chat_about_a_restricted_incident_carries_no_title(kind, team, lead, member, receiver, inbox, channels):
    incident = incident_open(team=team, title=TITLE, created_by=lead, restricted=True, environment="production")
    incident_change_severity(incident=incident, severity=Severity.SEV1, actor=lead)
    run_all()
    bodies = receiver.received(RECEIVED_AT[kind])
    assert len(bodies) == 2
    for request in bodies:
        text = json.dumps(request.json())
        assert "Scores drifted" not in text and "v14" not in text
        assert RESTRICTED_TEXT in text
        assert incident.get_absolute_url() in text
    (listed, _) = inbox.to(MAILING_LIST)
    assert "Scores drifted" not in listed.as_string()
