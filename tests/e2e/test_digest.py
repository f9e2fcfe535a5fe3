"""The weekly digest in a real browser: the preview from the team page at phone width, and unsubscribing."""

import pytest
import time_machine
from playwright.sync_api import expect

from teams.digest.models import DigestPreference
from teams.digest.services import digest_unsubscribe_url
from tests.teams.digest.conftest import NOW, org  # noqa: F401 - the scene of the digest tests

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_preview_from_the_team_page_fits_a_phone(browser, live_server, org, screenshot):  # noqa: F811
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    with time_machine.travel(NOW, tick=True):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "priya")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/teams/fraud/")
        page.get_by_role("link", name="Preview your digest").click()
        expect(page.get_by_role("heading", name="Your digest, week 50")).to_be_visible()
        expect(page.get_by_text("Kintsugi week 50: 2 post-mortems to learn from, 3 things need you")).to_be_visible()
        email = page.frame_locator("iframe.digest-frame")
        expect(email.get_by_text("What we learned")).to_be_visible()
        expect(email.get_by_role("link", name="Scores & thresholds: the v14 drift")).to_be_visible()
        page.get_by_text("Plain-text part").click()
        expect(page.locator(".digest-text pre")).to_contain_text("WHAT NEEDS YOU")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "digest-preview-390")
    context.close()


def test_unsubscribing_from_the_link_without_signing_in(browser, live_server, org):  # noqa: F811
    path = digest_unsubscribe_url(user=org.priya).split("/digest/", 1)[1]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/digest/{path}")
    expect(page.get_by_text("Stop sending the weekly learning digest to priya@example.com?")).to_be_visible()
    assert DigestPreference.objects.filter(user=org.priya, enabled=False).count() == 0
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("You are unsubscribed")).to_be_visible()
    assert DigestPreference.objects.get(user=org.priya).enabled is False
    context.close()
