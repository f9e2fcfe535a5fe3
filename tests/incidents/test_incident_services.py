from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from incidents.models import IncidentDeployment, IncidentModelVersion, TimelineEntry
from incidents.services import incidents as services
from incidents.services.incidents import (
    ALREADY_ACKNOWLEDGED,
    MILESTONE_IN_FUTURE,
    MILESTONE_NEEDED_FOR_STATUS,
    MILESTONE_NOT_YET,
    NOTE_EMPTY,
    OWNER_NOT_MEMBER,
    RELATE_EXISTS,
    RELATE_SELF,
    SEVERITY_UNCHANGED,
    TITLE_REQUIRED,
    IncidentRuleError,
    InvalidTransition,
)
from tests.factories import DeploymentFactory, ModelVersionFactory, RegisteredModelFactory
from tests.incidents.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(team, lead, frozen):
    return services.incident_open(
        team=team,
        title="fraud-detector v9 failed to deploy to production",
        severity="SEV2",
        started_at=NOW - timedelta(hours=1),
        detected_at=NOW - timedelta(minutes=30),
        created_by=lead,
    )


def entries(incident, kind=None):
    queryset = TimelineEntry.objects.filter(incident=incident).order_by("id")
    return list(queryset.filter(kind=kind) if kind else queryset)


def test_open_records_the_first_entry(incident, lead):
    [first] = entries(incident)
    assert first.kind == "status" and first.new_value == "open"
    assert first.author == lead
    assert first.occurred_at == incident.detected_at


def test_mitigate_stamps_the_time_and_records_old_and_new_status(incident, member, frozen):
    incident = services.incident_mitigate(incident=incident, actor=member)
    assert incident.status == "mitigated"
    assert incident.mitigated_at == NOW
    entry = entries(incident, "status")[-1]
    assert (entry.old_value, entry.new_value, entry.author) == ("open", "mitigated", member)


def test_resolve_from_open_stamps_mitigated_too(incident, member, frozen):
    incident = services.incident_resolve(incident=incident, actor=member)
    assert incident.status == "resolved"
    assert incident.mitigated_at == incident.resolved_at == NOW


def test_close_then_reopen_clears_the_later_milestones(incident, member, frozen, postmortem_not_needed):
    services.incident_resolve(incident=incident, actor=member)
    postmortem_not_needed(incident, member)
    frozen.shift(timedelta(hours=1))
    closed = services.incident_close(incident=incident, actor=member)
    assert closed.closed_at == NOW + timedelta(hours=1)
    reopened = services.incident_reopen(incident=incident, actor=member, note="It came back.")
    assert reopened.status == "open"
    assert reopened.mitigated_at is reopened.resolved_at is reopened.closed_at is None
    assert entries(incident, "status")[-1].text == "It came back."


@pytest.mark.parametrize(
    ("steps", "attempt", "allowed"),
    [
        ([], "close", ["mitigated", "resolved"]),
        ([], "reopen", ["mitigated", "resolved"]),
        (["resolve", "close"], "resolve", ["open"]),
        (["mitigate"], "mitigate", ["resolved"]),
        (["resolve"], "mitigate", ["closed", "open"]),
    ],
)
def test_invalid_transitions_name_the_allowed_ones(incident, member, steps, attempt, allowed, postmortem_not_needed):
    postmortem_not_needed(incident, member)
    for step in steps:
        getattr(services, f"incident_{step}")(incident=incident, actor=member)
    before = len(entries(incident))
    with pytest.raises(InvalidTransition) as caught:
        getattr(services, f"incident_{attempt}")(incident=incident, actor=member)
    assert caught.value.allowed == allowed
    for status in allowed:
        assert status in str(caught.value)
    assert len(entries(incident)) == before


def test_people_outside_the_team_cannot_change_the_incident(incident, outsider):
    with pytest.raises(PermissionDenied):
        services.incident_resolve(incident=incident, actor=outsider)
    with pytest.raises(PermissionDenied):
        services.incident_change_severity(incident=incident, severity="SEV1", actor=outsider)
    with pytest.raises(PermissionDenied):
        services.timeline_note_add(incident=incident, author=outsider, text="Drive-by note")
    incident.refresh_from_db()
    assert incident.status == "open" and incident.severity == "SEV2"


