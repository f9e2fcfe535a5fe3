"""The top bar fits at a desktop's, a laptop's and a phone's width: nothing overlaps, nothing spills over."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.test_accessibility import WCAG_21_AA

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECTIONS = [
    "Incidents",
    "Models",
    "Experiments",
    "Post-mortems",
    "Actions",
    "Learnings",
    "Insights",
    "Sources",
    "Teams",
]

BOXES = """() => {
  const visible = (element) =>
    element && element.getClientRects().length && getComputedStyle(element).visibility !== "hidden";
  const parts = [document.querySelector(".brand"), ...document.querySelectorAll(".mainnav a"),
                 document.querySelector(".topbar-search"), document.querySelector(".usermenu form"),
                 document.querySelector(".bell"), document.querySelector(".nav-toggle")];
  return parts.filter(visible).map((element) => {
    const box = element.getBoundingClientRect();
    return {name: element.textContent.trim() || element.getAttribute("aria-label") || element.className,
            left: box.left, right: box.right, top: box.top, bottom: box.bottom};
  });
}"""


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for index, first in enumerate(boxes):
        for second in boxes[index + 1 :]:
            apart = (
                first["right"] <= second["left"] + 0.5
                or second["right"] <= first["left"] + 0.5
                or first["bottom"] <= second["top"] + 0.5
                or second["bottom"] <= first["top"] + 0.5
            )
            if not apart:
                pairs.append((first["name"], second["name"]))
    return pairs


@pytest.mark.parametrize(
    ("width", "rows", "folded"),
    [(1280, 1, False), (1024, 2, False), (390, 1, True)],
    ids=["desktop-1280", "laptop-1024", "phone-390"],
)
def test_the_top_bar_fits(browser, live_server, member, screenshot, width, rows, folded):
    from tests.factories import PASSWORD

    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    toggle = page.get_by_role("button", name="Menu")
    if folded:
        expect(toggle).to_be_visible()
        expect(page.locator("nav.mainnav")).to_be_hidden()
    else:
        expect(toggle).to_be_hidden()
        for name in SECTIONS:
            expect(page.locator("nav.mainnav").get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_role("search")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()

    boxes = page.evaluate(BOXES)
    assert _overlapping(boxes) == []
    assert all(box["left"] >= 0 and box["right"] <= width for box in boxes), boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    bar = page.locator(".topbar").bounding_box()
    assert bar["height"] <= 8 + rows * 52, bar
    assert Axe().run(page, options=WCAG_21_AA).response["violations"] == []
    screenshot(page, f"top-bar-{width}")
    context.close()
