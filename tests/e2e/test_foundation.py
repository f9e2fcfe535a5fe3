import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_page_looks_like_a_product(page, live_server, screenshot):
    page.goto(f"{live_server.url}/teams/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "Sign in"
    # The stylesheet is served from our own static files.
    background = page.evaluate("getComputedStyle(document.body).backgroundImage")
    assert "radial-gradient" in background
    screenshot(page, "sign-in")


def test_wrong_password_shows_error(page, live_server, member):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_title("Error: Sign in · Kintsugi")


def test_lead_adds_a_member_through_the_team_page(page, live_server, signed_in, screenshot, team, lead):
    from tests.factories import UserFactory

    UserFactory(username="kenji", first_name="Kenji", last_name="Watanabe")
    signed_in(lead)
    page.click("nav >> text=Teams")
    page.wait_for_url(f"{live_server.url}/teams/")
    page.click(f"text={team.name}")
    page.wait_for_url(f"{live_server.url}/teams/{team.slug}/")
    page.select_option("#id_user", label="Kenji Watanabe (kenji)")
    page.click("text=Add member")
    expect(page.locator(".flash")).to_contain_text("kenji joined Fraud as member.")
    expect(page.locator("table >> text=Kenji Watanabe")).to_be_visible()
    screenshot(page, "team-detail")


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box


def test_the_phone_menu_opens_below_the_bar_and_keeps_the_button_under_the_finger(
    browser, live_server, member, screenshot
):
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    toggle = page.get_by_role("button", name="Menu")
    expect(page.locator("nav.mainnav")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    brand_before, toggle_before = _box(page.locator(".brand")), _box(toggle)
    screenshot(page, "phone-menu-closed")

    toggle.click()
    expect(page.locator("nav.mainnav >> text=Teams")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    screenshot(page, "phone-menu-open")
    # Opening the menu moves neither the logo nor the button.
    assert abs(_box(page.locator(".brand"))["y"] - brand_before["y"]) <= 1
    assert abs(_box(toggle)["y"] - toggle_before["y"]) <= 1
    assert abs(_box(toggle)["x"] - toggle_before["x"]) <= 1
    # The links open below the bar, one per row, across the whole width.
    bar_bottom = toggle_before["y"] + toggle_before["height"]
    links = page.locator("nav.mainnav a")
    first, last = _box(links.first), _box(links.last)
    assert first["y"] >= bar_bottom
    assert first["x"] <= 40 and first["width"] >= 300
    assert last["y"] > first["y"]
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.keyboard.press("Escape")
    expect(page.locator("nav.mainnav")).to_be_hidden()
    expect(toggle).to_be_focused()
    context.close()


def test_the_phone_menu_works_from_the_keyboard(browser, live_server, member):
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    toggle = page.get_by_role("button", name="Menu")
    for _ in range(5):
        page.keyboard.press("Tab")
        if toggle.evaluate("element => element === document.activeElement"):
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("nav.mainnav a").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/incidents/")
    context.close()


def test_without_javascript_the_phone_menu_is_simply_open(browser, live_server, member):
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("nav.mainnav >> text=Teams")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    context.close()


def test_removing_a_member_asks_first_in_a_dialog(page, live_server, signed_in, screenshot, team, lead, member):
    from teams.models import Membership

    signed_in(lead)
    page.goto(f"{live_server.url}/teams/{team.slug}/")
    row = page.locator("tr", has_text=member.username)
    row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog", name=f"Remove {member.username} from {team.name}?")
    expect(dialog).to_be_visible()
    screenshot(page, "team-remove-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Membership.objects.filter(team=team, user=member).exists()
    row.get_by_role("button", name="Remove").click()
    dialog.get_by_role("button", name=f"Remove {member.username}").click()
    expect(page.locator(".flash")).to_contain_text(f"{member.username} left {team.name}.")
    assert not Membership.objects.filter(team=team, user=member).exists()
