"""The bell, the notification list and a team's channels, in a real browser at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from incidents.services.incidents import incident_assign_owner, incident_open
from tests.notifications.helpers import dispatch_all

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_bell_counts_unread_and_reading_one_lowers_it(browser, live_server, team, lead, member, width, screenshot):
    from tests.factories import PASSWORD

    first = incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=lead)
    dispatch_all()
    incident_assign_owner(incident=first, owner=member, actor=lead)
    incident_open(team=team, title="Feature store lagging", created_by=lead)
    dispatch_all()
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    bell = page.locator(".bell")
    expect(bell).to_be_visible()  # on a phone too, outside the folded menu
    expect(bell.locator(".bell-count")).to_have_text("3")
    expect(bell).to_have_attribute("aria-label", "Notifications: 3 unread")
    needs_you = page.locator(".needs-you")
    expect(needs_you).to_contain_text(f"{first.reference} is now led by")
    screenshot(page, f"home-needs-you-{width}")
    bell.click()
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator(".notice-unread")).to_have_count(3)
    screenshot(page, f"notifications-{width}")
    page.locator(".notice-title", has_text="Feature store lagging").click()
    expect(page.locator("h1")).to_contain_text("Feature store lagging")
    expect(page.locator(".bell .bell-count")).to_have_text("2")
    page.goto(f"{live_server.url}/notifications/")
    page.click("text=Mark all read")
    expect(page.locator(".notice-unread")).to_have_count(0)
    expect(page.locator(".bell .bell-count")).to_be_hidden()
    assert errors == []
    context.close()


def test_a_lead_adds_a_channel_and_sends_a_test(page, live_server, signed_in, team, lead, screenshot):
    signed_in(lead)
    page.goto(f"{live_server.url}{team.get_absolute_url()}")
    page.click("text=+ Add a channel")
    page.select_option("#id_channel-kind", "webhook")
    page.fill("#id_channel-name", "Pager bridge")
    page.fill("#id_channel-url", "https://hooks.example.com/kintsugi")
    page.click("button:has-text('Add channel')")
    secret = page.locator("#channel-secret")
    expect(secret).to_contain_text("whsec_")
    screenshot(page, "channel-created")
    page.click("button:has-text('Send a test message')")
    expect(page.locator(".flash")).to_contain_text("Test message queued for Pager bridge")
    expect(page.locator(".send-log")).to_contain_text("Test message")
    screenshot(page, "channel-detail")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_lead_makes_a_channel_paused_for_its_placeholder_url_real_in_one_edit(
    browser, live_server, team, lead, width, screenshot
):
    from notifications.services.channels import channel_create
    from tests.factories import PASSWORD

    channel_create(
        team=team,
        actor=lead,
        kind="slack",
        name="#ml-incidents",
        url="https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        events=["*"],
        paused_reason="Demo channel: its URL is a placeholder, so nothing is sent to it.",
    )
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", lead.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{team.get_absolute_url()}")
    row = page.locator(".channel-row", has_text="#ml-incidents")
    expect(row.locator(".channel-paused")).to_contain_text("its URL is a placeholder")
    expect(row.locator("button", has_text="Send a test message")).to_have_count(0)
    page.click(".channel-row .channel-name a")
    expect(page.locator("#paused-reason")).to_contain_text("Paused. Demo channel: its URL is a placeholder")
    expect(page.locator("button", has_text="Send a test message")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, f"channel-paused-{width}")
    page.click("a.btn:has-text('Edit')")
    expect(page.locator(".channel-paused")).to_be_visible()
    page.fill("#id_channel-url", "https://hooks.slack.com/services/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")
    page.check("#id_channel-active")
    page.click("button:has-text('Save channel')")
    expect(page.locator(".flash")).to_contain_text("Channel #ml-incidents saved")
    expect(page.locator(".page-head")).to_contain_text("Slack · active")
    expect(page.locator("#paused-reason")).to_have_count(0)
    expect(page.locator("button", has_text="Send a test message")).to_be_visible()
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_someone_outside_the_team_follows_an_incident_and_hears_its_update(
    browser, live_server, team, lead, outsider, width, screenshot
):
    from incidents.services.incidents import incident_resolve
    from tests.factories import PASSWORD

    incident = incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=lead)
    dispatch_all()
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", outsider.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    follow = page.locator(".follow-form button")
    expect(follow).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".follow-count")).to_have_text("0 followers")
    follow.click()
    expect(page.locator(".flash")).to_contain_text(f"You follow {incident.reference}")
    expect(page.locator(".follow-form button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".follow-count")).to_have_text("1 follower")
    screenshot(page, f"incident-followed-{width}")
    incident_resolve(incident=incident, actor=lead)
    dispatch_all()
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator(".notice-title")).to_have_count(1)
    expect(page.locator(".notice-title")).to_contain_text(f"{incident.reference} resolved")
    context.close()
