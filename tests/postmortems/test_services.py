"""Writing, reviewing and publishing post-mortems through their services."""

import pytest

from incidents.models import IncidentStatus, ModelVersion, RegisteredModel, TimelineEntry
from incidents.services.incidents import InvalidTransition, TransitionBlocked, incident_transition
from postmortems.models import (
    CoachAcknowledgement,
    ContributingFactor,
    FactorCategory,
    Postmortem,
    PostmortemAutosave,
    PostmortemReview,
    PostmortemStatus,
    PostmortemVersion,
)
from postmortems.selectors.coach import postmortem_findings
from postmortems.selectors.postmortems import (
    CLOSE_NEEDS_POSTMORTEM,
    postmortem_close_blocker,
    postmortem_lessons,
    postmortem_reader_version,
)
from postmortems.services import postmortems as services
from postmortems.services.postmortems import (
    EditConflict,
    FactorInput,
    PostmortemError,
    PostmortemPermissionError,
    PublishBlocked,
    postmortem_autosave,
    postmortem_mark_not_needed,
    postmortem_not_needed_withdraw,
    postmortem_publish,
    postmortem_reopen,
    postmortem_review,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from postmortems.services.templates import template_create, template_section_update
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def fill_required(postmortem, actor, *, factor=True, text="The smoke test ran against a stale image tag."):
    """Answer every required section blamelessly and add one contributing factor."""
    content = {
        section["key"]: text
        for section in postmortem.sections
        if section["required"] and section["kind"] in ("markdown", "timeline", "lessons")
    }
    factors = [FactorInput(category=FactorCategory.TOOLING, description="The pipeline reused image tags.")]
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=actor,
        based_on=postmortem.version,
        content=content,
        factors=factors if factor else None,
    )
    return postmortem


def in_review(postmortem, actor, reviewer):
    postmortem = fill_required(postmortem, actor)
    return postmortem_submit(postmortem=postmortem, actor=actor, reviewers=[reviewer])


# Start -------------------------------------------------------------------------


def test_start_picks_the_template_of_the_incident_kind_and_prefills_facts(postmortem, incident, member):
    assert postmortem.template.builtin_key == "failed-deployment"
    assert postmortem.status == PostmortemStatus.DRAFT
    assert (postmortem.version, postmortem.revision) == (1, 1)
    content = postmortem.content
    assert content["summary"] == incident.summary
    # Durations from the milestones: started 13:50, resolved 15:00.
    assert "Time to resolve: 1 h 10 min" in content["time_to_restore"]
    assert "Time to detect: 12 min" in content["time_to_restore"]
    assert "fraud-detector v9 to production: failed" in content["pipeline"]
    assert "failed step: smoke-test" in content["pipeline"]
    assert "fraud-detector v9 (cause)" in content["change"]
    timeline = content["timeline"]
    assert "Rolled back to v8." in timeline and "10 Mar 14:30 UTC" in timeline
    assert timeline.index("declared") < timeline.index("Rolled back")
    assert postmortem.facts["durations"][3]["seconds"] == 70 * 60
    version = PostmortemVersion.objects.get(postmortem=postmortem)
    assert (version.number, version.author, version.content) == (1, member, content)
    assert incident.timeline.filter(kind=TimelineEntry.Kind.NOTE, text__startswith="Post-mortem started").exists()


def test_start_falls_back_to_the_standard_review_and_prefers_the_team_template(incident, team, member):
    incident.kind = "other"
    incident.save()
    assert postmortem_start(incident=incident, actor=member).template.builtin_key == "standard"
    Postmortem.objects.all().delete()
    own = template_create(team=team, name="Fraud review", incident_kinds=["other"], actor=member)
    assert postmortem_start(incident=incident, actor=member).template == own


def test_only_team_members_start_and_only_once(incident, member, outsider):
    with pytest.raises(PostmortemPermissionError):
        postmortem_start(incident=incident, actor=outsider)
    postmortem_start(incident=incident, actor=member)
    with pytest.raises(PostmortemError, match="already has a post-mortem"):
        postmortem_start(incident=incident, actor=member)


