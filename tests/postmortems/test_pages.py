"""The post-mortem pages, driven through Django's test client."""

import re

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse

from config.confirmation import CONFIRM_FIELD, CONFIRM_VALUE
from incidents.models import IncidentKind, IncidentStatus
from incidents.services.incidents import incident_open, incident_transition
from postmortems.models import (
    CoachAcknowledgement,
    ContributingFactor,
    Postmortem,
    PostmortemAutosave,
    PostmortemNotNeeded,
    PostmortemStatus,
    PostmortemVersion,
    TemplateSection,
)
from postmortems.models import Template as PostmortemTemplate
from postmortems.services.postmortems import (
    postmortem_publish,
    postmortem_reopen,
    postmortem_review,
    postmortem_save,
    postmortem_start,
)
from postmortems.services.templates import TemplateError, template_create
from postmortems.views.postmortems import BAD_VERSION
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.postmortems.test_services import fill_required, in_review

pytestmark = pytest.mark.django_db
CONFIRMED = {CONFIRM_FIELD: CONFIRM_VALUE}


def edit_url(postmortem, **query):
    url = reverse("postmortems:edit", args=[postmortem.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def form_data(postmortem, **sections):
    """Return what the editor posts: every section of the post-mortem, with the given ones changed."""
    data = {"based_on": postmortem.version, "title": postmortem.title, "note": ""}
    for section in postmortem.sections:
        if section["kind"] == "why_chain":
            data[f"section-{section['key']}-rows"] = 0
        else:
            data[f"section-{section['key']}"] = sections.get(section["key"], postmortem.content.get(section["key"], ""))
    data["shown"] = ",".join(section["key"] for section in postmortem.sections)
    data.update(
        {"factors-TOTAL_FORMS": 0, "factors-INITIAL_FORMS": 0, "factors-MIN_NUM_FORMS": 0, "factors-MAX_NUM_FORMS": 50}
    )
    return data


def publish(postmortem, actor, reviewer):
    postmortem = in_review(postmortem, actor, reviewer)
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    return postmortem_publish(postmortem=postmortem, actor=actor)


# List ----------------------------------------------------------------------------------


def make_postmortems(team, author, count, start=0):
    for number in range(start, start + count):
        incident = incident_open(team=team, title=f"Incident {number}", created_by=author)
        postmortem_start(incident=incident, actor=author)


def test_list_shows_what_the_user_may_read_with_bounded_queries(
    client, team, member, outsider, django_assert_max_num_queries
):
    other = TeamFactory(slug="recsys", name="Recsys")
    other_member = MembershipFactory(team=other, user=UserFactory(username="oliver")).user
    make_postmortems(team, member, 3)
    make_postmortems(other, other_member, 2, start=10)
    client.force_login(member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("postmortems:list"))
    assert response.status_code == 200
    titles = [postmortem.incident.title for postmortem in response.context["postmortems"]]
    assert sorted(titles) == ["Incident 0", "Incident 1", "Incident 2"]
    assert response.context["counts"]["draft"] == 3
    # Ten times more rows: the same number of queries.
    make_postmortems(team, member, 27, start=100)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("postmortems:list"))
    assert len(response.context["postmortems"]) == 25
    client.force_login(outsider)
    assert list(client.get(reverse("postmortems:list")).context["postmortems"]) == []


def test_list_filters_by_status_team_and_words(client, team, member, incident, reviewer):
    postmortem = postmortem_start(incident=incident, actor=member)
    make_postmortems(team, member, 2)
    in_review(postmortem, member, reviewer)
    client.force_login(member)
    response = client.get(reverse("postmortems:list"), {"status": "in_review"})
    assert [p.pk for p in response.context["postmortems"]] == [postmortem.pk]
    response = client.get(reverse("postmortems:list"), {"q": "fraud-detector v9", "team": team.pk})
    assert [p.pk for p in response.context["postmortems"]] == [postmortem.pk]
    client.force_login(reviewer)
    response = client.get(reverse("postmortems:list"), {"reviewing": "on"})
    assert [p.pk for p in response.context["postmortems"]] == [postmortem.pk]


def test_list_answers_bad_filters_with_400(client, member):
    client.force_login(member)
    response = client.get(reverse("postmortems:list"), {"status": "hacked", "team": "x"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"status", "team"}


def test_published_postmortems_are_listed_for_everyone_signed_in(client, postmortem, member, reviewer, outsider):
    publish(postmortem, member, reviewer)
    client.force_login(outsider)
    assert [p.pk for p in client.get(reverse("postmortems:list")).context["postmortems"]] == [postmortem.pk]


# Start ---------------------------------------------------------------------------------


def test_start_page_suggests_the_template_for_the_incident_kind(client, incident, member):
    client.force_login(member)
    response = client.get(reverse("postmortems:start", args=[incident.pk]))
    assert response.status_code == 200
    assert response.context["suggested"].builtin_key == "failed-deployment"
    assert b"Suggested for failed deployment" in response.content
    assert len(response.context["templates"]) == 5


def test_starting_creates_the_postmortem_and_opens_the_editor(client, incident, member, builtins):
    client.force_login(member)
    response = client.post(reverse("postmortems:start", args=[incident.pk]), {"template": builtins["five-whys"].pk})
    postmortem = Postmortem.objects.get(incident=incident)
    assert response.status_code == 302 and response["Location"] == edit_url(postmortem)
    assert postmortem.template_name == "5 whys"
    # Starting again leads to the existing one.
    assert client.get(reverse("postmortems:start", args=[incident.pk]))["Location"] == postmortem.get_absolute_url()


def test_start_refuses_outsiders_and_hides_restricted_incidents(client, incident, outsider):
    client.force_login(outsider)
    assert client.get(reverse("postmortems:start", args=[incident.pk])).status_code == 403
    incident.restricted = True
    incident.save()
    assert client.get(reverse("postmortems:start", args=[incident.pk])).status_code == 404


def test_start_with_an_unknown_template_is_a_form_error(client, incident, member):
    client.force_login(member)
    response = client.post(reverse("postmortems:start", args=[incident.pk]), {"template": "99999"})
    assert response.status_code == 400
    assert "template" in response.context["form"].errors
    assert not Postmortem.objects.exists()


# Edit ----------------------------------------------------------------------------------


def test_editor_shows_each_section_with_its_prompt_help_and_preview(client, postmortem, member):
    client.force_login(member)
    response = client.get(edit_url(postmortem))
    assert response.status_code == 200
    html = response.content.decode()
    for section in postmortem.sections:
        assert f'id="section-{section["key"]}"' in html
    assert "Which step failed, with which error" in html
    assert "Name conditions, not culprits" in html
    assert 'class="pm-preview prose"' in html
    assert response.context["mode"] == "all"


def test_the_editor_offers_each_findings_rewrite_and_the_page_shows_it(client, postmortem, member):
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=postmortem.version,
        content={"failed_step": "First the smoke test ran. @jdoe forgot to renew the certificate."},
    )
    client.force_login(member)
    editor = client.get(edit_url(postmortem)).content.decode()
    assert '<p class="pm-rewrite">Nothing in the process prompted renewing the certificate.</p>' in editor
    assert 'data-sentence="@jdoe forgot to renew the certificate."' in editor
    assert 'data-rewrite="Nothing in the process prompted renewing the certificate."' in editor
    assert 'data-section="failed_step"' in editor
    # The reading page shows the rewrite, and no button: there is no text to change there.
    page = client.get(reverse("postmortems:detail", args=[postmortem.pk])).content.decode()
    assert "Nothing in the process prompted renewing the certificate." in page
    assert "data-use-rewrite" not in page
    coach = client.post(reverse("postmortems:coach"), {"text": "Marcus at Initech forgot to page us."})
    assert b'<p class="pm-rewrite">Nothing in the process prompted paging us.</p>' in coach.content


def test_saving_from_the_editor_makes_a_version(client, postmortem, member):
    client.force_login(member)
    data = form_data(postmortem, failed_step="The **smoke test** timed out.")
    data["note"] = "Failed step"
    response = client.post(edit_url(postmortem), data)
    assert response.status_code == 302
    postmortem.refresh_from_db()
    assert postmortem.version == 2
    assert postmortem.content["failed_step"] == "The **smoke test** timed out."
    assert PostmortemVersion.objects.get(postmortem=postmortem, number=2).note == "Failed step"


def test_contributing_factors_are_saved_from_the_editor(client, postmortem, member, failed_deployment):
    client.force_login(member)
    data = form_data(postmortem)
    data.update(
        {
            "factors-TOTAL_FORMS": 2,
            "factors-0-category": "evaluation_gap",
            "factors-0-description": "No slice of pre-migration merchants.",
            "factors-0-model_version": failed_deployment.model_version_id,
            "factors-1-category": "",
            "factors-1-description": "",
        }
    )
    assert client.post(edit_url(postmortem), data).status_code == 302
    factor = ContributingFactor.objects.get(postmortem=postmortem)
    assert (factor.category, factor.model_version_id) == ("evaluation_gap", failed_deployment.model_version_id)


@pytest.mark.parametrize(
    "change, status, message",
    [
        ({"based_on": "abc"}, 400, BAD_VERSION),
        ({"based_on": "99"}, 400, "Version 99 does not exist"),
        ({"factors-TOTAL_FORMS": "lots"}, 400, "Some fields need attention"),
        ({"factors-TOTAL_FORMS": 1, "factors-0-category": "blame", "factors-0-description": "x"}, 400, "Some fields"),
        ({"factors-TOTAL_FORMS": 1, "factors-0-category": "tooling", "factors-0-model_version": "x"}, 400, "Some"),
        ({"section-summary": "x" * 50_001}, 400, "longer than 50000"),
        ({"title": ""}, 400, "Give the post-mortem a title"),
    ],
)
def test_bad_editor_input_answers_400_and_saves_nothing(client, postmortem, member, change, status, message):
    client.force_login(member)
    data = {**form_data(postmortem), **change}
    response = client.post(edit_url(postmortem), data)
    assert response.status_code == status
    assert message in response.content.decode()
    postmortem.refresh_from_db()
    assert postmortem.version == 1


def test_outsiders_and_reviewers_cannot_edit(client, postmortem, member, outsider, reviewer):
    in_review(postmortem, member, reviewer)
    client.force_login(reviewer)
    assert client.get(edit_url(postmortem)).status_code == 403
    client.force_login(outsider)
    assert client.get(edit_url(postmortem)).status_code == 404


def test_guided_mode_shows_and_saves_one_section_at_a_time(client, postmortem, member):
    client.force_login(member)
    response = client.get(edit_url(postmortem, mode="guided", step="failed_step"))
    assert [block.key for block in response.context["blocks"]] == ["failed_step"]
    assert response.context["next_step"] == "blast_radius"
    before = dict(postmortem.content)
    response = client.post(
        edit_url(postmortem),
        {
            "based_on": 1,
            "shown": "failed_step",
            "mode": "guided",
            "step": "failed_step",
            "section-failed_step": "Smoke test timed out.",
            "action": "save-next",
        },
    )
    assert response["Location"] == edit_url(postmortem, mode="guided", step="blast_radius")
    postmortem.refresh_from_db()
    assert postmortem.content == {**before, "failed_step": "Smoke test timed out."}


def test_preview_without_javascript_renders_without_saving(client, postmortem, member):
    client.force_login(member)
    data = {**form_data(postmortem, failed_step="Priya *forgot* the flag."), "action": "preview"}
    response = client.post(edit_url(postmortem), data)
    assert response.status_code == 200
    assert '<mark class="coach coach-person-as-cause"' in response.content.decode()
    postmortem.refresh_from_db()
    assert postmortem.version == 1


def test_a_published_postmortem_redirects_from_the_editor(client, postmortem, member, reviewer):
    publish(postmortem, member, reviewer)
    client.force_login(member)
    response = client.get(edit_url(postmortem), follow=True)
    assert response.redirect_chain[-1][0] == postmortem.get_absolute_url()
    assert b"reopen it to write a new revision" in response.content


# Live preview and hostile Markdown --------------------------------------------------------


def preview(client, postmortem, text, key="failed_step"):
    return client.post(reverse("postmortems:preview", args=[postmortem.pk]), {"shown": key, f"section-{key}": text})


def test_live_preview_renders_markdown_with_findings_inline(client, postmortem, member):
    client.force_login(member)
    response = preview(client, postmortem, "**Smoke test** failed; it was human error.")
    assert response.status_code == 200
    data = response.json()
    html = data["sections"]["failed_step"]["html"]
    assert "<strong>Smoke test</strong>" in html
    assert re.search(
        r'<mark class="coach coach-human-error" data-rule="human-error" title="[^"]+">human error</mark>', html
    )
    finding = data["sections"]["failed_step"]["findings"][0]
    assert (finding["rule_id"], finding["text"]) == ("human-error", "human error")
    assert [item["section"] for item in data["summary"]] == ["failed_step"]
    assert data["count"] == 1


def test_live_preview_coaches_the_factors_being_typed_not_only_the_saved_ones(client, postmortem, member):
    client.force_login(member)
    data = {
        **form_data(postmortem),
        "factors-TOTAL_FORMS": 1,
        "factors-0-category": "tooling",
        "factors-0-description": "Priya forgot to check the runtime version.",
    }
    response = client.post(reverse("postmortems:preview", args=[postmortem.pk]), data)
    assert response.status_code == 200
    (finding,) = response.json()["summary"]
    assert finding["text"] == "Priya forgot to"
    assert finding["section"].startswith("factor-")


@pytest.mark.parametrize(
    "hostile, forbidden",
    [
        ("<script>alert(1)</script> just wait", "<script"),
        ('<img src="/x.png" onerror="alert(1)"> simply', "onerror"),
        ("[click](javascript:alert(1)) obviously", "javascript:"),
        ('<a href="JaVaScRiPt:alert(1)">just</a>', "javascript"),
        ("![pixel](https://tracker.example.com/p.gif) human error", "tracker.example.com"),
        ('<img src="//tracker.example.com/p.gif">', "tracker.example.com"),
        ('<svg onload="alert(1)">careless</svg>', "onload"),
        ('<p style="background:url(https://t.example.com)">just</p>', "t.example.com"),
        ("<iframe src=https://evil.example.com></iframe> human error", "<iframe"),
    ],
)
def test_hostile_markdown_does_not_survive_the_preview(client, postmortem, member, hostile, forbidden):
    client.force_login(member)
    html = preview(client, postmortem, hostile).json()["sections"]["failed_step"]["html"]
    assert forbidden.lower() not in html.lower()
    # The private markers used to place highlights never leak into the page.
    assert not re.search("[\ue000-\ue002]", html)


def test_a_finding_inside_a_link_keeps_the_link_working(client, postmortem, member):
    client.force_login(member)
    html = preview(client, postmortem, "[just the runbook](https://wiki.example.com/just)").json()["sections"][
        "failed_step"
    ]["html"]
    assert 'href="https://wiki.example.com/just" rel=' in html
    assert '<mark class="coach coach-minimising"' in html


def test_hostile_markdown_is_safe_on_the_reading_page(client, postmortem, member):
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        content={"failed_step": "<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))"},
    )
    client.force_login(member)
    html = client.get(postmortem.get_absolute_url()).content.decode()
    assert "<script>alert" not in html and "onerror=" not in html and "javascript:alert" not in html


