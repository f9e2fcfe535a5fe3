import pytest

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
    assert "correct username and password" in page.locator(".flash-error").inner_text()


def test_lead_adds_a_member_through_the_team_page(page, live_server, signed_in, screenshot, team, lead):
    from tests.factories import UserFactory

    UserFactory(username="kenji", first_name="Kenji", last_name="Watanabe")
    signed_in(lead)
    page.click("nav >> text=Teams")
    page.click(f"text={team.name}")
    page.select_option("#id_user", label="Kenji Watanabe (kenji)")
    page.click("text=Add member")
    assert "kenji joined Fraud as member." in page.locator(".flash").inner_text()
    assert page.locator("table >> text=Kenji Watanabe").is_visible()
    screenshot(page, "team-detail")


def test_navigation_collapses_on_a_phone(browser, live_server, member):
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert not page.locator("nav.mainnav").is_visible()
    page.click("label.nav-toggle-label")
    assert page.locator("nav.mainnav >> text=Teams").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()