def test_staff_and_pipelines_may_change_any_incident(incident, staff):
    services.incident_mitigate(incident=incident, actor=staff)
    services.incident_transition(incident=incident, to_status="resolved", source_label="GitHub Actions")
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert entries(incident, "status")[-1].source_label == "GitHub Actions"


def test_acknowledge_stamps_and_takes_ownership(incident, member, frozen):
    incident = services.incident_acknowledge(incident=incident, actor=member)
    assert incident.acknowledged_at == NOW
    assert incident.owner == member
    assert "is leading it" in entries(incident, "milestone")[-1].text
    with pytest.raises(IncidentRuleError, match=ALREADY_ACKNOWLEDGED):
        services.incident_acknowledge(incident=incident, actor=member)


def test_acknowledge_keeps_an_existing_owner(incident, lead, member):
    services.incident_assign_owner(incident=incident, owner=lead, actor=lead)
    incident = services.incident_acknowledge(incident=incident, actor=member)
    assert incident.owner == lead


def test_a_closed_incident_cannot_be_acknowledged(incident, member):
    services.incident_resolve(incident=incident, actor=None)  # a pipeline's success: nobody acknowledged it
    with pytest.raises(IncidentRuleError, match="only an open one"):
        services.incident_acknowledge(incident=incident, actor=member)


def test_severity_change_records_old_and_new(incident, member):
    incident = services.incident_change_severity(incident=incident, severity="SEV1", actor=member, note="Declines.")
    assert incident.severity == "SEV1"
    entry = entries(incident, "severity")[-1]
    assert (entry.old_value, entry.new_value) == ("SEV2", "SEV1")
    assert "raised" in entry.text and "Declines." in entry.text


def test_severity_change_refuses_unknown_and_unchanged(incident, member):
    with pytest.raises(IncidentRuleError, match="Unknown severity 'SEV9'"):
        services.incident_change_severity(incident=incident, severity="SEV9", actor=member)
    with pytest.raises(IncidentRuleError, match=SEVERITY_UNCHANGED.format(severity="SEV2")):
        services.incident_change_severity(incident=incident, severity="SEV2", actor=member)


def test_owner_must_be_a_team_member(incident, lead, member, outsider):
    incident = services.incident_assign_owner(incident=incident, owner=member, actor=lead)
    assert incident.owner == member
    entry = entries(incident, "owner")[-1]
    assert (entry.old_value, entry.new_value) == ("", "priya")
    with pytest.raises(IncidentRuleError, match=OWNER_NOT_MEMBER.format(user="outsider", team="Fraud")):
        services.incident_assign_owner(incident=incident, owner=outsider, actor=lead)
    cleared = services.incident_assign_owner(incident=incident, owner=None, actor=lead)
    assert cleared.owner is None


def test_milestones_can_be_corrected_in_order(incident, member, frozen):
    earlier = NOW - timedelta(hours=3)
    incident = services.incident_update_milestones(
        incident=incident, actor=member, started_at=earlier, detected_at=earlier + timedelta(minutes=20)
    )
    assert incident.started_at == earlier
    milestone_entries = entries(incident, "milestone")
    assert len(milestone_entries) == 2
    assert "corrected the started time" in milestone_entries[0].text
    assert milestone_entries[0].new_value == earlier.isoformat()


def test_unchanged_milestones_write_no_entry(incident, member):
    services.incident_update_milestones(incident=incident, actor=member, started_at=incident.started_at)
    assert entries(incident, "milestone") == []


def test_detected_cannot_precede_started(incident, member):
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(
            incident=incident, actor=member, detected_at=incident.started_at - timedelta(minutes=1)
        )
    assert "Detected cannot be earlier than started" in caught.value.message_dict["detected_at"][0]
    incident.refresh_from_db()
    assert entries(incident, "milestone") == []