def test_a_template_of_another_team_cannot_be_used(incident, member):
    other = template_create(team=TeamFactory(slug="recsys", name="Recsys"), name="Theirs")
    with pytest.raises(PostmortemError, match="not available to this incident's team") as raised:
        postmortem_start(incident=incident, actor=member, template=other)
    assert "Theirs" not in str(raised.value)  # another team's template is never named


def test_editing_a_template_never_alters_written_postmortems(incident, team, member, builtins):
    template = template_create(team=team, name="Ours", copy_from=builtins["standard"])
    postmortem = postmortem_start(incident=incident, actor=member, template=template)
    section = template.sections.get(key="summary")
    template_section_update(section=section, title="Renamed", prompt="Changed?", required=False)
    postmortem.refresh_from_db()
    assert postmortem.sections[0]["title"] == "Summary"
    assert postmortem.sections[0]["prompt"].startswith("What happened")


# Save ----------------------------------------------------------------------------


def test_each_save_keeps_a_full_version_and_partial_content_keeps_other_sections(postmortem, member):
    before = dict(postmortem.content)
    saved, changed = postmortem_save(
        postmortem=postmortem, actor=member, based_on=1, content={"failed_step": "smoke-test timed out"}, note="step"
    )
    assert changed and saved.version == 2
    assert saved.content == {**before, "failed_step": "smoke-test timed out"}
    latest = PostmortemVersion.objects.get(postmortem=postmortem, number=2)
    assert (latest.based_on, latest.note, latest.author) == (1, "step", member)
    assert latest.content == saved.content
    assert PostmortemVersion.objects.get(postmortem=postmortem, number=1).content == before


def test_a_save_without_changes_makes_no_version(postmortem, member):
    saved, changed = postmortem_save(postmortem=postmortem, actor=member, based_on=1, content=dict(postmortem.content))
    assert not changed and saved.version == 1
    assert PostmortemVersion.objects.filter(postmortem=postmortem).count() == 1


def test_a_save_over_a_newer_version_is_refused_and_changes_nothing(postmortem, member, second_member):
    postmortem_save(postmortem=postmortem, actor=second_member, based_on=1, content={"failed_step": "Theirs."})
    with pytest.raises(EditConflict) as caught:
        postmortem_save(postmortem=postmortem, actor=member, based_on=1, content={"failed_step": "Mine."})
    assert (caught.value.current, caught.value.based_on) == (2, 1)
    assert "Tomás Novak" in str(caught.value)
    postmortem.refresh_from_db()
    assert postmortem.content["failed_step"] == "Theirs."
    assert postmortem.version == 2


@pytest.mark.parametrize("based_on", [0, 7, -1])
def test_a_save_based_on_an_unknown_version_is_refused(postmortem, member, based_on):
    with pytest.raises(PostmortemError, match="does not exist"):
        postmortem_save(postmortem=postmortem, actor=member, based_on=based_on, content={"summary": "x"})


@pytest.mark.parametrize(
    "content, message",
    [
        ({"nope": "x"}, "no section 'nope'"),
        ({"summary": 42}, "must be text"),
        ({"summary": "x" * 50_001}, "longer than"),
    ],
)
def test_content_that_does_not_fit_is_refused(postmortem, member, content, message):
    with pytest.raises(PostmortemError, match=message):
        postmortem_save(postmortem=postmortem, actor=member, based_on=1, content=content)


def test_outsiders_cannot_save(postmortem, outsider):
    with pytest.raises(PostmortemPermissionError):
        postmortem_save(postmortem=postmortem, actor=outsider, based_on=1, content={"summary": "x"})


