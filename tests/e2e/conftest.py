import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("KINTSUGI_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls made by the test itself (fixtures) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Milliseconds each page load is held back (default none). A test that acts after a click without waiting for
# the next page passes on a fast machine and fails on a busy one; KINTSUGI_E2E_PAGE_DELAY_MS=400 makes every
# machine a busy one, so such a race fails every time instead of now and then.
PAGE_DELAY_MS = int(os.environ.get("KINTSUGI_E2E_PAGE_DELAY_MS", "0"))


def _hold_back_pages(route):
    if route.request.resource_type == "document":
        time.sleep(PAGE_DELAY_MS / 1000)  # fault injection for race hunting, never a wait
    route.continue_()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        if PAGE_DELAY_MS:
            new_context = browser.new_context

            def slow_context(**kwargs):
                context = new_context(**kwargs)
                context.route("**/*", _hold_back_pages)
                return context

            browser.new_context = slow_context
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def signed_in(page, live_server):
    """Return a function that signs the given user in through the real form."""
    from tests.factories import PASSWORD

    def sign_in(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return sign_in
