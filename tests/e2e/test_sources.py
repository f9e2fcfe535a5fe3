import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Source
from incidents.selectors.sources import source_valid_secrets
from tests.factories import DeliveryFactory, SourceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

WORKFLOW_RUN = {
    "action": "completed",
    "workflow_run": {
        "id": 30433642,
        "name": "Deploy fraud-detector",
        "display_title": "deploy fraud-detector v17 to production",
        "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "run_attempt": 1,
        "status": "completed",
        "conclusion": "failure",
        "html_url": "https://github.com/acme/fraud/actions/runs/30433642",
    },
    "repository": {"full_name": "acme/fraud"},
}


def screenshot_dir():
    from tests.e2e.conftest import SCREENSHOTS

    return SCREENSHOTS


def fits_the_width(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def seed_log(team):
    now = timezone.now()
    source = SourceFactory(team=team, name="fraud-detector CI", kind="github")
    statuses = ["processed", "failed", "ignored", "processed", "received", "processed", "failed"]
    events = [
        "workflow_run",
        "workflow_run",
        "ping",
        "deployment_status",
        "workflow_job",
        "workflow_run",
        "workflow_run",
    ]
    for index, (status, event) in enumerate(zip(statuses, events, strict=True)):
        DeliveryFactory(
            source=source,
            status=status,
            event=event,
            received_at=now - timedelta(minutes=17 * index),
            model_found="fraud-detector v17" if status in {"processed", "failed"} and event != "ping" else "",
            error="Payload has no workflow_run.id: is this a workflow_run delivery?" if status == "failed" else "",
            body=json.dumps(WORKFLOW_RUN).encode(),
        )
    SourceFactory(team=team, name="MLflow registry", kind="mlflow")
    gitlab = SourceFactory(team=team, name="feature-store GitLab", kind="gitlab", is_active=False)
    DeliveryFactory(source=gitlab, event="Pipeline Hook", status="processed", received_at=now - timedelta(days=3))
    return source


def test_member_creates_a_source_and_sees_the_secret_once(page, live_server, signed_in, screenshot, team, member):
    signed_in(member)
    page.goto(f"{live_server.url}/sources/")
    page.click("text=Add your first source")
    page.fill("#id_name", "fraud-detector CI")
    page.click("label.kind-option:has-text('GitHub Actions')")
    screenshot(page, "source-new")
    page.click("button:has-text('Create source')")
    page.wait_for_url(re.compile(r".*/sources/\d+/$"))
    source = Source.objects.get(name="fraud-detector CI")
    [secret] = source_valid_secrets(source=source)
    assert page.url == f"{live_server.url}{source.get_absolute_url()}"
    expect(page.locator("#once-secret")).to_have_text(secret)
    expect(page.locator("button[data-copy='#once-secret']")).to_be_visible()
    expect(page.locator("#setup")).to_be_visible()
    screenshot(page, "source-created")
    page.reload()
    assert page.locator("#once-secret").count() == 0
    assert secret not in page.content()


def test_source_list_and_detail_read_well_on_desktop_and_phone(browser, live_server, screenshot, team, member):
    from tests.factories import PASSWORD

    source = seed_log(team)
    SourceFactory(team=TeamFactory(name="Search", slug="search"), name="search-ci")
    for name, viewport in (("", {"width": 1280, "height": 860}), ("-phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", member.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/sources/")
        assert page.locator("text=fraud-detector CI").is_visible()
        assert page.locator("text=search-ci").count() == 0
        assert fits_the_width(page, viewport["width"])
        screenshot(page, f"source-list{name}")
        page.click("text=fraud-detector CI")
        page.wait_for_url(f"{live_server.url}{source.get_absolute_url()}")
        expect(page.locator("#deliveries tbody tr")).to_have_count(7)
        assert fits_the_width(page, viewport["width"])
        screenshot(page, f"source-detail{name}")
        page.select_option("select[name=status]", "failed")
        page.click("#deliveries button:has-text('Filter')")
        # The filter reloads the page: act on the new page only once it is there.
        page.wait_for_url(re.compile(r".*[?&]status=failed"))
        expect(page.locator("#deliveries tbody tr")).to_have_count(2)
        page.click("#deliveries tbody tr >> nth=0 >> a")
        page.wait_for_url(re.compile(r".*/deliveries/\d+/$"))
        expect(page.locator("pre.payload")).to_be_visible()
        assert "deploy fraud-detector v17 to production" in page.locator("pre.payload").inner_text()
        assert fits_the_width(page, viewport["width"])
        screenshot(page, f"delivery-detail{name}")
        context.close()
    assert source.deliveries.count() == 7


def test_setup_instructions_open_for_a_new_source(page, live_server, signed_in, screenshot, team, member):
    source = SourceFactory(team=team, name="recsys Argo CD", kind="argocd")
    signed_in(member)
    page.goto(f"{live_server.url}{source.get_absolute_url()}")
    setup = page.locator("#setup")
    assert setup.is_visible()
    assert source.webhook_url in setup.inner_text()
    screenshot(page, "source-setup")
    page.screenshot(path=str(screenshot_dir() / "source-setup-top.png"))
    assert page.locator("#setup .code-copy").first.is_visible()
    page.click("#options summary")
    expect(page.locator("#id_rate_limit_per_minute")).to_be_visible()
    screenshot(page, "source-options")
    page.click("button:has-text('Send test delivery')")
    page.wait_for_url(f"{live_server.url}/sources/{source.pk}/deliveries/*/")
    expect(page.locator(".flash")).to_contain_text("the webhook answered 202")
    expect(page.locator("pre.payload")).to_be_visible()
    screenshot(page, "delivery-test")


@pytest.mark.parametrize("kind", ["github", "gitlab", "jenkins", "argocd", "circleci", "mlflow", "generic"])
def test_setup_instructions_fit_a_phone(browser, live_server, team, member, kind, screenshot):
    from tests.factories import PASSWORD

    source = SourceFactory(team=team, name=f"{kind} source", kind=kind)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{source.get_absolute_url()}")
    assert page.locator("#setup").is_visible()
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"""
    )
    assert fits_the_width(page, PHONE["width"]), too_wide
    if kind == "github":
        screenshot(page, "source-setup-phone")
    context.close()


def test_a_test_delivery_shows_what_it_was_read_as_and_records_nothing(browser, live_server, screenshot, team, member):
    from incidents.models import Deployment, Incident, RegisteredModel
    from incidents.services.sources import source_create
    from tests.factories import PASSWORD

    source, _ = source_create(team=team, kind="generic", name="release-bot")
    for name, viewport in (("", {"width": 1280, "height": 860}), ("-phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", member.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}{source.get_absolute_url()}")
        page.click("button:has-text('Send test delivery')")
        page.wait_for_url(re.compile(r".*/deliveries/\d+/$"))
        expect(page.locator(".delivery-test")).to_contain_text(
            "Read as a failed deployment of demo-model v1 to staging."
        )
        expect(page.locator("h1 .badge-test")).to_be_visible()
        assert fits_the_width(page, viewport["width"])
        screenshot(page, f"test-delivery{name}")
        context.close()
    assert source.deliveries.filter(is_test=True).count() == 2
    assert not (Incident.objects.exists() or Deployment.objects.exists() or RegisteredModel.objects.exists())
