"""A new user's first hour, in a real browser: from a failed pipeline run to a learning found in search.

One journey, at a desktop's width and at a phone's: sign in, register a GitHub source, receive a
signed failing ``workflow_run`` on the webhook the page shows (a real worker processes it), work the
incident to resolved, write the post-mortem one section at a time with the coach's rewrite accepted,
have a second person approve it, publish, add an action item and find it under "My actions", accept
the proposed lesson and find the learning through the header's search. Each main page is kept as a
screenshot under var/screenshots/journey/ (not committed) for a person to look at.
"""

import json
import re
import threading
import time
import urllib.request
import uuid
from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident
from postmortems.models import ActionItem, Learning, Postmortem, PostmortemStatus
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.incidents.ingest.conftest import celery_worker  # noqa: F401 - a real worker processes the delivery
from tests.incidents.ingest.github import sign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
BLAMING = "Marcus from the vendor forgot to renew the certificate of the feature store."
REWRITE = "Nothing in the process prompted renewing the certificate of the feature store."
LESSON = "Certificates that serving depends on are renewed by automation and alert thirty days ahead."
ACTION = "Renew the feature store certificate automatically"


def failing_run(run_id: int) -> dict:
    return {
        "action": "completed",
        "workflow_run": {
            "id": run_id,
            "name": "Deploy fraud-detector",
            "display_title": "deploy fraud-detector v17 to production",
            "head_branch": "main",
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "run_attempt": 1,
            "status": "completed",
            "conclusion": "failure",
            "html_url": f"https://github.com/acme/fraud/actions/runs/{run_id}",
        },
        "repository": {"full_name": "acme/fraud"},
    }


def post_signed(url: str, secret: str, payload: dict) -> int:
    """Deliver the payload as GitHub does: raw JSON body, HMAC-SHA256 signature, event and delivery headers."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "workflow_run",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(secret, body),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def wait_for_worker(condition, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds, looking again each time the worker finishes a task."""
    finished = threading.Event()

    def on_task(**kwargs):
        finished.set()

    task_postrun.connect(on_task, weak=False)
    try:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the worker did not get there in time"
            finished.wait(remaining)
            finished.clear()
    finally:
        task_postrun.disconnect(on_task)


