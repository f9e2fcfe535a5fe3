"""Every page, and Swagger UI, runs under the strict Content-Security-Policy with no violation reported.

The pages are discovered from the URLconf, so a page added later is checked without editing this test;
each id in a path is filled from the demo organisation (``seed_demo``), staff signed in so nothing is
hidden. The browser reports each blocked script, style or style attribute as a ``securitypolicyviolation``
event (and on the console): none may occur.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.pages import page_paths

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def demo_staff(live_server):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", verbosity=0)
    user = get_user_model().objects.get(username="demo")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_no_page_reports_a_content_security_policy_violation(page, live_server, demo_staff):
    from demo.chapters.people import DEMO_PASSWORD

    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", demo_staff.username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    paths = page_paths()
    assert len(paths) > 30, paths
    visited, violations = [], {}
    for path in paths:
        # Ask first, with the page's cookies: an empty 4xx (a POST-only URL) would leave the tab on Chromium's
        # error page, whose own navigation interrupts the next goto.
        answer = page.request.get(f"{live_server.url}{path}", max_redirects=0)
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        try:
            response = page.goto(f"{live_server.url}{path}")
        except PlaywrightError:  # an answer with no page to show: nothing to check
            continue
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        page.wait_for_load_state("load")
        visited.append(path)
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[path] = found
    console_violations = [text for text in console if "Content Security Policy" in text]
    assert len(visited) > 25, visited
    assert violations == {}
    assert console_violations == []


def test_swagger_ui_renders_the_api_under_the_policy(page, live_server, demo_staff):
    from demo.chapters.people import DEMO_PASSWORD

    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", demo_staff.username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock-tag").first.wait_for()
    assert page.locator(".opblock-tag").count() >= 1
    assert page.evaluate("window.__cspViolations") == []
    assert [text for text in console if "Content Security Policy" in text] == []