def test_preview_refuses_bad_input_with_400(client, postmortem, member):
    client.force_login(member)
    response = preview(client, postmortem, "x" * 50_001)
    assert response.status_code == 400
    assert "longer than" in response.json()["message"]


# Autosave ----------------------------------------------------------------------------------


def test_autosave_keeps_unsaved_text_and_the_editor_restores_it(client, postmortem, member):
    client.force_login(member)
    response = client.post(
        reverse("postmortems:autosave", args=[postmortem.pk]),
        {"based_on": 1, "shown": "failed_step", "section-failed_step": "Half a thought", "title": "T"},
    )
    assert response.status_code == 200 and "autosaved" in response.json()["message"]
    postmortem.refresh_from_db()
    assert postmortem.version == 1
    page = client.get(edit_url(postmortem))
    assert b"Restored your unsaved changes" in page.content
    assert b"Half a thought" in page.content
    client.post(reverse("postmortems:autosave-discard", args=[postmortem.pk]), CONFIRMED)
    assert not PostmortemAutosave.objects.exists()


def test_autosave_refuses_bad_input(client, postmortem, member):
    client.force_login(member)
    url = reverse("postmortems:autosave", args=[postmortem.pk])
    assert client.post(url, {"based_on": "x", "shown": ""}).status_code == 400
    assert client.post(url, {"based_on": 1, "shown": "summary", "section-summary": "x" * 60_000}).status_code == 400


