"""Experiment and game-day pages in a real browser, at desktop and phone widths."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from experiments.models import Arm, GameDay, GameDayState
from experiments.services.experiments import experiment_attach_incident, experiment_start, traffic_step_add
from incidents.models import IncidentKind
from incidents.services.incidents import incident_open
from postmortems.models import Postmortem
from teams.models import Membership
from tests.factories import PASSWORD, MembershipFactory, ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = Path(tempfile.gettempdir()) / "kintsugi-screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def fits_a_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def fraud(db):
    lead = MembershipFactory(role=Membership.Role.LEAD, user=UserFactory(username="lucia", first_name="Lucia")).user
    team = lead.memberships.get().team
    member = MembershipFactory(team=team, user=UserFactory(username="priya", first_name="Priya")).user
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    v8, v9 = ModelVersionFactory(model=model, version="8"), ModelVersionFactory(model=model, version="9")
    now = timezone.now()
    experiment = experiment_start(
        team=team,
        model=model,
        environment="production",
        candidate_version=v9,
        control_version=v8,
        hypothesis="v9 catches more card-testing fraud at the same precision.",
        deciding_metric="precision at 1 % FPR",
        initial_percent=10,
        started_at=now - timedelta(hours=3),
        actor=lead,
    )
    traffic_step_add(experiment=experiment, percent=25, at=now - timedelta(hours=2), actor=lead)
    incident = incident_open(
        team=team,
        title="Canary analysis failed: precision below threshold",
        kind=IncidentKind.MODEL_REGRESSION,
        severity="SEV2",
        model=model,
        environment="production",
        started_at=now - timedelta(hours=1),
        detected_at=now - timedelta(minutes=50),
    )
    experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE)
    return {
        "lead": lead,
        "member": member,
        "team": team,
        "model": model,
        "experiment": experiment,
        "incident": incident,
    }


def test_experiment_incident_and_lineage_pages(page, phone, live_server, fraud):
    experiment, incident = fraud["experiment"], fraud["incident"]
    sign_in(page, live_server, fraud["lead"])
    page.goto(f"{live_server.url}{experiment.get_absolute_url()}")
    assert page.locator(".xp-step-line").is_visible()
    assert page.locator(".xp-arm-candidate", has_text="Canary analysis failed").is_visible()
    shot(page, "experiment")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    banner = page.locator(".rollout-banner")
    assert "during the canary of fraud-detector v9 at 25 % traffic" in banner.inner_text()
    shot(page, "incident-in-rollout")
    page.goto(f"{live_server.url}{fraud['model'].get_absolute_url()}")
    assert page.locator(".lineage-experiments", has_text=experiment.reference).is_visible()
    shot(page, "lineage-experiments")
    sign_in(phone, live_server, fraud["lead"])
    for name, url in (
        ("experiment-phone", experiment.get_absolute_url()),
        ("incident-in-rollout-phone", incident.get_absolute_url()),
        ("experiment-list-phone", "/experiments/"),
    ):
        phone.goto(f"{live_server.url}{url}")
        assert fits_a_phone(phone), name
        shot(phone, name)


def test_plan_start_and_finish_a_game_day_in_the_browser(page, phone, live_server, fraud):
    sign_in(page, live_server, fraud["lead"])
    page.goto(f"{live_server.url}{fraud['team'].get_absolute_url()}")
    page.click("text=+ Plan a game day")
    page.fill("#id_title", "Stale features in the fraud scorer")
    page.fill("#id_hypothesis", "If the feature store is 5 minutes stale, precision stays above 0.9.")
    page.select_option("#id_injection_kind", "stale_features")
    page.select_option("#id_model", label="fraud-detector (" + fraud["team"].name + ")")
    page.fill("#id_environment", "staging")
    page.fill("#id_abort_conditions", "Precision below 0.8 for 2 minutes.")
    page.fill("#id_scheduled_at", (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.check(f"input[name=participants][value='{fraud['member'].pk}']")
    shot(page, "game-day-plan")
    page.click("button:has-text('Plan the game day')")
    page.wait_for_selector(".badge-gd-planned")
    game_day = GameDay.objects.get()
    shot(page, "game-day-planned")
    page.click("button:has-text('Start the game day')")
    page.wait_for_selector(".xp-running")
    game_day.refresh_from_db()
    assert game_day.state == GameDayState.RUNNING and game_day.incident.is_drill
    shot(page, "game-day-running")
    page.check("input[name=held][value=no]")
    page.fill("#id_observations", "Precision fell to 0.82; the freshness alert fired after 14 minutes.")
    page.click("button:has-text('Finish and start the post-mortem')")
    postmortem = Postmortem.objects.get(incident=game_day.incident)
    page.wait_for_url(f"{live_server.url}{postmortem.get_absolute_url()}")
    page.goto(f"{live_server.url}{game_day.get_absolute_url()}")
    assert page.locator(".xp-verdict-failed", has_text="did not hold").is_visible()
    shot(page, "game-day-finished")
    sign_in(phone, live_server, fraud["lead"])
    for name, url in (
        ("game-day-phone", game_day.get_absolute_url()),
        ("game-day-plan-phone", "/game-days/new/"),
        ("team-phone", fraud["team"].get_absolute_url()),
        ("game-day-list-phone", "/game-days/"),
    ):
        phone.goto(f"{live_server.url}{url}")
        assert fits_a_phone(phone), name
        shot(phone, name)


def test_demo_canary_and_game_day_pages(page, phone, live_server):
    from django.core.management import call_command

    from demo.chapters.experiments import STALE_FEATURES
    from experiments.models import Experiment

    call_command("seed_demo", verbosity=0)
    lucia = UserFactory(username="lucia")  # the demo's fraud lead, signed in with the tests' password
    lucia.set_password(PASSWORD)
    lucia.save()
    canary = Experiment.objects.get(model__name="fraud-detector", candidate_version__version="9")
    drill = GameDay.objects.get(title=STALE_FEATURES)
    sign_in(page, live_server, lucia)
    page.goto(f"{live_server.url}{canary.get_absolute_url()}")
    assert page.locator(".xp-outcome-rolled_back").is_visible()
    assert page.locator(".xp-arm-candidate", has_text="fraud-detector v9 failed to deploy").is_visible()
    shot(page, "demo-canary")
    page.goto(f"{live_server.url}{drill.get_absolute_url()}")
    assert page.locator(".xp-verdict-failed").is_visible()
    shot(page, "demo-game-day")
    page.goto(f"{live_server.url}{drill.incident.postmortem.get_absolute_url()}")
    shot(page, "demo-game-day-postmortem")
    sign_in(phone, live_server, lucia)
    for name, url in (
        ("demo-canary-phone", canary.get_absolute_url()),
        ("demo-game-day-phone", drill.get_absolute_url()),
    ):
        phone.goto(f"{live_server.url}{url}")
        assert fits_a_phone(phone), name
        shot(phone, name)


def test_a_declared_incident_is_attached_to_a_half_percent_canary_from_its_page(page, phone, live_server, fraud):
    from playwright.sync_api import expect

    experiment, member = fraud["experiment"], fraud["member"]
    traffic_step_add(experiment=experiment, percent=0.5, at=timezone.now() - timedelta(minutes=90), actor=member)
    declared = incident_open(
        team=fraud["team"],
        title="Chargebacks up on card-not-present payments",
        model=fraud["model"],
        started_at=timezone.now() - timedelta(minutes=30),
        created_by=member,
    )
    sign_in(page, live_server, member)
    page.goto(f"{live_server.url}{declared.get_absolute_url()}")
    page.click("summary:has-text('During a rollout?')")
    page.check("input[name=arm][value=candidate]")
    shot(page, "incident-attach-experiment")
    page.click("button:has-text('Attach')")
    expect(page.locator(".rollout-banner")).to_contain_text("during the canary of fraud-detector v9 at 0.5 % traffic")
    expect(page.locator("summary:has-text('During a rollout?')")).to_have_count(0)
    shot(page, "incident-attached")
    sign_in(phone, live_server, member)
    for name, url in (
        ("incident-attached-phone", declared.get_absolute_url()),
        ("experiment-fractional-phone", experiment.get_absolute_url()),
    ):
        phone.goto(f"{live_server.url}{url}")
        assert fits_a_phone(phone), name
        shot(phone, name)
    page.goto(f"{live_server.url}{experiment.get_absolute_url()}")
    expect(page.locator(".xp-steps")).to_contain_text("0.5 %")
    shot(page, "experiment-fractional")