def test_milestones_cannot_be_in_the_future(incident, member):
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(incident=incident, actor=member, acknowledged_at=NOW + timedelta(minutes=5))
    assert caught.value.message_dict["acknowledged_at"] == [MILESTONE_IN_FUTURE.format(name="Acknowledged")]


def test_milestones_must_match_the_status(incident, member):
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(incident=incident, actor=member, mitigated_at=NOW - timedelta(minutes=1))
    assert caught.value.message_dict["mitigated_at"] == [MILESTONE_NOT_YET.format(name="Mitigated", status="open")]
    services.incident_resolve(incident=incident, actor=member)
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(incident=incident, actor=member, resolved_at=None)
    assert caught.value.message_dict["resolved_at"] == [
        MILESTONE_NEEDED_FOR_STATUS.format(status="resolved", name="resolved")
    ]


def test_resolved_cannot_precede_mitigated(incident, member):
    services.incident_resolve(incident=incident, actor=member)
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(
            incident=incident,
            actor=member,
            mitigated_at=NOW - timedelta(minutes=5),
            resolved_at=NOW - timedelta(minutes=10),
        )
    assert "resolved_at" in caught.value.message_dict


def test_unknown_milestone_is_refused(incident, member):
    with pytest.raises(ValidationError) as caught:
        services.incident_update_milestones(incident=incident, actor=member, closed_at=NOW)
    assert "Unknown milestone 'closed_at'" in caught.value.message_dict["closed_at"][0]


def test_editing_fields_records_each_change(incident, member):
    services.incident_update(
        incident=incident,
        actor=member,
        title="v9 canary failed precision checks",
        kind="model_regression",
        tags=["Data Drift", "canary"],
        restricted=True,
        summary="More detail.",
    )
    incident.refresh_from_db()
    assert incident.title == "v9 canary failed precision checks"
    assert sorted(incident.tags.values_list("name", flat=True)) == ["canary", "data-drift"]
    texts = [entry.text for entry in entries(incident, "edit")]
    assert len(texts) == 5
    assert any("renamed" in text for text in texts)
    assert any("added #canary, #data-drift" in text for text in texts)
    assert any("restricted the incident" in text for text in texts)
    services.incident_update(incident=incident, actor=member, tags=["canary"])
    assert "removed #data-drift" in entries(incident, "edit")[-1].text


def test_editing_without_changes_writes_nothing(incident, member):
    services.incident_update(incident=incident, actor=member, title=incident.title, tags=[])
    assert entries(incident, "edit") == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "   "}, "title", TITLE_REQUIRED),
        ({"kind": "meteor"}, "kind", "Unknown kind 'meteor'"),
        ({"tags": ["!!!"]}, "tags", "Tag '!!!' is not usable"),
        ({"environment": "x" * 101}, "environment", "at most 100 characters"),
        ({"severity": "SEV1"}, "severity", "Unknown field 'severity'"),
    ],
)
def test_editing_refuses_bad_values(incident, member, fields, field, message):
    with pytest.raises(ValidationError) as caught:
        services.incident_update(incident=incident, actor=member, **fields)
    assert message in " ".join(caught.value.message_dict[field])
    assert entries(incident, "edit") == []


def test_marking_a_deployment_as_cause_marks_its_version(incident, member, team):
    deployment = DeploymentFactory(model_version__model__team=team, status="failed")
    services.incident_set_deployment_role(incident=incident, deployment=deployment, role="cause", actor=member)
    assert IncidentDeployment.objects.get(incident=incident).role == "cause"
    assert IncidentModelVersion.objects.get(incident=incident, model_version=deployment.model_version).role == "cause"
    [entry] = entries(incident, "link")
    assert entry.new_value == "cause" and entry.deployment == deployment