def test_contributing_factors_are_created_changed_and_deleted_explicitly(postmortem, member, failed_deployment):
    saved, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        factors=[
            FactorInput(category="tooling", description="Image tags were reused.", deployment_id=failed_deployment.pk),
            FactorInput(
                category="evaluation_gap",
                description="Smoke tests did not score a real payment.",
                model_version_id=failed_deployment.model_version_id,
            ),
            FactorInput(),  # a blank row of the form is ignored
        ],
    )
    first, second = ContributingFactor.objects.filter(postmortem=postmortem)
    assert (first.category, first.deployment, second.model_version_id) == (
        "tooling",
        failed_deployment,
        failed_deployment.model_version_id,
    )
    version = PostmortemVersion.objects.get(postmortem=postmortem, number=2)
    assert [factor["category_label"] for factor in version.factors] == ["Tooling", "Evaluation gap"]
    # A save that does not list a factor keeps it; deleting is explicit.
    saved, changed = postmortem_save(
        postmortem=saved,
        actor=member,
        based_on=2,
        factors=[FactorInput(id=second.pk, category="evaluation_gap", description="Smoke tests used fake data.")],
    )
    assert changed
    assert ContributingFactor.objects.filter(postmortem=postmortem).count() == 2
    saved, _ = postmortem_save(
        postmortem=saved, actor=member, based_on=3, factors=[FactorInput(id=first.pk, category="tooling", delete=True)]
    )
    assert list(ContributingFactor.objects.filter(postmortem=postmortem)) == [second]
    assert [factor["description"] for factor in PostmortemVersion.objects.get(number=4).factors] == [
        "Smoke tests used fake data."
    ]


@pytest.mark.parametrize(
    "factor, message",
    [
        (FactorInput(category="blame", description="x"), "Unknown contributing factor category"),
        (FactorInput(category="tooling", description="  ", id=None, delete=False, model_version_id=1), "Describe"),
        (FactorInput(category="tooling", description="x", id=99999), "does not belong"),
    ],
)
def test_bad_factors_are_refused(postmortem, member, factor, message):
    with pytest.raises(PostmortemError, match=message):
        postmortem_save(postmortem=postmortem, actor=member, based_on=1, factors=[factor])


def test_factors_link_only_to_the_teams_models(postmortem, member):
    other_team = TeamFactory(slug="recsys", name="Recsys")
    model = RegisteredModel.objects.create(team=other_team, name="ranker", created_at="2026-01-01T00:00:00Z")
    version = ModelVersion.objects.create(model=model, version="1", created_at="2026-01-01T00:00:00Z")
    with pytest.raises(PostmortemError, match="not one of Fraud's models"):
        postmortem_save(
            postmortem=postmortem,
            actor=member,
            based_on=1,
            factors=[FactorInput(category="tooling", description="x", model_version_id=version.pk)],
        )


def test_autosave_keeps_edits_apart_until_saved(postmortem, member):
    postmortem_autosave(
        postmortem=postmortem, actor=member, based_on=1, title="Draft title", content={"summary": "WIP"}, factors=[]
    )
    postmortem.refresh_from_db()
    assert postmortem.version == 1 and postmortem.content["summary"] != "WIP"
    assert PostmortemAutosave.objects.get(postmortem=postmortem, user=member).content == {"summary": "WIP"}
    postmortem_save(postmortem=postmortem, actor=member, based_on=1, content={"summary": "Done"})
    assert not PostmortemAutosave.objects.exists()


# Review and publish -------------------------------------------------------------------


def test_submit_needs_required_sections_and_a_reviewer(postmortem, member, reviewer):
    postmortem_save(postmortem=postmortem, actor=member, based_on=1, content={"summary": ""})
    postmortem.refresh_from_db()
    with pytest.raises(PostmortemError, match="Summary, Failed step, Rollback path, Contributing factors"):
        postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer])
    postmortem = fill_required(postmortem, member)
    with pytest.raises(PostmortemError, match="at least one reviewer"):
        postmortem_submit(postmortem=postmortem, actor=member, reviewers=[member])
    postmortem = postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer])
    assert postmortem.status == PostmortemStatus.IN_REVIEW
    assert postmortem.reviewers.get().user == reviewer