class Journey:
    """The browser side of the journey at one width: contexts, sign-in and screenshots."""

    def __init__(self, browser, live_server, width: str):
        self.browser = browser
        self.url = live_server.url
        self.width = width
        self.viewport = WIDTHS[width]
        self.folder = SCREENSHOTS / "journey" / width
        self.folder.mkdir(parents=True, exist_ok=True)
        self.context = None

    def sign_in(self, user):
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(viewport=self.viewport)
        page = self.context.new_page()
        page.goto(f"{self.url}/accounts/login/")
        self.shot(page, "01-sign-in")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/")
        return page

    def shot(self, page, name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_function("window.scrollY === 0")
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        # Every main page reads at this width without scrolling sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= self.viewport["width"] + 1, name

    def close(self):
        if self.context is not None:
            self.context.close()


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_new_users_journey_from_a_failed_run_to_a_learning_found_in_search(browser, live_server, team, member, width):
    member.first_name, member.last_name = "Priya", "Raman"
    member.save(update_fields=["first_name", "last_name"])
    reviewer = MembershipFactory(team=team, user=UserFactory(username="tomas", first_name="Tomás", last_name="Novak"))
    reviewer = reviewer.user
    journey = Journey(browser, live_server, width)
    try:
        page = journey.sign_in(member)
        journey.shot(page, "02-home")

        # Register a GitHub source; its secret is shown once, with the webhook URL to paste into GitHub.
        page.goto(f"{live_server.url}/sources/")
        journey.shot(page, "03-sources-empty")
        page.click("text=Add your first source")
        page.fill("#id_name", "fraud-detector CI")
        page.click("label.kind-option:has-text('GitHub Actions')")
        # The run's title names the model and version: "deploy fraud-detector v17 to production".
        page.click("summary:has-text('Options')")
        page.fill("#id_model_pattern", r"deploy (?P<model>[\w-]+) v(?P<version>\d+)")
        journey.shot(page, "04-source-new")
        page.click("button:has-text('Create source')")
        page.wait_for_url(re.compile(r".*/sources/\d+/$"))
        expect(page.locator("#once-secret")).to_be_visible()
        journey.shot(page, "05-source-created")
        secret = page.locator("#once-secret").inner_text().strip()
        hook_path = re.search(r"/hooks/\S+", page.locator("#once-webhook-url").inner_text()).group()

        # GitHub calls: a signed, failing workflow run of fraud-detector v17.
        assert post_signed(f"{live_server.url}{hook_path}", secret, failing_run(30433642)) == 202
        wait_for_worker(lambda: Incident.objects.filter(team=team).exists())

        # The incident appears, with the model version the run deployed.
        page.goto(f"{live_server.url}/incidents/")
        incident = Incident.objects.get(team=team)
        row = page.locator(f"a[href='{incident.get_absolute_url()}']").first
        expect(row).to_be_visible()
        journey.shot(page, "06-incident-list")
        row.click()
        page.wait_for_url(f"{live_server.url}{incident.get_absolute_url()}")
        expect(page.locator("main")).to_contain_text("fraud-detector")
        expect(page.locator("main")).to_contain_text("v17")
        journey.shot(page, "07-incident-open")

        # Mitigate, then resolve.
        page.click("button:has-text('Mark mitigated')")
        expect(page.locator("button:has-text('Resolve')")).to_be_visible()
        page.click("button:has-text('Resolve')")
        expect(page.locator("a:has-text('Start the post-mortem')")).to_be_visible()
        journey.shot(page, "08-incident-resolved")

        # Write the post-mortem one section at a time.
        page.click("a:has-text('Start the post-mortem')")
        journey.shot(page, "09-postmortem-start")
        page.click("text=Start writing")
        page.wait_for_url(re.compile(r".*/postmortems/\d+/edit/$"))
        postmortem = Postmortem.objects.get(incident=incident)
        page.click("nav.pm-modes >> text=One at a time")
        page.wait_for_url(re.compile(r".*mode=guided"))
        answers = {
            "summary": "The deploy of fraud-detector v17 failed at the smoke test; v16 kept serving.",
            "failed_step": BLAMING,
            "rollback": "The pipeline left v16 as champion; nobody had to move the alias.",
            "lessons": f"- {LESSON}",
        }
        keys = [section["key"] for section in postmortem.sections]
        for index, key in enumerate(keys):
            expect(page.locator(".pm-section")).to_have_count(1)
            if key == "contributing_factors":
                page.select_option("#id_factors-0-category", "tooling")
                page.fill("#id_factors-0-description", "Certificate renewal depended on a calendar reminder.")
            elif key in answers:
                page.fill(f"#input-{key}", answers[key])
            if key == "failed_step":
                # The coach flags the contractor as the cause and offers the sentence said about the system.
                finding = page.locator("#coach-summary .pm-finding").first
                expect(finding).to_contain_text("Marcus from the vendor forgot to")
                expect(finding.locator(".pm-rewrite")).to_have_text(REWRITE)
                journey.shot(page, "10-editor-coach-finding")
                finding.locator("button:has-text('Use this rewrite')").click()
                expect(page.locator("#input-failed_step")).to_have_value(REWRITE)
                expect(page.locator("#coach-summary [data-coach-count]")).to_have_text("0")
                journey.shot(page, "11-editor-rewrite-accepted")
            if index + 1 < len(keys):
                page.click("button:has-text('Save and continue')")
                page.wait_for_url(re.compile(rf".*step={keys[index + 1]}$"))
            else:
                page.click("button:has-text('Save and finish')")
                page.wait_for_url(f"{live_server.url}{postmortem.get_absolute_url()}")
        postmortem.refresh_from_db()
        assert postmortem.content["failed_step"] == REWRITE

        # Send it for review to a team-mate; the author cannot approve their own.
        page.fill("#id_invite", reviewer.username)
        journey.shot(page, "12-postmortem-draft")
        page.click("button:has-text('Send for review')")
        expect(page.locator(".flash")).to_contain_text("Sent for review")

        page = journey.sign_in(reviewer)
        page.goto(f"{live_server.url}{postmortem.get_absolute_url()}")
        page.fill("#id_comment", "Clear, and the renewal gap is one we share.")
        journey.shot(page, "13-postmortem-review")
        page.click("button:has-text('Approve version')")
        expect(page.locator(".flash")).to_contain_text("You approved version")

        page = journey.sign_in(member)
        page.goto(f"{live_server.url}{postmortem.get_absolute_url()}")
        page.click("#publish button:has-text('Publish')")
        expect(page.locator(".flash")).to_contain_text("Published.")
        journey.shot(page, "14-postmortem-published")
        postmortem.refresh_from_db()
        assert postmortem.status == PostmortemStatus.PUBLISHED

        # An action item, owned by the author, shows on "My actions".
        panel = page.locator("#action-items")
        if not panel.locator("details").evaluate("details => details.open"):
            panel.locator("summary:has-text('Add an action item')").click()
        panel.locator("#id_action_title").fill(ACTION)
        panel.locator("#id_action_owner").select_option(str(member.pk))
        panel.locator("#id_action_due_date").fill((timezone.localdate() + timedelta(days=14)).isoformat())
        panel.locator("#id_action_verification").fill("The certificate renews in staging without anyone acting.")
        panel.locator("button:has-text('Add action item')").click()
        expect(page.locator("#action-items")).to_contain_text(ACTION)
        assert ActionItem.objects.filter(title=ACTION, owner=member, postmortem=postmortem).exists()
        page.goto(f"{live_server.url}/actions/")
        expect(page.locator("main")).to_contain_text(ACTION)
        journey.shot(page, "15-my-actions")

        # The lesson proposed on publishing joins the library.
        page.goto(f"{live_server.url}/learnings/proposals/")
        proposal = page.locator(".proposal", has_text=LESSON[:40])
        journey.shot(page, "16-learning-proposals")
        proposal.locator("text=Review and accept").click()
        page.click("button:has-text('Add to the library')")
        expect(page.locator(".flash")).to_contain_text("Lesson accepted into the library.")
        journey.shot(page, "17-learning")
        learning = Learning.objects.get()

        # Found again from anywhere through the header's search.
        page.goto(f"{live_server.url}/")
        toggle = page.locator(".nav-toggle")
        if toggle.is_visible():
            toggle.click()
        page.fill("#topbar-q", "certificates renewed by automation")
        page.press("#topbar-q", "Enter")
        page.wait_for_url(re.compile(r".*/search/\?q=.*"))
        result = page.locator(f"main a[href='{learning.get_absolute_url()}']").first
        expect(result).to_be_visible()
        journey.shot(page, "18-search")
        result.click()
        page.wait_for_url(f"{live_server.url}{learning.get_absolute_url()}")
    finally:
        journey.close()
