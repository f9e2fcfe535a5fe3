"""Follow-up actions, the learnings library and search, in a real browser, at desktop and phone widths."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

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
    page.wait_for_load_state()
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
    page.wait_for_load_state()
    expect(page.locator(".archive")).to_be_visible()
    expect(page.locator(".learning-card")).to_have_count(Learning.objects.count())
    screenshot(page, "learnings")
    page.fill("#library-q", "feature freshness")
    page.click("form[role=search] >> button:has-text('Search')")
    page.wait_for_url("**/search/?q=feature+freshness")
    expect(page.locator(".hit").first).to_contain_text("Feature freshness is a serving dependency")
    expect(page.locator(".hit mark").first).to_be_visible()
    screenshot(page, "search-results")


@pytest.mark.parametrize("path", ["/actions/", "/actions/team/fraud/", "/learnings/", "/search/?q=canary+gpu"])
def test_pages_fit_a_phone(browser, live_server, demo, screenshot, path):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server, demo)
    page.goto(f"{live_server.url}{path}")
    assert fits_the_phone(page), path
    screenshot(page, "phone-" + path.strip("/").replace("/", "-").replace("?q=", "-").replace("+", "-"))
    context.close()
