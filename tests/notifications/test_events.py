"""Which events are recorded, once, and who hears of them: the domain services call notify_event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Severity
from incidents.services.incidents import (
    incident_acknowledge,
    incident_assign_owner,
    incident_change_severity,
    incident_open,
    incident_transition,
)
from notifications.models import Event, EventKind, Notification
from notifications.services.events import notify_event
from notifications.services.sends import event_dispatch
from postmortems.models import ReviewDecision
from postmortems.services.actions import action_item_create, action_item_update
from postmortems.services.postmortems import postmortem_publish, postmortem_review, postmortem_reviewer_add
from tests.factories import MembershipFactory, UserFactory
from tests.notifications.helpers import dispatch_all
from tests.postmortems.test_services import in_review

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(Event.objects.order_by("id").values_list("kind", flat=True))


def noticed(user, prefix: str = "") -> list[str]:
    kinds = Notification.objects.filter(user=user).order_by("id").values_list("event__kind", flat=True)
    return [kind for kind in kinds if kind.startswith(prefix)]


def declare(team, actor, **options):
    return incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=actor, **options)


def test_the_event_waits_for_the_commit(team, lead, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        declare(team, lead)
    assert kinds() == [EventKind.INCIDENT_OPENED]
    assert len(callbacks) == 1  # the dispatch is queued on commit, not run on the request's path
    assert not Notification.objects.exists()


def test_a_declared_incident_tells_the_team_but_not_who_declared_it(team, lead, member, outsider):
    declare(team, lead)
    dispatch_all()
    assert noticed(member) == [EventKind.INCIDENT_OPENED]
    assert noticed(lead) == []
    assert noticed(outsider) == []
    event = Event.objects.get()
    assert event.facts["reference"].startswith("INC-")
    assert event.facts["severity"] == "SEV3"
    assert event.facts["actor"] == lead.get_full_name()


def test_every_incident_change_people_act_on_is_an_event(team, lead, member):
    incident = declare(team, lead, severity=Severity.SEV3)
    incident_change_severity(incident=incident, severity=Severity.SEV4, actor=lead)  # lowered: quiet
    incident_change_severity(incident=incident, severity=Severity.SEV1, actor=lead)
    incident_assign_owner(incident=incident, owner=member, actor=lead)
    incident_transition(incident=incident, to_status="mitigated", actor=lead)
    incident_transition(incident=incident, to_status="resolved", actor=lead)
    incident_transition(incident=incident, to_status="open", actor=lead)
    assert kinds() == [
        EventKind.INCIDENT_OPENED,
        EventKind.INCIDENT_SEVERITY_RAISED,
        EventKind.INCIDENT_OWNER_ASSIGNED,
        EventKind.INCIDENT_MITIGATED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.INCIDENT_REOPENED,
    ]
    dispatch_all()
    raised = Event.objects.get(kind=EventKind.INCIDENT_SEVERITY_RAISED)
    assert raised.facts["details"] == {"from": "SEV4", "to": "SEV1"}
    owner_notice = Notification.objects.get(user=member, event__kind=EventKind.INCIDENT_OWNER_ASSIGNED)
    assert owner_notice.direct  # asked to act: listed under "needs you"
    # Once owned, the owner is who the incident's later events ask.
    assert Notification.objects.get(user=member, event__kind=EventKind.INCIDENT_RESOLVED).direct


def test_acknowledging_an_unowned_incident_makes_an_owner_event(team, lead, member):
    incident = declare(team, lead)
    incident_acknowledge(incident=incident, actor=member)
    assert kinds()[-1] == EventKind.INCIDENT_OWNER_ASSIGNED


def test_the_same_fact_twice_is_one_event(team, lead, member):
    incident = declare(team, lead)
    first = notify_event(kind=EventKind.INCIDENT_OPENED, incident=incident, actor=lead)
    again = notify_event(kind=EventKind.INCIDENT_OPENED, incident=incident, actor=lead)
    assert first.pk == again.pk
    assert Event.objects.filter(kind=EventKind.INCIDENT_OPENED).count() == 1


def test_a_dispatch_run_twice_writes_each_notice_once(team, lead, member):
    declare(team, lead)
    event = Event.objects.get()
    assert event_dispatch(event_id=event.pk) is not None
    assert event_dispatch(event_id=event.pk) == []
    assert Notification.objects.filter(user=member).count() == 1


def test_a_restricted_incident_is_heard_only_by_those_who_may_see_it(team, lead, member, outsider, staff):
    other = MembershipFactory(user=UserFactory(username="other-team")).user
    incident = declare(team, lead, restricted=True)
    # Even named as the one asked to act, an outsider hears nothing of it.
    notify_event(kind=EventKind.INCIDENT_OWNER_ASSIGNED, incident=incident, actor=lead, recipients=[outsider, member])
    dispatch_all()
    assert set(Notification.objects.values_list("user__username", flat=True)) == {member.username}
    assert noticed(other) == []


def test_post_mortem_review_requests_reach_the_reviewers_and_decisions_the_author(
    team,
    lead,
    member,
    postmortem,
    reviewer,
):
    in_review(postmortem, member, reviewer)
    dispatch_all()
    assert noticed(reviewer) == [EventKind.POSTMORTEM_REVIEW_REQUESTED]
    assert Notification.objects.get(user=reviewer).direct
    assert noticed(lead, "postmortem.") == []  # a review request is for the reviewers
    postmortem_review(
        postmortem=postmortem,
        reviewer=reviewer,
        decision=ReviewDecision.REQUEST_CHANGES,
        comment="Say which image tag.",
    )
    dispatch_all()
    assert noticed(member, "postmortem.") == [EventKind.POSTMORTEM_CHANGES_REQUESTED]
    changes = Event.objects.get(kind=EventKind.POSTMORTEM_CHANGES_REQUESTED)
    assert changes.facts["details"]["comment"] == "Say which image tag."
    assert changes.facts["next"].startswith(member.get_full_name())


def test_a_reviewer_invited_later_hears_of_it_too(team, lead, member, postmortem, reviewer):
    in_review(postmortem, member, reviewer)
    late = UserFactory(username="late-reviewer")
    postmortem_reviewer_add(postmortem=postmortem, user=late, actor=member)
    dispatch_all()
    assert noticed(late) == [EventKind.POSTMORTEM_REVIEW_REQUESTED]


def test_approval_and_publication(team, lead, member, postmortem, reviewer):
    in_review(postmortem, member, reviewer)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision=ReviewDecision.APPROVE)
    postmortem.refresh_from_db()
    postmortem_publish(postmortem=postmortem, actor=member)
    dispatch_all()
    assert noticed(member, "postmortem.") == [EventKind.POSTMORTEM_APPROVED]
    # Published: the team and the reviewers (who follow it) hear, the publisher does not.
    assert noticed(lead, "postmortem.") == [EventKind.POSTMORTEM_PUBLISHED]
    assert noticed(reviewer, "postmortem.") == [EventKind.POSTMORTEM_REVIEW_REQUESTED, EventKind.POSTMORTEM_PUBLISHED]


def test_action_items_tell_their_owner(team, lead, member, incident):
    item = action_item_create(
        incident=incident, actor=lead, title="Pin image tags", owner=member, verification="CI refuses :latest."
    )
    mine = action_item_create(
        incident=incident, actor=lead, title="Alert on stale tags", owner=lead, verification="A drill fires it."
    )
    action_item_update(item=mine, actor=lead, owner=member)
    dispatch_all()
    assert noticed(member, "action_item.") == [EventKind.ACTION_ITEM_ASSIGNED, EventKind.ACTION_ITEM_ASSIGNED]
    assert Event.objects.filter(action_item=item).get().facts["action_item"]["title"] == "Pin image tags"
    assert noticed(lead, "action_item.") == []


def test_severity_raised_twice_within_the_window_folds_into_one(team, lead, member):
    incident = declare(team, lead, severity=Severity.SEV4)
    incident_change_severity(incident=incident, severity=Severity.SEV3, actor=lead)
    incident_change_severity(incident=incident, severity=Severity.SEV2, actor=lead)
    raised = Event.objects.filter(kind=EventKind.INCIDENT_SEVERITY_RAISED)
    assert raised.count() == 1
    assert raised.get().repeats == 1


def test_after_the_window_a_new_event_is_recorded(team, lead, member, settings):
    incident = declare(team, lead, severity=Severity.SEV4)
    incident_change_severity(incident=incident, severity=Severity.SEV3, actor=lead)
    later = timezone.now() + timedelta(seconds=settings.KINTSUGI_NOTIFY_COALESCE_SECONDS + 1)
    notify_event(kind=EventKind.INCIDENT_SEVERITY_RAISED, incident=incident, actor=lead, key="later", at=later)
    assert Event.objects.filter(kind=EventKind.INCIDENT_SEVERITY_RAISED).count() == 2


def test_a_due_soon_reminder_is_heard_in_the_app_and_emailed_once(team, lead, member, incident, inbox):
    from datetime import UTC, datetime

    import time_machine

    from notifications.models import NotificationSend
    from postmortems.services.reminders import action_item_remind
    from tests.factories import ActionItemFactory

    morning = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
    item = ActionItemFactory(incident=incident, owner=member, due_date=morning.date() + timedelta(days=2))
    with time_machine.travel(morning, tick=False):
        assert action_item_remind(item_id=item.pk) is not None
        assert action_item_remind(item_id=item.pk) is None  # the same period again: nothing
        dispatch_all()
    assert noticed(member, "action_item.") == [EventKind.ACTION_ITEM_DUE_SOON]
    assert Notification.objects.get(user=member, event__kind=EventKind.ACTION_ITEM_DUE_SOON).direct
    # The reminder is the owner's email: the notification adds none.
    assert not NotificationSend.objects.filter(user=member, event__kind=EventKind.ACTION_ITEM_DUE_SOON).exists()
    assert len(inbox.to(member.email)) == 1
