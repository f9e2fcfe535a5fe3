"""A destructive button asks in a dialog (JavaScript on) or on a page of its own (JavaScript off)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def related_pair(team, member):
    from incidents.services.incidents import incident_relate
    from tests.factories import IncidentFactory

    incident = IncidentFactory(team=team, title="Canary failed again")
    other = IncidentFactory(team=team, title="Canary failed")
    incident_relate(incident=incident, other=other, actor=member)
    return incident, other


def test_the_dialog_asks_and_cancel_keeps_the_relation(page, live_server, signed_in, member, related_pair, screenshot):
    incident, other = related_pair
    signed_in(member)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    remove = page.get_by_role("button", name=f"Remove relation to {other.reference}")

    remove.click()
    dialog = page.get_by_role("dialog", name=f"Stop relating {incident.reference} and {other.reference}?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    violations = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}})
    assert violations.response["violations"] == []
    screenshot(page, "confirm-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert incident.related.filter(pk=other.pk).exists()

    remove.click()
    dialog.get_by_role("button", name="Remove the relation").click()
    expect(page.locator(".flash")).to_contain_text(f"No longer related to {other.reference}.")
    assert not incident.related.filter(pk=other.pk).exists()


def test_without_javascript_a_page_asks_first(browser, live_server, member, related_pair):
    from tests.factories import PASSWORD

    incident, other = related_pair
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")

    page.get_by_role("button", name=f"Remove relation to {other.reference}").click()
    expect(
        page.get_by_role("heading", name=f"Stop relating {incident.reference} and {other.reference}?")
    ).to_be_visible()
    assert incident.related.filter(pk=other.pk).exists()
    page.get_by_role("button", name="Remove the relation").click()
    expect(page.locator(".flash")).to_contain_text(f"No longer related to {other.reference}.")
    assert not incident.related.filter(pk=other.pk).exists()
    context.close()