def test_a_five_whys_chain_needs_three_complete_steps(incident, member, reviewer, builtins):
    postmortem = postmortem_start(incident=incident, actor=member, template=builtins["five-whys"])
    steps = [{"why": "Why did scoring fail?", "because": "The image was stale."}] * 2
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        content={"summary": "s", "problem": "p", "whys": steps},
        factors=[FactorInput(category="tooling", description="Tags are mutable.")],
    )
    with pytest.raises(PostmortemError, match="Why → because"):
        postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer])
    steps = [*steps, {"why": "Why was it stale?", "because": "Tags are reused."}]
    postmortem, _ = postmortem_save(postmortem=postmortem, actor=member, based_on=2, content={"whys": steps})
    assert postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer]).status == "in_review"


def test_only_invited_reviewers_decide_and_not_on_their_own_submission(postmortem, member, reviewer, outsider, lead):
    postmortem = in_review(postmortem, member, reviewer)
    with pytest.raises(PostmortemPermissionError, match="invited reviewers"):
        postmortem_review(postmortem=postmortem, reviewer=outsider, decision="approve")
    services.postmortem_reviewer_add(postmortem=postmortem, user=member, actor=lead)
    with pytest.raises(PostmortemPermissionError, match="another reviewer"):
        postmortem_review(postmortem=postmortem, reviewer=member, decision="approve")
    with pytest.raises(PostmortemError, match="Unknown review decision"):
        postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="lgtm")
    review = postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve", comment="Clear.")
    assert (review.version, review.revision) == (postmortem.version, 1)


def test_requesting_changes_needs_a_comment_and_sends_it_back_to_draft(postmortem, member, reviewer):
    postmortem = in_review(postmortem, member, reviewer)
    with pytest.raises(PostmortemError, match="comment is required"):
        postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="request_changes")
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="request_changes", comment="Add detection.")
    postmortem.refresh_from_db()
    assert postmortem.status == PostmortemStatus.DRAFT


def test_comments_come_from_the_team_and_reviewers_only(postmortem, member, outsider):
    postmortem_review(postmortem=postmortem, reviewer=member, decision="comment", comment="Started, help welcome.")
    with pytest.raises(PostmortemPermissionError):
        postmortem_review(postmortem=postmortem, reviewer=outsider, decision="comment", comment="Hi")
    with pytest.raises(PostmortemError, match="Write a comment"):
        postmortem_review(postmortem=postmortem, reviewer=member, decision="comment", comment="  ")


def test_publishing_needs_an_approval_of_the_current_text(postmortem, member, reviewer):
    postmortem = in_review(postmortem, member, reviewer)
    with pytest.raises(PublishBlocked, match="approval of the current text"):
        postmortem_publish(postmortem=postmortem, actor=member)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    # An edit after the approval makes it stale.
    postmortem, _ = postmortem_save(
        postmortem=postmortem, actor=member, based_on=postmortem.version, content={"failed_step": "Changed."}
    )
    with pytest.raises(PublishBlocked, match=f"version {postmortem.version}"):
        postmortem_publish(postmortem=postmortem, actor=member)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    published = postmortem_publish(postmortem=postmortem, actor=member)
    assert published.status == PostmortemStatus.PUBLISHED
    assert published.published_version == postmortem.version
    assert postmortem_close_blocker(incident=postmortem.incident) is None


def test_open_coach_findings_block_publishing_until_each_is_acknowledged(postmortem, member, reviewer):
    postmortem = fill_required(postmortem, member)
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=postmortem.version,
        content={"failed_step": "Priya forgot to retag the image. It was human error."},
    )
    postmortem = postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer])
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    findings = postmortem_findings(postmortem=postmortem)
    assert [item.finding.rule_id for item in findings] == ["person-as-cause", "human-error"]
    with pytest.raises(PublishBlocked) as caught:
        postmortem_publish(postmortem=postmortem, actor=member)
    assert len(caught.value.open_findings) == 2
    # Acknowledging one is not enough, and nothing is recorded when publishing fails.
    with pytest.raises(PublishBlocked, match="1 finding"):
        postmortem_publish(postmortem=postmortem, actor=member, acknowledgements={findings[0].fingerprint: "Quoted."})
    assert not CoachAcknowledgement.objects.exists()
    published = postmortem_publish(
        postmortem=postmortem,
        actor=member,
        acknowledgements={findings[0].fingerprint: "Quoting the chat log.", findings[1].fingerprint: "", "bogus": ""},
    )
    assert published.status == PostmortemStatus.PUBLISHED
    acknowledgement = CoachAcknowledgement.objects.get(rule_id="person-as-cause")
    assert (acknowledgement.quote, acknowledgement.note, acknowledgement.acknowledged_by) == (
        "Priya forgot to",
        "Quoting the chat log.",
        member,
    )