# Conflicts and merging -----------------------------------------------------------------------


def test_a_save_over_a_newer_version_shows_both_texts_to_merge(client, postmortem, member, second_member):
    postmortem_save(
        postmortem=postmortem,
        actor=second_member,
        based_on=1,
        content={"failed_step": "Smoke test timed out after 30 s.", "rollback": "Alias moved back to v8."},
    )
    client.force_login(member)
    stale = Postmortem.objects.get(pk=postmortem.pk)
    # The page this person loaded showed version 1.
    stale.version, stale.content = 1, PostmortemVersion.objects.get(postmortem=postmortem, number=1).content
    data = form_data(stale, failed_step="The smoke test scored a fixed payload.", blast_radius="8% fell back.")
    response = client.post(edit_url(postmortem), data)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Nothing of yours is lost" in html
    assert "Tomás Novak" in html
    items = {item.key: item.status for item in response.context["items"]}
    assert items["failed_step"] == "conflict"
    assert items["blast_radius"] == "mine"
    assert items["rollback"] == "theirs"
    assert "timed out after 30 s" in html and "scored a fixed payload" in html
    assert response.context["shown"].split(",") == ["failed_step", "blast_radius"]
    # Nothing was saved by the refused attempt.
    assert Postmortem.objects.get(pk=postmortem.pk).version == 2
    # Saving the merge form makes version 3 with both people's work.
    merged = {
        "based_on": 2,
        "shown": response.context["shown"],
        "section-failed_step": "The smoke test scored a fixed payload and timed out after 30 s.",
        "section-blast_radius": "8% fell back.",
        "note": "Merged",
    }
    assert client.post(edit_url(postmortem), merged).status_code == 302
    postmortem.refresh_from_db()
    assert postmortem.version == 3
    assert postmortem.content["rollback"] == "Alias moved back to v8."
    assert postmortem.content["blast_radius"] == "8% fell back."
    assert postmortem.content["failed_step"].endswith("timed out after 30 s.")


