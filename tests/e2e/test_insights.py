"""Insights in a real browser on the demo organisation: every chart drawn by plotly.js from our own static files,
under a strict Content-Security-Policy, with every request outside 127.0.0.1 refused."""

import contextlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from demo.chapters.people import DEMO_PASSWORD
from incidents.models import RegisteredModel
from insights.charts import CHARTS
from teams.models import Team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The demo's eight weeks of history, whatever today is.
DEMO_VIEW = "period=custom&start=2026-09-21&end=2026-11-22"
# What the strict policy being added to every page will allow; no 'unsafe-inline' anywhere.
STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


@pytest.fixture
def guarded(browser):
    """Return a page whose requests outside loopback are refused and whose pages carry the strict policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    refusals: list[str] = []

    def route(route):
        request = route.request
        if urlsplit(request.url).hostname not in LOOPBACK:
            route.abort()
            return
        if request.resource_type != "document" or request.method != "GET":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_POLICY})

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: refusals.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.on("pageerror", lambda error: refusals.append(str(error)))
    yield page, requests, refusals
    context.close()


def sign_in(page, live_server, username: str = "demo"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def expect_every_chart_drawn(page):
    figures = page.locator("[data-figure]")
    expect(page.locator("[data-figure][data-drawn='true']")).to_have_count(figures.count())
    for index in range(figures.count()):
        expect(figures.nth(index).locator("svg.main-svg").first).to_be_attached()
    return figures.count()


def test_every_chart_is_drawn_offline_under_a_strict_policy(guarded, live_server, demo, screenshot):
    page, requests, refusals = guarded
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/insights/?{DEMO_VIEW}")
    drawn = expect_every_chart_drawn(page)
    for chart in CHARTS:
        expect(page.locator(f"#{chart.key} [data-figure] svg.main-svg").first).to_be_attached()
    assert drawn >= len(CHARTS)
    # plotly.js found our stylesheet and injected no <style> of its own.
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.evaluate("!!document.getElementById('plotly.js-style-global').sheet.cssRules.length")
    assert refusals == []
    assert requests and all(urlsplit(url).hostname in LOOPBACK for url in requests)
    assert any(url.endswith("/static/vendor/plotly/plotly.min.js") for url in requests)
    screenshot(page, "insights")


def test_table_view_and_csv(guarded, live_server, demo):
    page, _, refusals = guarded
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/insights/?{DEMO_VIEW}")
    section = page.locator("#operational-load")
    section.locator("summary", has_text="Table view").click()
    expect(section.locator("table tbody tr").filter(has_text="ML Platform").first).to_be_visible()
    with page.expect_download() as download:
        section.locator("a", has_text="CSV").click()
    assert download.value.suggested_filename.startswith("kintsugi-operational-load-2026-09-21")
    assert refusals == []


def test_filters_are_carried_by_the_link(guarded, live_server, demo):
    page, _, _ = guarded
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/insights/?{DEMO_VIEW}")
    page.select_option("#f-team", "fraud")
    page.check("input[name=compare]")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**team=fraud**")
    assert "compare=1" in page.url and "start=2026-09-21" in page.url
    expect_every_chart_drawn(page)
    expect(page.locator(".insight-kpi", has_text="Previous period").first).to_be_visible()


def test_phone_width(browser, live_server, demo, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/insights/?{DEMO_VIEW}")
    expect_every_chart_drawn(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "insights-phone")
    context.close()


def test_lineage_and_team_pages_draw_their_small_chart(guarded, live_server, demo):
    page, requests, _ = guarded
    sign_in(page, live_server)
    # Their chart shows the last quarter: a day after the demo's story, it holds all of it.
    traveller = time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=True)
    traveller.start()
    request_cleanup = traveller.stop
    model = RegisteredModel.objects.get(name="churn-predictor")
    page.goto(f"{live_server.url}{model.get_absolute_url()}")
    assert expect_every_chart_drawn(page) == 1
    page.goto(f"{live_server.url}{Team.objects.get(slug='ml-platform').get_absolute_url()}")
    expect(page.locator("[data-figure][data-drawn='true']")).to_have_count(1)
    request_cleanup()
    # The lineage page still has style="" attributes of its own (left to the policy's own change), so only
    # the charts' part is checked here: drawn, with no request leaving loopback.
    assert all(urlsplit(url).hostname in LOOPBACK for url in requests)


# Every chart's texts as the browser laid them out: its title and axis titles must lie inside the chart, clear
# of each other and of every tick label; its legend inside the chart, clear of the plot area, titles and ticks.
CHART_TEXT_PROBLEMS = """() => {
  const box = (element) => {
    const rect = element.getBoundingClientRect();
    return {left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom, text: element.textContent};
  };
  const shown = (rect) => rect.right > rect.left && rect.bottom > rect.top && rect.text.trim() !== "";
  // Half a pixel of slack: a glyph's anti-aliased edge is not an overlap.
  const overlap = (a, b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  const inside = (a, c) =>
    a.left >= c.left - 0.5 && a.right <= c.right + 0.5 && a.top >= c.top - 0.5 && a.bottom <= c.bottom + 0.5;
  const problems = [];
  for (const chart of document.querySelectorAll("[data-figure]")) {
    const name = chart.getAttribute("data-figure");
    const container = box(chart);
    const titles = [...chart.querySelectorAll("text.gtitle, text.xtitle, text.ytitle, text.y2title")]
      .map(box).filter(shown);
    const ticks = [...chart.querySelectorAll("g.xtick text, g.ytick text, g.y2tick text")].map(box).filter(shown);
    if (!chart.querySelector("text.gtitle")) problems.push(`${name}: no title`);
    titles.forEach((title, index) => {
      if (!inside(title, container)) problems.push(`${name}: "${title.text}" is cut off`);
      for (const tick of ticks) {
        if (overlap(title, tick)) problems.push(`${name}: "${title.text}" covers the tick "${tick.text}"`);
      }
      for (const other of titles.slice(index + 1)) {
        if (overlap(title, other)) problems.push(`${name}: "${title.text}" covers "${other.text}"`);
      }
    });
    const legend = chart.querySelector("g.legend");
    if (legend) {
      const legendBox = box(legend);
      if (!inside(legendBox, container)) problems.push(`${name}: the legend is cut off`);
      const plot = chart.querySelector(".nsewdrag");
      if (plot && overlap(legendBox, box(plot))) problems.push(`${name}: the legend covers the plot`);
      for (const text of [...titles, ...ticks]) {
        if (overlap(legendBox, text)) problems.push(`${name}: the legend covers "${text.text}"`);
      }
    }
  }
  return problems;
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_chart_titles_axis_titles_and_legends_stay_clear(browser, live_server, demo, width):
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    sign_in(page, live_server)
    # The team and lineage charts show the last quarter: a day after the demo's story, it holds all of it.
    traveller = time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=True)
    traveller.start()
    problems = []
    paths = [
        f"/insights/?{DEMO_VIEW}",
        f"/insights/?{DEMO_VIEW}&compare=1",
        Team.objects.get(slug="ml-platform").get_absolute_url(),
        RegisteredModel.objects.get(name="churn-predictor").get_absolute_url(),
    ]
    try:
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            assert expect_every_chart_drawn(page)
            problems += [f"{path} {problem}" for problem in page.evaluate(CHART_TEXT_PROBLEMS)]
    finally:
        traveller.stop()
        context.close()
    assert problems == []


def test_charts_are_fitted_again_when_their_width_changes(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1280, "height": 844})
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/insights/?{DEMO_VIEW}&compare=1")
    expect_every_chart_drawn(page)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        # Redrawn once the new width is seen; if never clear, the assertion below says what is wrong.
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(f"({CHART_TEXT_PROBLEMS})().length === 0", timeout=5000)
        assert page.evaluate(CHART_TEXT_PROBLEMS) == [], f"at {width} px"
    context.close()
