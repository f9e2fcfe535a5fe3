"""A small organisation with one restricted and one open thing of every kind, for the visibility tests.

Two teams: Fraud (a lead and a member) owns everything; Payments' member is the outsider. Every text of the
restricted incident carries ``SECRET``, so a test can look for it in any answer an outsider gets.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from experiments.models import Experiment, GameDay
from experiments.services.experiments import experiment_start
from experiments.services.game_days import game_day_plan
from incidents.models import Delivery, Deployment, Incident, ModelVersion, RegisteredModel, Source, TimelineEntry
from incidents.services.incidents import incident_link_deployment, incident_open, incident_relate
from notifications.models import Channel, Event, EventKind, Follow, Notification, NotificationSend
from postmortems.models import (
    ActionItem,
    Learning,
    LearningProposal,
    Postmortem,
    PostmortemReviewer,
    PostmortemStatus,
    PostmortemVersion,
    SectionKind,
    Template,
)
from postmortems.selectors.templates import template_list
from postmortems.services.actions import action_item_create
from postmortems.services.learnings import learning_proposal_accept, learning_proposals_create
from postmortems.services.templates import template_create
from search.services import search_index_rebuild
from teams.models import Membership, Team
from tests.factories import (
    DeliveryFactory,
    DeploymentFactory,
    MembershipFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)

NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
SECRET = "Zanzibar ledger merger"
SECRET_LESSON = "Zanzibar ledgers need a reconciliation dry run before any merger."

SECTIONS = [
    {"key": "summary", "title": "Summary", "prompt": "What happened?", "kind": "markdown", "required": True},
    {
        "key": "lessons",
        "title": "Lessons learned",
        "prompt": "What should others know?",
        "kind": SectionKind.LESSONS,
        "required": False,
    },
]


@dataclass
class World:
    fraud: Team
    payments: Team
    lead: object
    member: object
    outsider: object
    staff: object
    open_incident: Incident
    restricted: Incident
    open_postmortem: Postmortem
    restricted_postmortem: Postmortem
    open_action: ActionItem
    restricted_action: ActionItem
    restricted_learning: Learning
    open_proposal: LearningProposal
    restricted_proposal: LearningProposal
    fraud_template: Template
    model: RegisteredModel
    version: ModelVersion
    deployment: Deployment
    source: Source
    delivery: Delivery
    experiment: Experiment
    game_day: GameDay
    channel: Channel
    send: NotificationSend
    notification: Notification
    follow: Follow
    timeline_entry: TimelineEntry
    open_timeline_entry: TimelineEntry
    spare_membership: Membership
    builtin_template: Template


def published_postmortem(incident: Incident, *, summary: str, lessons: str) -> Postmortem:
    """Return a published post-mortem of the incident, written straight to the database."""
    now = timezone.now()
    content = {"summary": summary, "lessons": lessons}
    postmortem = Postmortem.objects.create(
        incident=incident,
        template_name="Standard",
        sections=SECTIONS,
        title=f"Post-mortem: {incident.title}",
        content=content,
        status=PostmortemStatus.PUBLISHED,
        updated_at=now,
        published_at=now,
        published_version=1,
    )
    PostmortemVersion.objects.create(
        postmortem=postmortem, number=1, revision=1, title=postmortem.title, content=content, created_at=now
    )
    return postmortem


def build_world() -> World:
    """Write the organisation (call with the clock frozen) and index it for search."""
    fraud = TeamFactory(name="Fraud", slug="fraud")
    payments = TeamFactory(name="Payments", slug="payments")
    lead = MembershipFactory(team=fraud, role=Membership.Role.LEAD, user=UserFactory(username="lucia")).user
    member = MembershipFactory(team=fraud, user=UserFactory(username="priya", email="priya@fraud.example")).user
    outsider = MembershipFactory(team=payments, user=UserFactory(username="oscar")).user
    staff = UserFactory(username="admin", is_staff=True, is_superuser=True)

    model = RegisteredModel.objects.create(team=fraud, name="fraud-scorer", created_at=NOW - timedelta(days=90))
    version = ModelVersion.objects.create(
        model=model, version="9", version_number=9, created_at=NOW - timedelta(days=2)
    )
    previous = ModelVersion.objects.create(
        model=model, version="8", version_number=8, created_at=NOW - timedelta(days=9)
    )
    source = SourceFactory(team=fraud, name="fraud-ci")
    delivery = DeliveryFactory(source=source)
    deployment = DeploymentFactory(
        source=source, model_version=version, status="failed", failing_step="smoke-test", environment="production"
    )

    open_incident = incident_open(
        team=fraud, title="Card scores drifted after the v9 retrain", model=model, created_by=lead,
        summary="Approval rates dropped.", detected_at=NOW - timedelta(hours=3),
    )  # fmt: skip
    restricted = incident_open(
        team=fraud, title=f"{SECRET} broke scoring", model=model, created_by=lead, restricted=True,
        summary=f"{SECRET}: details only the team may read.", detected_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    incident_link_deployment(incident=restricted, deployment=deployment)
    incident_relate(incident=open_incident, other=restricted, actor=lead)
    open_postmortem = published_postmortem(
        open_incident, summary="Drift after a retrain.", lessons="- Evaluate every candidate on the newest week."
    )
    restricted_postmortem = published_postmortem(
        restricted, summary=f"{SECRET} happened.", lessons=f"- {SECRET_LESSON}\n- Tell {SECRET} owners first."
    )
    open_proposal = learning_proposals_create(postmortem=open_postmortem)[0]
    accepted, restricted_proposal = learning_proposals_create(postmortem=restricted_postmortem)
    restricted_learning = learning_proposal_accept(
        proposal=accepted, actor=member, title="Dry-run reconciliations", body="Rehearse first.", team=None
    )
    open_action = action_item_create(
        incident=open_incident, postmortem=open_postmortem, actor=lead, title="Evaluate on the newest week",
        owner=member, verification="The report shows the newest week.",
    )  # fmt: skip
    restricted_action = action_item_create(
        incident=restricted, postmortem=restricted_postmortem, actor=lead, title=f"Reconcile the {SECRET}",
        owner=member, verification="A dry run passes.",
    )  # fmt: skip
    fraud_template = template_create(team=fraud, name="Fraud's secret-sauce review", actor=lead)
    builtin_template = template_list(team_ids=[]).first()
    for postmortem in (open_postmortem, restricted_postmortem):
        PostmortemReviewer.objects.create(postmortem=postmortem, user=lead)
    experiment = experiment_start(
        team=fraud, model=model, environment="production", candidate_version=version, control_version=previous,
        hypothesis="v9 catches more fraud.", deciding_metric="precision", initial_percent=10,
        started_at=NOW - timedelta(hours=5), actor=member,
    )  # fmt: skip
    game_day = game_day_plan(
        team=fraud, actor=member, title="Stale features drill", hypothesis="We detect staleness in 10 minutes.",
        scheduled_at=NOW + timedelta(days=1), injection_kind="stale_features", injection="Hold the snapshot back.",
        model=model, environment="staging", component="feature store", blast_radius="Staging only.",
        abort_conditions="Precision below 0.8.",
    )  # fmt: skip
    # A restricted rollout and drill: the team's and staff's only.
    Experiment.objects.filter(pk=experiment.pk).update(restricted=True, hypothesis=f"{SECRET} shifts traffic.")
    GameDay.objects.filter(pk=game_day.pk).update(restricted=True, title=f"{SECRET} drill")
    experiment.refresh_from_db()
    game_day.refresh_from_db()
    channel = Channel.objects.create(team=fraud, kind="email", name="Fraud list", url="fraud@example.com", events=["*"])
    send = NotificationSend.objects.create(channel=channel, status="failed", created_at=NOW)
    event = Event.objects.create(
        kind=EventKind.INCIDENT_OPENED, team=fraud, incident=restricted, restricted=True,
        facts={"title": restricted.title}, path=restricted.get_absolute_url(), dedupe_key="world-restricted-opened",
        occurred_at=NOW, last_occurred_at=NOW,
    )  # fmt: skip
    notification = Notification.objects.create(user=member, event=event, direct=True, created_at=NOW)
    follow = Follow.objects.create(user=member, incident=restricted, created_at=NOW)
    spare = MembershipFactory(team=fraud, user=UserFactory(username="sam"))
    search_index_rebuild()
    return World(
        fraud=fraud, payments=payments, lead=lead, member=member, outsider=outsider, staff=staff,
        open_incident=open_incident, restricted=restricted, open_postmortem=open_postmortem,
        restricted_postmortem=restricted_postmortem, open_action=open_action, restricted_action=restricted_action,
        restricted_learning=restricted_learning, open_proposal=open_proposal, restricted_proposal=restricted_proposal,
        fraud_template=fraud_template, builtin_template=builtin_template, spare_membership=spare,
        model=model, version=version, deployment=deployment, source=source,
        delivery=delivery, experiment=experiment, game_day=game_day, channel=channel, send=send,
        notification=notification, follow=follow,
        timeline_entry=TimelineEntry.objects.filter(incident=restricted).order_by("pk").first(),
        open_timeline_entry=TimelineEntry.objects.filter(incident=open_incident).order_by("pk").first(),
    )  # fmt: skip