# Reading, reviewing, publishing -------------------------------------------------------------


def test_drafts_are_for_the_team_and_reviewers(client, postmortem, member, reviewer, outsider):
    client.force_login(outsider)
    assert client.get(postmortem.get_absolute_url()).status_code == 404
    in_review(postmortem, member, reviewer)
    client.force_login(reviewer)
    response = client.get(postmortem.get_absolute_url())
    assert response.status_code == 200 and response.context["can_decide"]


def test_detail_editor_and_history_run_a_bounded_number_of_queries(
    client, postmortem, member, reviewer, django_assert_max_num_queries
):
    from postmortems.services.postmortems import FactorInput

    postmortem = in_review(postmortem, member, reviewer)
    client.force_login(member)
    pages = [
        postmortem.get_absolute_url(),
        edit_url(postmortem),
        reverse("postmortems:history", args=[postmortem.pk]),
    ]
    # 20 for the post-mortem pages, 5 for the related learnings and incidents on the detail page.
    for url in pages:
        with django_assert_max_num_queries(25):
            assert client.get(url).status_code == 200
    # Ten more versions, factors and reviews: the same number of queries.
    for number in range(10):
        postmortem, _ = postmortem_save(
            postmortem=postmortem,
            actor=member,
            based_on=postmortem.version,
            content={"failed_step": f"Attempt {number}"},
            factors=[FactorInput(category="tooling", description=f"Factor {number}")],
        )
        postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="comment", comment=f"Note {number}")
    for url in pages:
        with django_assert_max_num_queries(25):
            assert client.get(url).status_code == 200


