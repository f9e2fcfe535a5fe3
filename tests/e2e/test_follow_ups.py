"""Follow-up actions, the learnings library and search, in a real browser, at desktop and phone widths."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from incidents.models import Incident
from postmortems.models import ActionItem, ActionItemStatus, Learning

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)
    user = get_user_model().objects.get(username="demo")
    user.set_password("correct-horse-battery")
    user.save()
    return user


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_my_actions_and_bulk_done(page, live_server, demo, screenshot):
    sign_in(page, live_server, demo)
    page.click("nav >> text=Actions")
    page.wait_for_url("**/actions/")
    expect(page.locator("h1")).to_have_text("My actions")
    assert page.locator(".section-late .ai").count() >= 1
    screenshot(page, "my-actions")
    first = page.locator(".section-late input[name=items]").first
    item_id = int(first.get_attribute("value"))
    first.check()
    page.select_option("#bulk-status", "done")
    page.click(".bulk-bar >> text=Apply")
    expect(page.locator(".flash")).to_contain_text("1 action item moved to done.")
    assert ActionItem.objects.get(pk=item_id).status == ActionItemStatus.DONE


def test_team_board_puts_overdue_first(page, live_server, demo, screenshot):
    sign_in(page, live_server, demo)
    page.goto(f"{live_server.url}/actions/team/fraud/")
    open_column = page.locator(".board-col").first
    assert "Open" in open_column.locator("h2").text_content()
    assert "is-late" in (open_column.locator(".board-card").first.get_attribute("class") or "")
    screenshot(page, "action-board")


def test_learnings_library_and_search(page, live_server, demo, screenshot):
    sign_in(page, live_server, demo)
    page.click("nav >> text=Learnings")
    page.wait_for_url("**/learnings/")
    expect(page.locator(".fu-only-wide .fu-archive")).to_be_visible()
    expect(page.locator(".learning-card")).to_have_count(Learning.objects.count())
    screenshot(page, "learnings")
    page.fill("#library-q", "feature freshness")
    page.click("form[role=search] >> button:has-text('Search')")
    page.wait_for_url("**/search/?q=feature+freshness")
    expect(page.locator(".hit").first).to_contain_text("Feature freshness is a serving dependency")
    expect(page.locator(".hit mark").first).to_be_visible()
    screenshot(page, "search-results")


PHONE_PAGES = {
    "my-actions": lambda: "/actions/",
    "board": lambda: "/actions/team/fraud/",
    "overdue": lambda: "/actions/overdue/",
    "action": lambda: ActionItem.objects.order_by("due_date").first().get_absolute_url(),
    "new-action": lambda: f"/actions/new/?incident={ActionItem.objects.first().incident_id}",
    "learnings": lambda: "/learnings/",
    "learning": lambda: Learning.objects.order_by("created_at").first().get_absolute_url(),
    "write-learning": lambda: "/learnings/new/",
    "proposals": lambda: "/learnings/proposals/",
    "search": lambda: "/search/?q=canary+gpu",
}


@pytest.mark.parametrize("name", PHONE_PAGES)
def test_pages_fit_a_phone(browser, live_server, demo, screenshot, name):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server, demo)
    response = page.goto(f"{live_server.url}{PHONE_PAGES[name]()}")
    assert response.status == 200
    assert fits_the_phone(page), name
    screenshot(page, f"phone-{name}")
    context.close()


def test_action_item_page_explains_wont_do(page, live_server, demo, screenshot):
    item = ActionItem.objects.filter(owner=demo, status="open").order_by("due_date").first()
    sign_in(page, live_server, demo)
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    page.select_option("#id_status", "wont_do")
    page.click("text=Update status")
    expect(page.locator(".errorlist")).to_contain_text("Say why it won't be done")
    page.fill("#id_reason", "Superseded by the schema registry.")
    page.click("text=Update status")
    expect(page.locator(".flash")).to_contain_text("is now won't do")
    expect(page.locator(".wont-do")).to_contain_text("Superseded by the schema registry.")
    screenshot(page, "action-detail")


def test_add_an_action_item_from_the_form(page, live_server, demo, screenshot):
    incident = ActionItem.objects.filter(owner=demo).first().incident
    sign_in(page, live_server, demo)
    page.goto(f"{live_server.url}/actions/new/?incident={incident.pk}")
    screenshot(page, "action-create")
    page.fill("#id_title", "Replay a day of traffic in the smoke test")
    page.fill("#id_verification", "The smoke test fails on the old encoding.")
    page.click("button:has-text('Add action item')")
    expect(page.locator("h1")).to_have_text("Replay a day of traffic in the smoke test")
    expect(page.locator(".kv")).to_contain_text(incident.title)


def test_proposed_lessons_become_learnings(page, live_server, demo, screenshot):
    from postmortems.services.follow_ups import postmortem_published
    from tests.postmortems.follow_ups.conftest import make_postmortem

    incident = Incident.objects.excluding_drills().filter(team__slug="ml-platform", postmortem__isnull=True).first()
    postmortem = make_postmortem(
        incident,
        lessons="- Validate the schema of every backfill before it is published.\n- Page on null rates.",
        factors=[("feature_pipeline_change", None)],
    )
    from postmortems.models import LearningProposal

    pending_before = LearningProposal.objects.filter(status="proposed").count()
    postmortem_published(postmortem=postmortem)
    sign_in(page, live_server, demo)
    page.goto(f"{live_server.url}/learnings/proposals/")
    expect(page.locator(".proposal")).to_have_count(pending_before + 2)
    screenshot(page, "learning-proposals")
    proposal = page.locator(".proposal", has_text="Validate the schema of every backfill")
    proposal.locator("text=Review and accept").click()
    expect(page.locator("#id_title")).to_have_value("Validate the schema of every backfill before it is published")
    screenshot(page, "learning-accept")
    page.click("button:has-text('Add to the library')")
    expect(page.locator(".flash")).to_contain_text("Lesson accepted into the library.")
    expect(page.locator("aside")).to_contain_text(postmortem.title)
    screenshot(page, "learning-detail")
