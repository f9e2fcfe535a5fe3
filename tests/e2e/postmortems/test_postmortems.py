"""Writing, merging, reviewing and reading post-mortems in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from postmortems.models import Postmortem, PostmortemStatus
from postmortems.services.postmortems import (
    FactorInput,
    postmortem_publish,
    postmortem_review,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from tests.factories import PASSWORD
from tests.postmortems.test_services import fill_required

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STORY = {
    "summary": "fraud-detector v9 returned errors for 8% of card payments for 70 minutes until the champion "
    "alias was moved back to v8.",
    "failed_step": "The production smoke test passed: it scores a **fixed synthetic payload**. Real traffic carried "
    "the old country encoding, which the new encoder rejected.",
    "rollback": "The on-call engineer moved the `champion` alias back to v8 from the registry UI. The runbook "
    "described the previous serving stack, so finding the lever took longer than the move.",
    "blast_radius": "About 8% of requests fell back to the rules engine. No customer saw an error.",
    "lessons": "- Smoke tests score a sample of real traffic, not a fixed payload.\n"
    "- Encoders accept every value the old schema produced until a migration completes.\n"
    "- Rollback runbooks live next to the alias they move.",
}


def sign_in_at(browser, live_server, user, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def shot(page, screenshot, name):
    """Take a full-page screenshot from the top, so the sticky bar sits where it belongs."""
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("window.scrollY === 0")
    return screenshot(page, name)


def no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") + 1


def story_postmortem(incident, author, reviewer, lead=None, publish=True):
    postmortem = postmortem_start(incident=incident, actor=author)
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=author,
        based_on=1,
        content=STORY,
        factors=[
            FactorInput(
                category="feature_pipeline_change",
                description="The new encoder rejected country codes the old schema still produced.",
                model_version_id=incident.model_versions.first().pk,
            ),
            FactorInput(category="evaluation_gap", description="No slice of pre-migration merchants was evaluated."),
            FactorInput(category="documentation", description="The rollback runbook described the old stack."),
        ],
        note="First full draft",
    )
    postmortem = postmortem_submit(postmortem=postmortem, actor=author, reviewers=[reviewer])
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve", comment="Clear and **useful**.")
    if publish:
        postmortem = postmortem_publish(postmortem=postmortem, actor=lead or author)
    return postmortem


def test_start_and_write_with_live_preview_coach_and_autosave(browser, live_server, screenshot, incident, member):
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/start/{incident.pk}/")
    expect(page.locator(".pm-template-option.selected")).to_contain_text("Failed deployment / rollback")
    shot(page, screenshot, "postmortem-start")
    page.click("text=Start writing")
    page.wait_for_url(re.compile(r".*/postmortems/\d+/edit/$"))
    expect(page.locator("#input-summary")).to_have_value(incident.summary)
    expect(page.locator("#input-timeline")).to_contain_text("Rolled back to v8.")
    page.fill("#input-failed_step", "Priya forgot to retag the image. It was **human error**, obviously.")
    preview = page.locator('[data-preview-for="failed_step"]')
    expect(preview.locator("mark.coach-person-as-cause")).to_have_text("Priya forgot to")
    expect(preview.locator("strong mark.coach-human-error, mark.coach-human-error")).to_have_count(1)
    expect(page.locator("#coach-summary [data-coach-count]")).to_have_text("3")
    expect(page.locator("[data-autosave-status]")).to_contain_text("Draft autosaved", timeout=10_000)
    page.select_option("#id_factors-0-category", "tooling")
    page.fill("#id_factors-0-description", "Image tags are mutable, so a rebuilt image reused v9's tag.")
    page.click("text=Add a factor")
    expect(page.locator(".pm-factor-row")).to_have_count(2)
    shot(page, screenshot, "postmortem-editor")
    page.click("button:has-text('Save version')")
    expect(page.locator(".flash")).to_contain_text("Saved version 2.")
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.content["failed_step"].startswith("Priya forgot")
    assert postmortem.factors.get().category == "tooling"
    # Nothing is left to restore once saved.
    expect(page.locator(".pm-restored")).to_have_count(0)
    context.close()


def test_guided_mode_and_phone_width(browser, live_server, screenshot, postmortem, member):
    context, page = sign_in_at(browser, live_server, member, width=390, height=844)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/edit/?mode=guided&step=failed_step")
    expect(page.locator(".pm-section")).to_have_count(1)
    page.fill("#input-failed_step", "The smoke test **just** scored a fixed payload.")
    expect(page.locator('[data-preview-for="failed_step"] mark')).to_have_text("just")
    no_horizontal_scroll(page)
    shot(page, screenshot, "postmortem-editor-phone")
    page.click("text=Save and continue")
    page.wait_for_url(re.compile(r".*step=blast_radius$"))
    expect(page.locator(".pm-section h2")).to_contain_text("Blast radius")
    no_horizontal_scroll(page)
    context.close()


def test_the_coach_reads_a_factor_as_it_is_typed_and_its_rewrite_replaces_it(browser, live_server, postmortem, member):
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/edit/?mode=guided&step=contributing_factors")
    page.select_option("#id_factors-0-category", "dependency_upgrade")
    page.fill("#id_factors-0-description", "Priya forgot to check the runtime version of the image.")
    summary = page.locator("#coach-summary")
    expect(summary.locator("[data-coach-count]")).to_have_text("1")
    summary.get_by_role("button", name="Use this rewrite").click()
    expect(page.locator("#id_factors-0-description")).not_to_have_value(re.compile("Priya forgot to"))
    expect(summary.locator("[data-coach-count]")).to_have_text("0")
    context.close()


def test_publish_looks_unavailable_until_a_reviewer_approves(browser, live_server, postmortem, member, reviewer):
    postmortem = postmortem_submit(postmortem=fill_required(postmortem, member), actor=member, reviewers=[reviewer])
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/")
    publish = page.locator("#publish").get_by_role("button", name="Publish")
    expect(publish).to_be_disabled()
    assert float(publish.evaluate("button => getComputedStyle(button).opacity")) < 0.7
    assert publish.evaluate("button => getComputedStyle(button).cursor") == "not-allowed"
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_invite_box_and_its_button_share_a_line(browser, live_server, postmortem, member, reviewer, width):
    postmortem = postmortem_submit(postmortem=fill_required(postmortem, member), actor=member, reviewers=[reviewer])
    context, page = sign_in_at(browser, live_server, member, width=width, height=844)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/")
    box = page.locator(".pm-invite #id_username").bounding_box()
    button = page.locator(".pm-invite").get_by_role("button", name="Invite").bounding_box()
    assert abs(box["y"] - button["y"]) <= 1 and abs(box["height"] - button["height"]) <= 2, (box, button)
    context.close()


def test_the_sections_card_keeps_its_bottom_edge_in_a_short_window(browser, live_server, postmortem, member):
    context, page = sign_in_at(browser, live_server, member, width=1280, height=620)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/edit/")
    side, outline = page.locator(".pm-editor-side"), page.locator(".pm-outline")
    expect(outline).to_be_visible()
    # The sticky column clips nothing: the outline gives way and scrolls inside its own card.
    assert side.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    side_box, outline_box = side.bounding_box(), outline.bounding_box()
    assert outline_box["y"] + outline_box["height"] <= side_box["y"] + side_box["height"] + 1
    assert outline.evaluate("e => e.scrollHeight > e.clientHeight")  # the window is short enough to need it
    last = outline.locator("li a").last
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    context.close()


def test_the_editor_works_without_javascript(browser, live_server, postmortem, member):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # Going on before the sign-in's answer arrives would cancel it and leave the page signed out.
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/edit/")
    page.fill("#input-failed_step", "Just restart it.")
    page.click("button:has-text('Preview')")
    expect(page.locator('[data-preview-for="failed_step"] mark.coach-minimising')).to_have_text("Just")
    page.click("button:has-text('Save version')")
    expect(page.locator(".flash")).to_contain_text("Saved version 2.")
    context.close()


def test_a_conflicting_save_leads_to_the_merge_page(
    browser, live_server, screenshot, postmortem, member, second_member
):
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/edit/")
    # Meanwhile, a teammate saves another text of the same section.
    postmortem_save(
        postmortem=postmortem,
        actor=second_member,
        based_on=1,
        content={
            "failed_step": "The smoke test passed.\nProduction traffic then failed for 8% of payments.",
            "rollback": "Alias moved back to v8.",
        },
    )
    page.fill("#input-failed_step", "The smoke test scored a fixed payload.\nReal traffic carried the old encoding.")
    page.fill("#input-blast_radius", "8% of requests fell back to the rules engine.")
    page.click("button:has-text('Save version')")
    expect(page.locator("h1")).to_have_text("Merge your changes")
    expect(page.locator(".pm-conflict")).to_have_count(1)
    expect(page.locator(".pm-conflict h2")).to_have_text("Failed step")
    expect(page.locator(".pm-merge-summary")).to_contain_text("Your changes kept as they are: Blast radius")
    expect(page.locator(".pm-merge-summary")).to_contain_text("Rollback path")
    shot(page, screenshot, "postmortem-merge")
    page.fill(
        "#merge-failed_step",
        "The smoke test passed: it scored a fixed payload.\nReal traffic carried the old encoding and 8% failed.",
    )
    page.click("text=Save the merged version")
    expect(page.locator(".flash")).to_contain_text("Saved version 3.")
    postmortem.refresh_from_db()
    assert postmortem.content["rollback"] == "Alias moved back to v8."
    assert postmortem.content["blast_radius"] == "8% of requests fell back to the rules engine."
    assert postmortem.content["failed_step"].endswith("and 8% failed.")
    # The history shows who changed what, and the diff marks the words.
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/history/")
    expect(page.locator(".pm-history-item")).to_have_count(3)
    expect(page.locator(".pm-history-item").first).to_contain_text("Merged with version 2.")
    shot(page, screenshot, "postmortem-history")
    page.locator(".pm-history-item").first.locator("text=Compare").click()
    expect(page.locator(".pm-diff-card")).to_have_count(2)
    expect(page.locator(".pm-diff ins").first).to_be_visible()
    shot(page, screenshot, "postmortem-diff")
    context.close()


def test_review_and_publish_with_acknowledged_findings(
    browser, live_server, screenshot, incident, member, reviewer, lead
):
    postmortem = postmortem_start(incident=incident, actor=member)
    postmortem = fill_required(postmortem, member)
    postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=postmortem.version,
        # Quoted speech is never a finding; the writer's own "simply" is.
        content={
            "timeline": postmortem.content["timeline"] + "\n- The first fix tried was simply to restart the pods."
        },
    )
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/")
    page.check(f"input[name=reviewers][value='{lead.pk}']")
    page.fill("#id_invite", "mei")
    page.click("button:has-text('Send for review')")
    expect(page.locator(".flash")).to_contain_text("Sent for review")
    context.close()
    context, page = sign_in_at(browser, live_server, reviewer)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/")
    page.fill("#id_comment", "The evaluation gap is one we share. Approved.")
    page.click("button:has-text('Approve version')")
    expect(page.locator(".flash")).to_contain_text("You approved version")
    context.close()
    context, page = sign_in_at(browser, live_server, member)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/#publish")
    expect(page.locator(".pm-acknowledge li")).to_have_count(1)
    shot(page, screenshot, "postmortem-review")
    page.click("#publish button:has-text('Publish')")
    expect(page.locator(".flash")).to_contain_text("finding(s) of the blameless coach are still open")
    page.check(".pm-acknowledge input[type=checkbox]")
    page.fill(".pm-acknowledge input[type=text]", "Kept as the runbook words it.")
    page.click("#publish button:has-text('Publish')")
    expect(page.locator(".flash")).to_contain_text("Published.")
    assert Postmortem.objects.get(pk=postmortem.pk).status == PostmortemStatus.PUBLISHED
    context.close()


def test_the_published_page_for_everyone(browser, live_server, screenshot, incident, member, reviewer, outsider):
    postmortem = story_postmortem(incident, member, reviewer)
    context, page = sign_in_at(browser, live_server, outsider)
    page.goto(f"{live_server.url}/postmortems/")
    expect(page.locator(".pm-list-item")).to_have_count(1)
    page.click(f"text={postmortem.title}")
    expect(page.locator("h1")).to_have_text(postmortem.title)
    expect(page.locator(".pm-lessons li")).to_have_count(3)
    expect(page.locator(".pm-factor")).to_have_count(3)
    expect(page.locator("text=Edit")).to_have_count(0)
    shot(page, screenshot, "postmortem-published")
    context.close()
    context, page = sign_in_at(browser, live_server, outsider, width=390, height=844)
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/")
    no_horizontal_scroll(page)
    shot(page, screenshot, "postmortem-published-phone")
    page.goto(f"{live_server.url}/postmortems/{postmortem.pk}/print/")
    expect(page.locator("h1")).to_have_text(postmortem.title)
    context.close()


def test_list_templates_and_coach_pages(browser, live_server, screenshot, incident, member, reviewer, team):
    story_postmortem(incident, member, reviewer, publish=False)
    context, page = sign_in_at(browser, live_server, member)
    page.click("nav >> text=Post-mortems")
    expect(page.locator(".pm-count-in_review .stat-value")).to_have_text("1")
    shot(page, screenshot, "postmortem-list")
    page.click("text=Templates")
    expect(page.locator(".pm-template-card")).to_have_count(5)
    page.select_option("#id_team", label=team.name)
    page.fill("#id_name", "Fraud deployments")
    page.select_option("#id_copy_from", label="Failed deployment / rollback")
    page.click("button:has-text('Create')")
    expect(page.locator("h1")).to_have_text("Fraud deployments")
    page.locator(".pm-template-section").nth(3).locator("button[value=up]").click()
    expect(page.locator(".pm-template-section h3").nth(2)).to_have_text("Failed step")
    shot(page, screenshot, "postmortem-template")
    page.goto(f"{live_server.url}/postmortems/coach/")
    page.fill("#id_text", "Priya broke the build. Just revert it, it was careless.")
    expect(page.locator("[data-coach-result] mark")).to_have_count(3)
    shot(page, screenshot, "postmortem-coach")
    context.close()


def test_every_page_fits_a_phone(browser, live_server, screenshot, incident, member, reviewer, builtins):
    postmortem = story_postmortem(incident, member, reviewer, publish=False)
    postmortem_save(
        postmortem=postmortem, actor=member, based_on=postmortem.version, content={"failed_step": "Changed words."}
    )
    context, page = sign_in_at(browser, live_server, member, width=390, height=844)
    pages = {
        "list": "/postmortems/",
        "detail": f"/postmortems/{postmortem.pk}/",
        "edit": f"/postmortems/{postmortem.pk}/edit/",
        "history": f"/postmortems/{postmortem.pk}/history/",
        "diff": f"/postmortems/{postmortem.pk}/history/{postmortem.version + 1}/",
        "templates": "/postmortems/templates/",
        "template": f"/postmortems/templates/{builtins['five-whys'].pk}/",
        "coach": "/postmortems/coach/",
        "print": f"/postmortems/{postmortem.pk}/print/",
    }
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, name
        no_horizontal_scroll(page)
    shot(page, screenshot, "postmortem-print-phone")
    page.goto(f"{live_server.url}{pages['diff']}")
    shot(page, screenshot, "postmortem-diff-phone")
    page.goto(f"{live_server.url}{pages['detail']}")
    shot(page, screenshot, "postmortem-review-phone")
    context.close()