def test_the_review_flow_through_the_pages(client, postmortem, member, reviewer, lead):
    postmortem = fill_required(postmortem, member)
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=postmortem.version,
        content={"rollback": "It was human error, obviously."},
    )
    client.force_login(member)
    response = client.post(
        reverse("postmortems:submit", args=[postmortem.pk]), {"reviewers": [lead.pk], "invite": "mei, @nobody"}
    )
    assert response.status_code == 302
    assert Postmortem.objects.get(pk=postmortem.pk).status == PostmortemStatus.DRAFT  # unknown name refused
    client.post(reverse("postmortems:submit", args=[postmortem.pk]), {"reviewers": [lead.pk], "invite": "mei"})
    postmortem.refresh_from_db()
    assert postmortem.status == PostmortemStatus.IN_REVIEW
    assert {r.user.username for r in postmortem.reviewers.all()} == {"lucia", "mei"}
    client.force_login(reviewer)
    response = client.post(reverse("postmortems:review", args=[postmortem.pk]), {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    client.force_login(member)
    page = client.get(postmortem.get_absolute_url())
    open_findings = page.context["open_findings"]
    assert [item.finding.rule_id for item in open_findings] == ["human-error", "minimising"]
    response = client.post(
        reverse("postmortems:publish", args=[postmortem.pk]),
        {"acknowledge": [open_findings[0].fingerprint]},
        follow=True,
    )
    assert b"1 finding(s) of the blameless coach are still open" in response.content
    response = client.post(
        reverse("postmortems:publish", args=[postmortem.pk]),
        {
            "acknowledge": [item.fingerprint for item in open_findings],
            f"note-{open_findings[0].fingerprint}": "Quoting the responder.",
        },
    )
    postmortem.refresh_from_db()
    assert postmortem.status == PostmortemStatus.PUBLISHED
    assert CoachAcknowledgement.objects.get(rule_id="human-error").note == "Quoting the responder."


def test_a_reviewer_who_approved_this_version_is_not_offered_to_approve_it_again(client, postmortem, member, reviewer):
    in_review(postmortem, member, reviewer)
    postmortem.refresh_from_db()
    client.force_login(reviewer)
    assert f"Approve version {postmortem.version}" in client.get(postmortem.get_absolute_url()).content.decode()
    client.post(reverse("postmortems:review", args=[postmortem.pk]), {"decision": "approve", "comment": ""})
    html = client.get(postmortem.get_absolute_url()).content.decode()
    assert "Approve version" not in html
    assert f"You approved version {postmortem.version}." in html
    assert 'value="request_changes"' in html  # changing one's mind stays possible
    # A new version asks again.
    postmortem_save(postmortem=postmortem, actor=member, based_on=postmortem.version, title="Scoring errors after v9")
    postmortem.refresh_from_db()
    assert f"Approve version {postmortem.version}" in client.get(postmortem.get_absolute_url()).content.decode()


def test_a_reviewer_asks_for_changes_with_a_comment(client, postmortem, member, reviewer):
    in_review(postmortem, member, reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("postmortems:review", args=[postmortem.pk]), {"decision": "request_changes"}, follow=True
    )
    assert b"a comment is required" in response.content
    client.post(
        reverse("postmortems:review", args=[postmortem.pk]),
        {"decision": "request_changes", "comment": "Add how it was **detected**."},
    )
    postmortem.refresh_from_db()
    assert postmortem.status == PostmortemStatus.DRAFT
    client.force_login(member)
    assert b"<strong>detected</strong>" in client.get(postmortem.get_absolute_url()).content


def test_outsiders_cannot_review_or_publish(client, postmortem, member, reviewer, outsider):
    in_review(postmortem, member, reviewer)
    client.force_login(outsider)
    assert client.post(reverse("postmortems:review", args=[postmortem.pk]), {"decision": "approve"}).status_code == 404
    assert client.post(reverse("postmortems:publish", args=[postmortem.pk])).status_code == 404
    client.force_login(reviewer)
    assert client.post(reverse("postmortems:publish", args=[postmortem.pk])).status_code == 403


def test_the_published_page_is_read_only_and_shows_learnings(client, postmortem, member, reviewer, outsider):
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        content={"lessons": "- Never reuse image tags.\n- Score real traffic in smoke tests."},
    )
    postmortem = publish(Postmortem.objects.get(pk=postmortem.pk), member, reviewer)
    client.force_login(outsider)
    response = client.get(postmortem.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Key learnings" in html and "Never reuse image tags." in html
    assert "Edit</a>" not in html and 'id="review"' not in html
    assert response.context["lessons"] == ["Never reuse image tags.", "Score real traffic in smoke tests."]


def test_readers_keep_the_published_text_while_a_revision_is_written(client, postmortem, member, reviewer, outsider):
    postmortem = publish(postmortem, member, reviewer)
    published_summary = postmortem.content["summary"]
    reopened = postmortem_reopen(postmortem=postmortem, actor=member)
    postmortem_save(postmortem=reopened, actor=member, based_on=reopened.version, content={"summary": "Draft of r2"})
    client.force_login(outsider)
    response = client.get(postmortem.get_absolute_url())
    html = response.content.decode()
    assert published_summary in html and "Draft of r2" not in html
    assert "writing revision 2" in html
    client.force_login(member)
    assert b"Draft of r2" in client.get(postmortem.get_absolute_url()).content


def test_restricted_incidents_keep_their_postmortems_private(client, postmortem, member, reviewer, outsider):
    publish(postmortem, member, reviewer)
    postmortem.incident.restricted = True
    postmortem.incident.save()
    client.force_login(outsider)
    assert client.get(postmortem.get_absolute_url()).status_code == 404
    assert list(client.get(reverse("postmortems:list")).context["postmortems"]) == []


def test_reopening_from_the_page(client, postmortem, member, reviewer):
    publish(postmortem, member, reviewer)
    client.force_login(member)
    response = client.post(reverse("postmortems:reopen", args=[postmortem.pk]), {"reason": "Vendor report"})
    assert response["Location"] == edit_url(postmortem)
    postmortem.refresh_from_db()
    assert (postmortem.status, postmortem.revision) == ("draft", 2)


# History, export ---------------------------------------------------------------------------------


def test_history_lists_who_changed_what_and_the_diff_marks_words(client, postmortem, member, second_member):
    postmortem_save(
        postmortem=postmortem, actor=second_member, based_on=1, content={"failed_step": "The smoke test failed."}
    )
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=2,
        content={"failed_step": "The smoke test timed out."},
        note="More precise",
    )
    client.force_login(member)
    response = client.get(reverse("postmortems:history", args=[postmortem.pk]))
    rows = response.context["rows"]
    assert [row["version"].number for row in rows] == [3, 2, 1]
    assert rows[0]["changed"] == ["Failed step"] and rows[0]["version"].author == member
    assert b"More precise" in response.content
    response = client.get(reverse("postmortems:diff", args=[postmortem.pk, 3]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<del>failed</del>" in html and "<ins>timed out</ins>" in html
    assert [diff.key for diff in response.context["diffs"]] == ["failed_step"]
    response = client.get(reverse("postmortems:diff", args=[postmortem.pk, 3]), {"against": 1})
    assert response.context["older"].number == 1
    assert client.get(reverse("postmortems:diff", args=[postmortem.pk, 3]), {"against": "x"}).status_code == 200
    assert client.get(reverse("postmortems:diff", args=[postmortem.pk, 9])).status_code == 404


def test_history_is_for_the_team(client, postmortem, member, reviewer, outsider):
    publish(postmortem, member, reviewer)
    client.force_login(outsider)
    assert client.get(reverse("postmortems:history", args=[postmortem.pk])).status_code == 403


def test_markdown_download_and_print_page(client, postmortem, member, failed_deployment):
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=1,
        content={"failed_step": "Smoke test **timed out**."},
        factors=[],
    )
    client.force_login(member)
    response = client.get(reverse("postmortems:markdown", args=[postmortem.pk]))
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert 'filename="inc-' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("# Post-mortem: fraud-detector v9 failing in production\n")
    assert "## Failed step\n\nSmoke test **timed out**." in text
    assert "**Durations:** Time to detect 12 min" in text
    response = client.get(reverse("postmortems:print", args=[postmortem.pk]))
    assert response.status_code == 200
    assert b"<strong>timed out</strong>" in response.content
    assert b"mainnav" not in response.content


# Templates ---------------------------------------------------------------------------------------


def test_template_list_shows_the_five_built_in_templates(client, member):
    client.force_login(member)
    response = client.get(reverse("postmortems:templates"))
    assert [t.name for t in response.context["builtin"]] == [
        "Standard blameless review",
        "5 whys",
        "ML model regression",
        "Failed deployment / rollback",
        "Game day / planned failure injection",
    ]


def test_a_team_copies_a_builtin_template_and_shapes_it(client, team, member, builtins):
    client.force_login(member)
    response = client.post(
        reverse("postmortems:templates"),
        {"team": team.pk, "name": "Fraud deployments", "copy_from": builtins["failed-deployment"].pk},
    )
    template = PostmortemTemplate.objects.get(team=team)
    assert response["Location"] == reverse("postmortems:template-detail", args=[template.pk])
    keys = list(template.sections.values_list("key", flat=True))
    assert keys == [s.key for s in builtins["failed-deployment"].sections.all()]
    # Add a required section, move it to the top, then remove one.
    client.post(
        reverse("postmortems:template-section-add", args=[template.pk]),
        {"new-title": "Fraud losses", "new-prompt": "How much was lost?", "new-kind": "markdown", "new-required": "on"},
    )
    added = template.sections.get(key="fraud-losses")
    assert added.required
    for _ in range(len(keys)):
        client.post(reverse("postmortems:template-section-move", args=[template.pk, added.pk]), {"direction": "up"})
    assert template.sections.order_by("position").first() == added
    client.post(reverse("postmortems:template-section-delete", args=[template.pk, added.pk]), CONFIRMED)
    assert not TemplateSection.objects.filter(pk=added.pk).exists()
    response = client.post(
        reverse("postmortems:template-edit", args=[template.pk]),
        {"name": "Fraud deploys", "incident_kinds": ["failed_deployment", "serving"]},
    )
    template.refresh_from_db()
    assert (template.name, template.incident_kinds) == ("Fraud deploys", ["failed_deployment", "serving"])


def test_builtin_templates_cannot_be_edited(client, member, builtins):
    client.force_login(member)
    template = builtins["standard"]
    section = template.sections.first()
    assert client.post(reverse("postmortems:template-edit", args=[template.pk]), {"name": "x"}).status_code == 403
    url = reverse("postmortems:template-section-delete", args=[template.pk, section.pk])
    assert client.post(url).status_code == 403
    with pytest.raises(TemplateError):
        from postmortems.services.templates import template_section_delete

        template_section_delete(section=section)


def test_template_forms_answer_bad_input_with_400(client, team, member):
    template = template_create(team=team, name="Ours")
    client.force_login(member)
    response = client.post(reverse("postmortems:templates"), {"team": team.pk, "name": "ours"})
    assert response.status_code == 400 and "already has a template" in response.content.decode()
    response = client.post(
        reverse("postmortems:template-section-add", args=[template.pk]),
        {"new-title": "", "new-prompt": "", "new-kind": "poem"},
    )
    assert response.status_code == 400
    assert {"title", "prompt", "kind"} <= set(response.context["add_form"].errors)
    response = client.post(
        reverse("postmortems:template-edit", args=[template.pk]), {"name": "x", "incident_kinds": ["x"]}
    )
    assert response.status_code == 400
    section = template.sections.get()
    url = reverse("postmortems:template-section-delete", args=[template.pk, section.pk])
    response = client.post(url, CONFIRMED, follow=True)
    assert b"at least one section" in response.content


def test_other_teams_templates_are_hidden(client, member):
    other = template_create(team=TeamFactory(slug="recsys", name="Recsys"), name="Theirs")
    client.force_login(member)
    assert client.get(reverse("postmortems:template-detail", args=[other.pk])).status_code == 404


# Coach page ----------------------------------------------------------------------------------------


def test_coach_page_shows_rules_and_checks_text(client, member):
    client.force_login(member)
    response = client.get(reverse("postmortems:coach"))
    assert response.status_code == 200
    assert b'<mark class="coach coach-person-as-cause"' in response.content  # the example names Priya
    response = client.post(reverse("postmortems:coach"), {"text": "The team is to blame."})
    assert [finding.rule_id for finding in response.context["findings"]] == ["fault"]
    assert client.post(reverse("postmortems:coach"), {"text": ""}).status_code == 400


# The incident's panel and closing ---------------------------------------------------------------------


def render_panel(incident, user):
    request = RequestFactory().get("/incidents/1/")
    request.user = user
    template = Template('{% include "postmortems/partials/incident_panel.html" %}')
    return template.render(RequestContext(request, {"incident": incident}))


def test_incident_panel_offers_to_start_or_mark_not_needed(incident, member, outsider):
    html = render_panel(incident, member)
    assert "Start the post-mortem" in html
    assert reverse("postmortems:start", args=[incident.pk]) in html
    assert reverse("postmortems:not-needed", args=[incident.pk]) in html
    assert "Publish a post-mortem before closing" in html
    html = render_panel(incident, outsider)
    assert "Start the post-mortem" not in html and "No post-mortem yet." in html


def test_incident_panel_shows_the_postmortem_state(postmortem, member):
    html = render_panel(postmortem.incident, member)
    assert "Draft" in html and postmortem.title in html and "Continue writing" in html


def test_marking_not_needed_from_the_panel_lets_the_incident_close(client, incident, member, lead, outsider):
    url = reverse("postmortems:not-needed", args=[incident.pk])
    client.force_login(outsider)
    assert client.post(url, {"reason": "noise"}).status_code == 403
    client.force_login(member)
    response = client.post(url, {"reason": "", "next": "/postmortems/"}, follow=True)
    assert b"Say why" in response.content
    response = client.post(url, {"reason": "Duplicate of INC-1", "next": "https://evil.example.com/"})
    assert response["Location"] == incident.get_absolute_url()  # never off-site
    assert PostmortemNotNeeded.objects.get(incident=incident).reason == "Duplicate of INC-1"
    assert "Not needed" in render_panel(incident, member)
    incident_transition(incident=incident, to_status=IncidentStatus.CLOSED, actor=lead)
    client.post(reverse("postmortems:not-needed-withdraw", args=[incident.pk]))
    assert not PostmortemNotNeeded.objects.exists()


def test_action_items_include_renders_the_panel(postmortem):
    html = Template('{% include "postmortems/partials/action_items.html" %}').render(
        Context({"postmortem": postmortem})
    )
    assert 'id="action-items"' in html


def test_the_incident_page_starting_point_exists_for_every_incident_kind(client, team, member):
    client.force_login(member)
    for kind in IncidentKind.values:
        incident = incident_open(team=team, title=f"A {kind}", kind=kind, created_by=member)
        response = client.post(reverse("postmortems:start", args=[incident.pk]), {})
        assert response.status_code == 400  # a template must be chosen on the form…
        response = client.get(reverse("postmortems:start", args=[incident.pk]))
        assert response.context["suggested"] is not None  # …and one is always suggested


def test_submit_and_publish_answer_bad_forms_without_500(client, postmortem, member):
    client.force_login(member)
    response = client.post(reverse("postmortems:submit", args=[postmortem.pk]), {"reviewers": ["abc"]}, follow=True)
    assert response.status_code == 200
    response = client.post(reverse("postmortems:publish", args=[postmortem.pk]), {"acknowledge": ["x"]}, follow=True)
    assert b"Only a post-mortem in review can be published" in response.content
    response = client.post(
        reverse("postmortems:review", args=[postmortem.pk]), {"decision": "rubber-stamp"}, follow=True
    )
    assert b"Choose approve, request changes or comment" in response.content


def test_a_title_only_they_changed_is_kept_by_the_merge(client, postmortem, member, second_member):
    old_title = postmortem.title
    postmortem_save(postmortem=postmortem, actor=second_member, based_on=1, title="Scoring errors after v9", content={})
    postmortem_save(postmortem=postmortem, actor=second_member, based_on=2, content={"failed_step": "Theirs."})
    client.force_login(member)
    stale = Postmortem.objects.get(pk=postmortem.pk)
    stale.version, stale.title = 1, old_title
    stale.content = PostmortemVersion.objects.get(postmortem=postmortem, number=1).content
    response = client.post(edit_url(postmortem), form_data(stale, failed_step="Mine."))
    assert response.status_code == 409
    assert response.context["title_item"] is None
    assert 'name="title"' not in response.content.decode()
    response = client.post(
        edit_url(postmortem),
        {"based_on": 3, "shown": response.context["shown"], "section-failed_step": "Mine and theirs."},
    )
    postmortem.refresh_from_db()
    assert (postmortem.title, postmortem.content["failed_step"]) == ("Scoring errors after v9", "Mine and theirs.")