def test_published_postmortems_are_read_only_and_reopen_as_a_new_revision(postmortem, member, reviewer, outsider):
    postmortem = in_review(postmortem, member, reviewer)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    published = postmortem_publish(postmortem=postmortem, actor=member)
    with pytest.raises(PostmortemError, match="read-only"):
        postmortem_save(postmortem=published, actor=member, based_on=published.version, content={"summary": "x"})
    with pytest.raises(PostmortemPermissionError):
        postmortem_reopen(postmortem=published, actor=outsider)
    reopened = postmortem_reopen(postmortem=published, actor=member, reason="New facts from the vendor.")
    assert (reopened.status, reopened.revision) == (PostmortemStatus.DRAFT, 2)
    saved, _ = postmortem_save(postmortem=reopened, actor=member, based_on=reopened.version, content={"summary": "v2"})
    assert PostmortemVersion.objects.get(postmortem=postmortem, number=saved.version).revision == 2
    # Readers keep the published text until the next publication.
    assert postmortem_reader_version(postmortem=saved).number == published.published_version
    assert postmortem_close_blocker(incident=saved.incident) is not None
    # Approvals of revision 1 do not count for revision 2.
    saved = postmortem_submit(postmortem=saved, actor=member)
    with pytest.raises(PublishBlocked, match="approval"):
        postmortem_publish(postmortem=saved, actor=member)
    assert PostmortemReview.objects.filter(revision=1).count() == 1


def test_lessons_are_the_items_of_the_lessons_section(postmortem, member):
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        content={"lessons": "- Never reuse image tags.\n- Smoke tests score a real payment.\n\nMore prose."},
    )
    assert postmortem_lessons(postmortem=postmortem) == ["Never reuse image tags.", "Smoke tests score a real payment."]


# Closing the incident ------------------------------------------------------------------


def test_an_incident_cannot_close_without_a_published_postmortem(incident, lead, member):
    assert postmortem_close_blocker(incident=incident) == CLOSE_NEEDS_POSTMORTEM
    with pytest.raises(TransitionBlocked) as caught:
        incident_transition(incident=incident, to_status=IncidentStatus.CLOSED, actor=lead)
    assert str(caught.value) == CLOSE_NEEDS_POSTMORTEM
    assert isinstance(caught.value, InvalidTransition)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    postmortem_start(incident=incident, actor=member)
    assert "post-mortem is draft" in postmortem_close_blocker(incident=incident)


def test_marking_the_postmortem_not_needed_allows_closing(incident, lead, member, outsider):
    with pytest.raises(PostmortemError, match="Say why"):
        postmortem_mark_not_needed(incident=incident, actor=member, reason="   ")
    with pytest.raises(PostmortemPermissionError):
        postmortem_mark_not_needed(incident=incident, actor=outsider, reason="Noise")
    postmortem_mark_not_needed(incident=incident, actor=member, reason="Duplicate of INC-1.")
    closed = incident_transition(incident=incident, to_status=IncidentStatus.CLOSED, actor=lead)
    assert closed.status == IncidentStatus.CLOSED
    assert incident.timeline.filter(text__contains="marked not needed by").exists()
    postmortem_not_needed_withdraw(incident=incident, actor=member)
    assert postmortem_close_blocker(incident=incident) == CLOSE_NEEDS_POSTMORTEM