def test_changing_a_role_records_old_and_new_and_same_role_is_silent(incident, member, team):
    deployment = DeploymentFactory(model_version__model__team=team)
    services.incident_set_deployment_role(incident=incident, deployment=deployment, role="suspect", actor=member)
    services.incident_set_deployment_role(incident=incident, deployment=deployment, role="related", actor=member)
    services.incident_set_deployment_role(incident=incident, deployment=deployment, role="related", actor=member)
    link_entries = entries(incident, "link")
    assert [(entry.old_value, entry.new_value) for entry in link_entries] == [("", "suspect"), ("suspect", "related")]
    assert IncidentDeployment.objects.get(incident=incident).role == "related"


def test_unlinking_deployments_and_versions(incident, member, team):
    deployment = DeploymentFactory(model_version__model__team=team)
    services.incident_set_deployment_role(incident=incident, deployment=deployment, role="suspect", actor=member)
    services.incident_unlink_deployment(incident=incident, deployment=deployment, actor=member)
    assert not IncidentDeployment.objects.filter(incident=incident).exists()
    services.incident_unlink_model_version(incident=incident, model_version=deployment.model_version, actor=member)
    assert not IncidentModelVersion.objects.filter(incident=incident).exists()
    with pytest.raises(IncidentRuleError, match="not linked"):
        services.incident_unlink_deployment(incident=incident, deployment=deployment, actor=member)
    assert len(entries(incident, "link")) == 3


def test_model_version_roles_and_unknown_role(incident, member, team):
    version = ModelVersionFactory(model=RegisteredModelFactory(team=team, name="fraud-detector"), version="9")
    services.incident_set_model_version_role(incident=incident, model_version=version, role="cause", actor=member)
    assert "linked fraud-detector v9 as cause" in entries(incident, "link")[-1].text
    with pytest.raises(IncidentRuleError, match="Unknown role 'culprit'"):
        services.incident_set_model_version_role(incident=incident, model_version=version, role="culprit", actor=member)


def test_pipeline_links_keep_the_stronger_role(incident, team):
    deployment = DeploymentFactory(model_version__model__team=team)
    services.incident_link_deployment(incident=incident, deployment=deployment, role="cause")
    services.incident_link_deployment(incident=incident, deployment=deployment, role="related")
    assert IncidentDeployment.objects.get(incident=incident).role == "cause"
    assert entries(incident, "link") == []


def test_relating_incidents_writes_both_timelines(incident, member, team, lead):
    other = services.incident_open(team=team, title="Earlier schema mismatch", created_by=lead)
    services.incident_relate(incident=incident, other=other, actor=member)
    assert list(incident.related.all()) == [other]
    assert list(other.related.all()) == [incident]
    assert other.reference in entries(incident, "link")[-1].text
    assert incident.reference in entries(other, "link")[-1].text
    with pytest.raises(IncidentRuleError, match=RELATE_EXISTS.format(other=other.reference)):
        services.incident_relate(incident=incident, other=other, actor=member)
    with pytest.raises(IncidentRuleError, match=RELATE_SELF):
        services.incident_relate(incident=incident, other=incident, actor=member)
    services.incident_unrelate(incident=incident, other=other, actor=member)
    assert not incident.related.exists()


def test_notes_must_say_something(incident, member):
    with pytest.raises(ValidationError) as caught:
        services.timeline_note_add(incident=incident, author=member, text="   ")
    assert caught.value.message_dict["text"] == [NOTE_EMPTY]
    with pytest.raises(ValidationError):
        services.timeline_note_add(incident=incident, author=member, text="x" * 10_001)
    entry = services.timeline_note_add(incident=incident, author=member, text="  Checked the canary.  ")
    assert entry.text == "Checked the canary." and entry.kind == "note" and entry.author == member


def test_starring_marks_the_entry_without_adding_one(incident, member, outsider):
    entry = services.timeline_note_add(incident=incident, author=member, text="Root of the skew found.")
    count = len(entries(incident))
    services.timeline_entry_star(entry=entry, starred=True, actor=member)
    entry.refresh_from_db()
    assert entry.starred
    assert len(entries(incident)) == count
    with pytest.raises(PermissionDenied):
        services.timeline_entry_star(entry=entry, starred=False, actor=outsider)
    services.timeline_entry_star(entry=entry, starred=False, actor=member)
    entry.refresh_from_db()
    assert not entry.starred
