"""Every page meets WCAG 2.1 AA as axe-core reads it, at a desktop's and a phone's width, and by keyboard.

axe-core runs inside Chromium on each page of the URLconf (``tests/e2e/pages.py``, ids filled from the demo
organisation), on the sign-in page, on Swagger UI and on the states a page opens into (the phone menu, an
open dropdown, a post-mortem being written or reviewed); the rules are those tagged WCAG 2.0 and 2.1, A and
AA, and no violation is allowed. Each id an ``aria-describedby``, ``aria-labelledby``, ``aria-controls``
or label's ``for`` names must exist on the page: axe only asks a person to review a reference to nothing.

The keyboard tests walk the phone menu and the post-mortem editor as a person with no mouse would.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.pages import page_paths

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
DESKTOP = {"width": 1280, "height": 860}
LAPTOP = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}

MISSING_REFERENCES = """() => {
  const missing = [];
  for (const attribute of ["aria-describedby", "aria-labelledby", "aria-controls", "for"]) {
    for (const element of document.querySelectorAll(`[${attribute}]`)) {
      for (const id of element.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${attribute}="${id}" on <${element.tagName.toLowerCase()}>`);
      }
    }
  }
  return missing;
}"""


def _problems(page) -> list[str]:
    """Return each WCAG 2.1 AA violation axe-core finds on the page as it is now, and each id named but absent."""
    results = Axe().run(page, options=WCAG_21_AA).response
    found = []
    for violation in results["violations"]:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:4])
        more = " …" if len(violation["nodes"]) > 4 else ""
        found.append(f"{violation['id']} ({violation['impact']}): {targets}{more}")
    return found + page.evaluate(MISSING_REFERENCES)


def _sign_in(page, live_server, username: str):
    from demo.chapters.people import DEMO_PASSWORD

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _extra_pages() -> list[str]:
    """Return the states the URLconf's first ids do not reach: a post-mortem in each status, written both ways."""
    from postmortems.models import Postmortem, PostmortemStatus

    paths = []
    for status in PostmortemStatus.values:
        postmortem = Postmortem.objects.filter(status=status).order_by("pk").first()
        if postmortem:
            paths.append(f"/postmortems/{postmortem.pk}/")
    draft = Postmortem.objects.filter(status=PostmortemStatus.DRAFT).order_by("-version", "pk").first()
    return [*paths, f"/postmortems/{draft.pk}/edit/", f"/postmortems/{draft.pk}/edit/?mode=guided"]


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", verbosity=0)


# About a hundred pages, each loaded and read by axe-core: minutes of work, well past the default per-test
# limit when the machine is busy.
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_meets_wcag_21_aa(browser, live_server, demo, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems = {}

    page.goto(f"{live_server.url}/accounts/login/")
    problems["/accounts/login/"] = _problems(page)
    _sign_in(page, live_server, "demo")

    visited = []
    for path in page_paths() + _extra_pages():
        # Ask first: a POST-only URL or a redirect is no page of its own (its target is visited by itself).
        answer = page.request.get(f"{live_server.url}{path}", max_redirects=0)
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        try:
            page.goto(f"{live_server.url}{path}")
        except PlaywrightError:  # an answer with no page to show: nothing to check
            continue
        page.wait_for_load_state("load")
        visited.append(path)
        problems[path] = _problems(page)

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock-tag").first.wait_for()
    problems["/api/docs/"] = _problems(page)

    page.goto(f"{live_server.url}/no-such-page/")
    problems["404"] = _problems(page)

    context.close()
    assert len(visited) > 30, visited
    for path in ("/", "/incidents/", "/models/", "/sources/", "/postmortems/", "/actions/", "/learnings/", "/search/"):
        assert path in visited
    assert {path: found for path, found in problems.items() if found} == {}


def test_open_menus_and_dropdowns_meet_wcag_21_aa(browser, live_server, demo):
    from incidents.models import Incident

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _sign_in(page, live_server, "demo")
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("nav.mainnav")).to_be_visible()
    assert _problems(page) == []

    incident = Incident.objects.filter(status="open").order_by("pk").first() or Incident.objects.order_by("pk").first()
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    dropdown = page.locator("details.dropdown").first
    dropdown.locator("summary").click()
    expect(dropdown.locator(".dropdown-panel")).to_be_visible()
    assert _problems(page) == []
    context.close()


def _focused(page) -> dict:
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          const box = element.getBoundingClientRect();
          return {tag: element.tagName, text: (element.innerText || element.value || element.name || "").trim(),
                  href: element.getAttribute("href"), top: box.top, bottom: box.bottom,
                  visible: !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length)};
        }"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_refused_forms_meet_wcag_21_aa_and_take_the_focus_to_their_errors(browser, live_server, demo, viewport):
    """A form sent empty shows its error summary, focused, with "Error: " in the title, and nothing axe refuses."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("button[type=submit]")
    problems = {"/accounts/login/": _problems(page)}
    expect(page.locator("[data-error-summary]")).to_be_focused()
    _sign_in(page, live_server, "demo")
    for path, button in (
        ("/incidents/new/", "form.card button[type=submit]"),
        ("/sources/new/", "form.source-form button[type=submit]"),
        ("/game-days/new/", "form.xp-form button[type=submit]"),
    ):
        page.goto(f"{live_server.url}{path}")
        page.locator(button).last.click()
        page.wait_for_load_state("load")
        expect(page.locator("[data-error-summary]")).to_be_focused()
        assert page.title().startswith("Error: ")
        problems[path] = _problems(page)
        page.locator("[data-error-summary] a").first.click()
        assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"
    context.close()
    assert {path: found for path, found in problems.items() if found} == {}


def test_the_phone_menu_works_by_keyboard(browser, live_server, demo):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _sign_in(page, live_server, "demo")
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-controls", "topbar-menu")

    # Tab from the top of the page reaches the menu's button within a few steps.
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('nav-toggle')"):
            break
    else:
        pytest.fail("Tab never reached the menu button")

    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("nav.mainnav")).to_be_visible()

    # Every link of the menu, the search and Sign out come next in the Tab order, each visible.
    reached = []
    for _ in range(20):
        page.keyboard.press("Tab")
        focused = _focused(page)
        assert focused["visible"], focused
        reached.append(focused["text"] or focused["tag"])
        if focused["text"] == "Sign out":
            break
    for name in ("Incidents", "Post-mortems", "Teams", "Sign out"):
        assert name in reached, reached

    # Escape closes the menu and gives the focus back to its button.
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("nav.mainnav")).to_be_hidden()
    expect(toggle).to_be_focused()
    context.close()


def test_escape_closes_an_open_dropdown(page, live_server, demo):
    from incidents.models import Incident

    incident = Incident.objects.filter(status="open").order_by("pk").first() or Incident.objects.order_by("pk").first()
    _sign_in(page, live_server, "demo")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    summary = page.locator("details.dropdown > summary").first
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.dropdown").first).to_have_attribute("open", "")
    page.keyboard.press("Tab")  # into the panel
    page.keyboard.press("Escape")
    expect(page.locator("details.dropdown[open]")).to_have_count(0)
    expect(summary).to_be_focused()


RING = """(element) => {
  // The focus ring as drawn: its colour, width and offset, and whether an ancestor clips any part of it.
  const style = getComputedStyle(element);
  const width = parseFloat(style.outlineWidth) || 0;
  const reach = width + Math.max(parseFloat(style.outlineOffset) || 0, 0);
  const box = element.getBoundingClientRect();
  const ring = {left: box.left - reach, right: box.right + reach, top: box.top - reach, bottom: box.bottom + reach};
  let clipped = false;
  for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
    const parentStyle = getComputedStyle(parent);
    if (!/hidden|clip|auto|scroll/.test(parentStyle.overflow)) continue;
    const frame = parent.getBoundingClientRect();
    if (ring.left < frame.left || ring.right > frame.right || ring.top < frame.top || ring.bottom > frame.bottom) {
      clipped = true;
    }
  }
  return {style: style.outlineStyle, width, color: style.outlineColor, clipped};
}"""


def _luminance(css_colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3])

    def channel(value):
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _draft_edit_url(live_server) -> str:
    from postmortems.models import Postmortem, PostmortemStatus

    draft = Postmortem.objects.filter(status=PostmortemStatus.DRAFT).order_by("-version", "pk").first()
    return f"{live_server.url}/postmortems/{draft.pk}/edit/"


# Resolves once the page has kept still for three frames: a focus that scrolls, or a scroll still running,
# has had its say before anything is measured.
SCROLL_SETTLED = """() => new Promise((resolve) => {
  let last = window.scrollY, still = 0;
  function frame() {
    if (window.scrollY === last) still += 1; else { still = 0; last = window.scrollY; }
    if (still >= 3) resolve(); else requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})"""


@pytest.mark.parametrize(
    "viewport",
    [
        pytest.param(DESKTOP, id="desktop"),
        pytest.param(LAPTOP, id="laptop"),
        pytest.param(PHONE, id="phone"),
    ],
)
def test_the_editor_never_hides_the_focused_control_under_the_sticky_bar(browser, live_server, demo, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    _sign_in(page, live_server, "demo")
    page.goto(_draft_edit_url(live_server))
    page.locator("#pm-editor").wait_for()
    bar_bottom = page.locator(".topbar").bounding_box()["height"]

    # From the page's last control, Shift+Tab walks every control back to the top; each must show below the
    # bar once the page is still. (Not the End key: Chromium animates that scroll for 150-220 ms here, longer
    # on a busy machine, and an animation still running could carry the page past controls focused meanwhile.)
    page.locator("footer a").focus()
    page.evaluate(SCROLL_SETTLED)
    hidden, walked = [], 0
    for _ in range(200):
        page.keyboard.press("Shift+Tab")
        page.evaluate(SCROLL_SETTLED)
        focused = _focused(page)
        if focused["tag"] == "BODY" or page.evaluate("!!document.activeElement.closest('.topbar')"):
            break
        walked += 1
        if focused["visible"] and focused["top"] < bar_bottom - 1:
            hidden.append(focused)
    assert walked > 10
    assert hidden == []
    context.close()


def test_the_editor_mode_switch_and_dark_buttons_show_a_whole_focus_ring(page, live_server, demo):
    _sign_in(page, live_server, "demo")
    page.goto(_draft_edit_url(live_server))
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")

    mode = page.locator(".pm-modes a").first
    mode.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
    expect(mode).to_be_focused()
    ring = mode.evaluate(RING)
    assert ring["style"] != "none" and ring["width"] >= 2, ring
    assert not ring["clipped"], ring
    assert _contrast(ring["color"], background) >= 3, ring

    # A dark button's ring stands 3:1 apart from the page around it.
    page.goto(f"{live_server.url}/search/")
    dark = page.locator("main").get_by_role("button", name="Search")
    dark.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(dark).to_be_focused()
    ring = dark.evaluate(RING)
    assert ring["style"] != "none" and ring["width"] >= 2, ring
    assert _contrast(ring["color"], background) >= 3, ring
