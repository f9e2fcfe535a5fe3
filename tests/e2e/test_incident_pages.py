"""Incident, registry and lineage pages in a real browser, on the demo organisation."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from demo.chapters.people import DEMO_PASSWORD
from incidents.models import Incident, RegisteredModel
from incidents.selectors.registry import model_lineage
from incidents.views.incidents import PAGE_SIZE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


def sign_in(page, live_server, username: str):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def fits_a_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page
    context.close()


def test_home_dashboard(page, phone, live_server, demo, screenshot):
    sign_in(page, live_server, "lucia")
    assert page.locator("h2", has_text="Your teams' active incidents").is_visible()
    assert page.locator(".dash-list", has_text="fraud-detector v9 failed to deploy").first.is_visible()
    screenshot(page, "home-dashboard")
    sign_in(phone, live_server, "lucia")
    assert fits_a_phone(phone)
    screenshot(phone, "home-dashboard-phone")


def test_incident_list_filters_in_the_browser(page, phone, live_server, demo, screenshot):
    sign_in(page, live_server, "lucia")
    page.click("nav >> text=Incidents")
    page.wait_for_url(f"{live_server.url}/incidents/")
    expect(page.locator(".incident-table tbody tr")).to_have_count(min(Incident.objects.count(), PAGE_SIZE))
    screenshot(page, "incident-list")
    page.select_option("#f-severity", "SEV1")
    page.click("button:has-text('Search')")
    page.wait_for_url(re.compile(r".*[?&]severity=SEV1"))
    rows = page.locator(".incident-table tbody tr")
    assert Incident.objects.filter(severity="SEV1").count() >= 1
    expect(rows).to_have_count(Incident.objects.filter(severity="SEV1").count())
    assert "SEV1" in rows.first.inner_text()
    sign_in(phone, live_server, "lucia")
    phone.goto(f"{live_server.url}/incidents/")
    assert not phone.locator("#f-team").is_visible()  # the extra filters fold away on a phone
    assert fits_a_phone(phone)
    screenshot(phone, "incident-list-phone")


def test_working_an_incident_from_its_page(page, phone, live_server, demo, screenshot):
    incident = Incident.objects.get(title="fraud-detector v9 failed to deploy to production")
    sign_in(page, live_server, "lucia")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    assert page.locator(".tl-alias_move", has_text="rolled back to v8 from v9").is_visible()
    screenshot(page, "incident-detail")
    page.fill("#id_text", "Confirmed the skew with a replay of yesterday's traffic.")
    page.click("button:has-text('Add note')")
    expect(page.locator(".tl-note", has_text="replay of yesterday")).to_be_visible()
    page.click("button:has-text('Resolve')")
    expect(page.locator(".flash")).to_contain_text("Resolved. Time to learn from it.")
    expect(page.locator(".incident-head .badge-resolved")).to_be_visible()
    page.click("summary:has-text('Change severity')")
    page.select_option("#id_severity", "SEV3")
    page.click("button:has-text('Save severity')")
    expect(page.locator(".incident-head .badge-sev3")).to_be_visible()
    incident.refresh_from_db()
    assert (incident.status, incident.severity) == ("resolved", "SEV3")
    sign_in(phone, live_server, "lucia")
    phone.goto(f"{live_server.url}{incident.get_absolute_url()}")
    assert fits_a_phone(phone)
    screenshot(phone, "incident-detail-phone")


def test_declaring_an_incident(page, phone, live_server, demo, screenshot):
    sign_in(page, live_server, "lucia")
    page.goto(f"{live_server.url}/incidents/new/")
    page.click("button:has-text('Declare incident')")
    expect(page.locator(".field-error", has_text="Title")).to_be_visible()
    screenshot(page, "declare-incident-errors")
    page.fill("#id_title", "Chargeback scores drifting for new merchants")
    page.click("label.sev-option:has-text('SEV2')")
    page.select_option("#id_kind", "model_regression")
    page.select_option("#id_model", label="fraud-detector (Fraud)")
    page.fill("#id_environment", "production")
    page.fill("#id_summary", "Scores for merchants onboarded this week are **20% higher**.")
    screenshot(page, "declare-incident")
    page.click("button:has-text('Declare incident')")
    expect(page.locator("h1", has_text="Chargeback scores drifting")).to_be_visible()
    incident = Incident.objects.get(title="Chargeback scores drifting for new merchants")
    assert (incident.severity, incident.owner.username) == ("SEV2", "lucia")
    sign_in(phone, live_server, "lucia")
    phone.goto(f"{live_server.url}/incidents/new/")
    assert fits_a_phone(phone)
    screenshot(phone, "declare-incident-phone")


def test_models_registry_and_lineage(page, phone, live_server, demo, screenshot):
    sign_in(page, live_server, "kenji")
    page.click("nav >> text=Models")
    page.wait_for_url(f"{live_server.url}/models/")
    expect(page.locator(".model-name")).to_have_count(RegisteredModel.objects.count())
    screenshot(page, "models-registry")
    page.click("text=fraud-detector")
    expect(page.locator("h1", has_text="fraud-detector")).to_be_visible()
    v9 = page.locator("#v9")
    fraud_detector = RegisteredModel.objects.get(name="fraud-detector")
    lineage = model_lineage(user=get_user_model().objects.get(username="kenji"), model=fraud_detector)
    (v9_row,) = [row for row in lineage.rows if row.version.version == "9"]
    failed_chips = sum(deployment.status == "failed" for cell in v9_row.cells for deployment in cell.deployments)
    assert failed_chips >= 1, "the demo's fraud-detector v9 failed to deploy"
    expect(v9.locator(".chip-failed")).to_have_count(failed_chips)
    assert v9.locator(".inc-cause").is_visible()
    assert page.locator("#v8 .move-rollback", has_text="rolled back here from v9").is_visible()
    assert page.locator("#v8 .node-current").is_visible()
    screenshot(page, "model-lineage")
    sign_in(phone, live_server, "kenji")
    phone.goto(f"{live_server.url}/models/")
    assert fits_a_phone(phone)
    screenshot(phone, "models-registry-phone")
    phone.goto(f"{live_server.url}{RegisteredModel.objects.get(name='fraud-detector').get_absolute_url()}")
    assert fits_a_phone(phone)
    assert phone.locator("#v9 .lin-env-label", has_text="production").is_visible()
    screenshot(phone, "model-lineage-phone")


def test_a_resolved_incident_invites_the_post_mortem(page, live_server, demo, screenshot):
    incident = Incident.objects.filter(status="resolved", postmortem__isnull=True).first()
    assert incident is not None, "the demo has a fixed incident without a post-mortem"
    sign_in(page, live_server, "demo")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    call_to_action = page.locator(".pm-cta-ready a", has_text="Start the post-mortem")
    assert call_to_action.is_visible()
    screenshot(page, "incident-detail-resolved")
    call_to_action.click()
    page.wait_for_url("**/postmortems/**")
    assert incident.title in page.locator("body").inner_text()


@pytest.mark.parametrize("path", ["/", "/incidents/", "/models/", "/postmortems/", "/learnings/", "/sources/"])
def test_search_is_in_the_header_of_every_page(page, live_server, demo, path):
    sign_in(page, live_server, "lucia")
    page.goto(f"{live_server.url}{path}")
    header_search = page.locator("header.topbar form[role=search]")
    expect(header_search.get_by_role("searchbox", name="Search")).to_be_visible()
    assert header_search.get_attribute("action") == "/search/"


def test_slash_jumps_to_the_header_search_and_finds_incidents_post_mortems_and_learnings(
    page, phone, live_server, demo, screenshot
):
    sign_in(page, live_server, "lucia")
    page.goto(f"{live_server.url}/incidents/")
    page.keyboard.press("/")
    searchbox = page.locator("header.topbar form[role=search] input[type=search]")
    expect(searchbox).to_be_focused()
    searchbox.fill("fraud-detector")
    searchbox.press("Enter")
    page.wait_for_url("**/search/?q=fraud-detector")
    kinds = set(page.locator(".hit .badge").all_inner_texts())
    assert {"Incident", "Post-mortem"} <= kinds, kinds
    screenshot(page, "header-search-results")
    # Typing "/" into a field types a slash; it does not jump.
    page.goto(f"{live_server.url}/incidents/new/")
    page.click("#id_title")
    page.keyboard.type("a/b")
    expect(page.locator("#id_title")).to_have_value("a/b")
    sign_in(phone, live_server, "lucia")
    phone.goto(f"{live_server.url}/incidents/")
    phone.get_by_role("button", name="Menu").click()
    expect(phone.locator("header.topbar form[role=search] input[type=search]")).to_be_visible()
    assert fits_a_phone(phone)
    screenshot(phone, "header-search-phone")
