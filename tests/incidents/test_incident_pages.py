from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from config.confirmation import CONFIRM_FIELD, CONFIRM_VALUE
from incidents.forms import MODEL_NOT_IN_TEAM, NO_TEAM
from incidents.models import Incident, IncidentDeployment, TimelineEntry
from incidents.services import incidents as services
from incidents.services.incidents import MILESTONE_NOT_YET, NOT_A_TEAM_MEMBER
from tests.factories import (
    DeploymentFactory,
    IncidentFactory,
    MembershipFactory,
    RegisteredModelFactory,
    TeamFactory,
    UserFactory,
)
from tests.incidents.conftest import NOW

pytestmark = pytest.mark.django_db
CONFIRMED = {CONFIRM_FIELD: CONFIRM_VALUE}

LIST = "/incidents/"


@pytest.fixture
def incident(team, lead, frozen):
    return services.incident_open(
        team=team,
        title="fraud-detector v9 failed to deploy to production",
        severity="SEV2",
        environment="production",
        started_at=NOW - timedelta(hours=1),
        detected_at=NOW - timedelta(minutes=30),
        created_by=lead,
    )


@pytest.fixture
def catalogue(team, frozen):
    """Incidents across two teams, every status and severity, two models and environments."""
    recsys = TeamFactory(name="Recommendations", slug="recsys")
    fraud_model = RegisteredModelFactory(team=team, name="fraud-detector")
    ranker = RegisteredModelFactory(team=recsys, name="home-feed-ranker")
    rows = [
        (team, fraud_model, "SEV1", "open", "failed_deployment", "production", 1, "Card scoring outage"),
        (team, fraud_model, "SEV3", "mitigated", "model_regression", "staging", 3, "Precision drift in staging"),
        (team, None, "SEV4", "closed", "game_day", "staging", 20, "Feature store drill"),
        (recsys, ranker, "SEV2", "open", "model_regression", "production", 2, "Click-through dropped"),
        (recsys, ranker, "SEV3", "resolved", "data_pipeline", "production", 40, "Late events partition"),
    ]
    made = {}
    for owner_team, model, severity, status, kind, environment, days, title in rows:
        made[title] = IncidentFactory(
            team=owner_team,
            model=model,
            severity=severity,
            status=status,
            kind=kind,
            environment=environment,
            title=title,
            summary=f"About {title.lower()}.",
            detected_at=NOW - timedelta(days=days),
        )
    return made


def titles(response) -> list[str]:
    return [incident.title for incident in response.context["page"].object_list]


def test_pages_require_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_list_shows_incidents_newest_first_with_open_counts(client, member, catalogue):
    client.force_login(member)
    response = client.get(LIST)
    assert response.status_code == 200
    assert titles(response)[:2] == ["Card scoring outage", "Click-through dropped"]
    assert response.context["open_counts"] == {"SEV1": 1, "SEV2": 1, "SEV3": 0, "SEV4": 0}
    assert b'class="badge badge-sev1"' in response.content
    assert b"badge badge-mitigated" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=recsys", {"Click-through dropped", "Late events partition"}),
        (
            "status=open&status=mitigated",
            {"Card scoring outage", "Precision drift in staging", "Click-through dropped"},
        ),
        ("severity=SEV3", {"Precision drift in staging", "Late events partition"}),
        ("kind=game_day", {"Feature store drill"}),
        ("model=home-feed-ranker", {"Click-through dropped", "Late events partition"}),
        ("environment=Staging", {"Precision drift in staging", "Feature store drill"}),
        ("detected_after=2026-03-01&detected_before=2026-03-07", {"Precision drift in staging"}),
        ("detected_after=2026-03-08", {"Card scoring outage", "Click-through dropped"}),
        ("detected_before=2026-03-07T11:00:00Z", {"Feature store drill", "Late events partition"}),
        ("q=drift", {"Precision drift in staging"}),
        ("q=events+partition", {"Late events partition"}),
        ("team=fraud&status=open&severity=SEV1", {"Card scoring outage"}),
        ("team=nope", set()),
    ],
)
def test_list_filters(client, member, catalogue, query, expected):
    client.force_login(member)
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert set(titles(response)) == expected


def test_list_filters_by_team_id_and_model_id(client, member, catalogue, team):
    client.force_login(member)
    model_id = catalogue["Click-through dropped"].model_id
    assert set(titles(client.get(f"{LIST}?team={team.pk}"))) == {
        "Card scoring outage",
        "Precision drift in staging",
        "Feature store drill",
    }
    assert len(titles(client.get(f"{LIST}?model={model_id}"))) == 2


def test_list_offers_the_models_to_pick_from(client, member, catalogue):
    client.force_login(member)
    html = client.get(f"{LIST}?model=home-feed-ranker").content.decode()
    select = html[html.index('<select id="f-model" name="model">') :]
    select = select[: select.index("</select>")]
    assert '<option value="home-feed-ranker" selected>home-feed-ranker</option>' in select
    assert '<option value="fraud-detector">fraud-detector</option>' in select


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("severity", "Card scoring outage"),
        ("detected", "Late events partition"),
        ("title", "Card scoring outage"),
        ("status", "Card scoring outage"),
    ],
)
def test_list_sorting(client, member, catalogue, sort, first):
    client.force_login(member)
    assert titles(client.get(f"{LIST}?sort={sort}"))[0] == first


def test_list_sorting_by_severity_orders_every_row(client, member, catalogue):
    client.force_login(member)
    severities = [incident.severity for incident in client.get(f"{LIST}?sort=severity").context["page"].object_list]
    assert severities == sorted(severities)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("severity=SEV9", "severity"),
        ("status=burning", "status"),
        ("detected_after=yesterday", "detected_after"),
        ("sort=random", "sort"),
        ("q=" + "x" * 300, "q"),
    ],
)
def test_list_answers_bad_filters_with_400_and_the_reason(client, member, catalogue, query, field):
    client.force_login(member)
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert field in response.context["filterset"].errors
    assert b"flash-error" in response.content


def test_list_paginates(client, member, team, frozen):
    for number in range(30):
        IncidentFactory(team=team, title=f"Incident {number:02d}", detected_at=NOW - timedelta(minutes=number))
    client.force_login(member)
    first = client.get(LIST)
    assert len(titles(first)) == 25 and titles(first)[0] == "Incident 00"
    second = client.get(f"{LIST}?page=2")
    assert titles(second) == [f"Incident {number}" for number in range(25, 30)]
    assert b"Page 2 of 2" in second.content
    assert client.get(f"{LIST}?page=99").context["page"].number == 2
    assert client.get(f"{LIST}?page=abc").status_code == 200


def test_restricted_incidents_are_hidden_from_outsiders(client, team, outsider, member):
    secret = IncidentFactory(team=team, restricted=True, title="Label leak", severity="SEV1")
    client.force_login(outsider)
    response = client.get(LIST)
    assert "Label leak" not in titles(response)
    assert response.context["open_counts"]["SEV1"] == 0
    assert client.get(secret.get_absolute_url()).status_code == 404
    assert client.post(reverse("incidents:status", args=[secret.pk, "resolve"])).status_code == 404
    client.force_login(member)
    assert client.get(secret.get_absolute_url()).status_code == 200


def test_detail_shows_header_durations_timeline_and_actions(client, incident, member):
    client.force_login(member)
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert incident.title in content and "SEV2 · Major" in content
    assert "Time to detect" in content and "30m" in content
    assert "Acknowledge" in content and "Mark mitigated" in content and "Resolve" in content
    assert "Reopen" not in content
    assert "Incident declared by" in content
    # Open incidents offer to start early; the call to action comes with resolution.
    assert "Start early" in content


def test_detail_invites_the_post_mortem_once_resolved(client, incident, member):
    services.incident_resolve(incident=incident, actor=member)
    client.force_login(member)
    content = client.get(incident.get_absolute_url()).content.decode()
    assert "Start the post-mortem →" in content
    assert f'href="/postmortems/start/{incident.pk}/"' in content


def test_detail_shows_the_post_mortem_state_instead_of_the_invitation(client, incident, member):
    from postmortems.services.postmortems import postmortem_start

    services.incident_resolve(incident=incident, actor=member)
    postmortem = postmortem_start(incident=incident, actor=member)
    client.force_login(member)
    content = client.get(incident.get_absolute_url()).content.decode()
    assert "Start the post-mortem" not in content
    assert "Continue writing" in content and postmortem.title in content


def test_readers_outside_the_team_see_no_actions_and_get_403(client, incident, outsider):
    client.force_login(outsider)
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    assert reverse("incidents:acknowledge", args=[incident.pk]).encode() not in response.content
    assert b"Mark mitigated" not in response.content and b"Add note" not in response.content
    assert b"Only members of Fraud" in response.content
    for name, args, data in [
        ("incidents:status", [incident.pk, "resolve"], {}),
        ("incidents:acknowledge", [incident.pk], {}),
        ("incidents:severity", [incident.pk], {"severity": "SEV1"}),
        ("incidents:note", [incident.pk], {"text": "hello"}),
        ("incidents:edit", [incident.pk], {"title": "Mine now"}),
    ]:
        response = client.post(reverse(name, args=args), data)
        assert response.status_code == 403, name
        assert NOT_A_TEAM_MEMBER.format(team="Fraud").encode() in response.content
    incident.refresh_from_db()
    assert incident.status == "open" and incident.severity == "SEV2"


def test_member_works_the_incident_from_the_page(client, incident, member):
    client.force_login(member)
    assert client.post(reverse("incidents:acknowledge", args=[incident.pk])).status_code == 302
    assert client.post(reverse("incidents:status", args=[incident.pk, "mitigate"])).status_code == 302
    response = client.post(reverse("incidents:severity", args=[incident.pk]), {"severity": "SEV1", "note": "Worse"})
    assert response.status_code == 302
    response = client.post(reverse("incidents:status", args=[incident.pk, "resolve"]), follow=True)
    assert b"Resolved. Time to learn from it." in response.content
    incident.refresh_from_db()
    assert (incident.status, incident.severity, incident.owner) == ("resolved", "SEV1", member)
    kinds = list(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds.count("status") == 3 and "severity" in kinds and "milestone" in kinds


def test_invalid_transition_on_the_page_answers_400_with_the_allowed_ones(client, incident, member):
    client.force_login(member)
    response = client.post(reverse("incidents:status", args=[incident.pk, "close"]))
    assert response.status_code == 400
    assert b"Cannot move an incident from open to closed; allowed: mitigated, resolved." in response.content


def test_unknown_action_is_404(client, incident, member):
    client.force_login(member)
    assert client.post(reverse("incidents:status", args=[incident.pk, "explode"])).status_code == 404
    assert client.get(reverse("incidents:status", args=[incident.pk, "resolve"])).status_code == 405


def test_severity_and_owner_forms_refuse_bad_input(client, incident, member, outsider):
    client.force_login(member)
    response = client.post(reverse("incidents:severity", args=[incident.pk]), {"severity": "SEV0"})
    assert response.status_code == 400 and "severity" in response.context["severity_form"].errors
    response = client.post(reverse("incidents:owner", args=[incident.pk]), {"owner": outsider.pk})
    assert response.status_code == 400 and "owner" in response.context["owner_form"].errors
    response = client.post(reverse("incidents:owner", args=[incident.pk]), {"owner": member.pk})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.owner == member


def test_milestone_form_shows_field_errors(client, incident, member):
    client.force_login(member)
    data = {
        "started_at": "2026-03-10T11:00",
        "detected_at": "2026-03-10T10:00",
        "mitigated_at": "2026-03-10T11:30",
    }
    response = client.post(reverse("incidents:milestones", args=[incident.pk]), data)
    assert response.status_code == 400
    errors = response.context["milestones_form"].errors
    assert "Detected cannot be earlier than started" in errors["detected_at"][0]
    assert errors["mitigated_at"] == [MILESTONE_NOT_YET.format(name="Mitigated", status="open")]
    response = client.post(reverse("incidents:milestones", args=[incident.pk]), {"started_at": "not a date"})
    assert response.status_code == 400
    assert {"started_at", "detected_at"} <= set(response.context["milestones_form"].errors)


def test_milestone_form_corrects_times(client, incident, member):
    client.force_login(member)
    data = {"started_at": "2026-03-10T10:30", "detected_at": "2026-03-10T11:15", "acknowledged_at": "2026-03-10T11:20"}
    assert client.post(reverse("incidents:milestones", args=[incident.pk]), data).status_code == 302
    incident.refresh_from_db()
    assert incident.started_at == datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
    assert incident.acknowledged_at == datetime(2026, 3, 10, 11, 20, tzinfo=UTC)


def test_notes_and_stars(client, incident, member):
    client.force_login(member)
    response = client.post(reverse("incidents:note", args=[incident.pk]), {"text": "Canary shows **skew**."})
    note = TimelineEntry.objects.get(incident=incident, kind="note")
    assert response["Location"].endswith(f"#entry-{note.pk}")
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "<strong>skew</strong>" in page
    assert client.post(reverse("incidents:note", args=[incident.pk]), {"text": "   "}).status_code == 400
    response = client.post(reverse("incidents:star", args=[incident.pk, note.pk]), {"starred": "1"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.starred
    assert client.post(reverse("incidents:star", args=[incident.pk, note.pk]), {"starred": "maybe"}).status_code == 400
    other = IncidentFactory(team=incident.team)
    assert client.post(reverse("incidents:star", args=[other.pk, note.pk]), {"starred": "1"}).status_code == 404


def test_notes_escape_hostile_markdown(client, incident, member):
    client.force_login(member)
    client.post(
        reverse("incidents:note", args=[incident.pk]), {"text": "<script>alert(1)</script> [x](javascript:alert(1))"}
    )
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "javascript:alert" not in page


def test_linking_deployments_and_versions_from_the_page(client, incident, member, team):
    deployment = DeploymentFactory(model_version__model__team=team, status="failed")
    client.force_login(member)
    url = reverse("incidents:link-deployment", args=[incident.pk])
    assert client.post(url, {"deployment": deployment.pk, "role": "cause"}).status_code == 302
    assert IncidentDeployment.objects.get(incident=incident).role == "cause"
    assert client.post(url, {"deployment": deployment.pk, "role": "villain"}).status_code == 400
    assert client.post(url, {"deployment": 999999, "role": "cause"}).status_code == 400
    assert client.post(url, {"deployment": "abc", "role": "cause"}).status_code == 400
    version_url = reverse("incidents:link-version", args=[incident.pk])
    assert (
        client.post(version_url, {"model_version": deployment.model_version_id, "role": "suspect"}).status_code == 302
    )
    unlink = reverse("incidents:unlink-deployment", args=[incident.pk, deployment.pk])
    assert client.post(unlink, CONFIRMED).status_code == 302
    assert client.post(unlink, CONFIRMED).status_code == 400
    unlink_version = reverse("incidents:unlink-version", args=[incident.pk, deployment.model_version_id])
    assert client.post(unlink_version, CONFIRMED).status_code == 302
    assert not incident.model_version_links.exists()


def test_relating_incidents_by_reference(client, incident, member, team, outsider):
    other = IncidentFactory(team=team, title="Earlier canary failure")
    hidden = IncidentFactory(team=TeamFactory(slug="secret-team"), restricted=True)
    client.force_login(member)
    url = reverse("incidents:relate", args=[incident.pk])
    assert client.post(url, {"reference": f"INC-{other.pk}"}).status_code == 302
    assert list(incident.related.all()) == [other]
    response = client.post(url, {"reference": f"INC-{hidden.pk}"})
    assert response.status_code == 400 and "reference" in response.context["relate_form"].errors
    assert client.post(url, {"reference": "not-a-number"}).status_code == 400
    assert client.post(url, {"reference": f"INC-{other.pk}"}).status_code == 400  # already related
    assert client.post(reverse("incidents:unrelate", args=[incident.pk, other.pk]), CONFIRMED).status_code == 302
    assert not incident.related.exists()


def test_declare_form_shows_severity_descriptions(client, member):
    client.force_login(member)
    response = client.get(reverse("incidents:declare"))
    assert response.status_code == 200
    assert b"Customer-facing outage or wrong predictions at scale" in response.content
    assert b"What happens next" in response.content


def test_declare_creates_an_incident_led_by_the_declarer(client, member, team, frozen):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    client.force_login(member)
    data = {
        "team": team.pk,
        "title": "Scores all zero for card-not-present",
        "severity": "SEV1",
        "kind": "model_regression",
        "model": model.pk,
        "environment": "production",
        "started_at": "2026-03-10T11:00",
        "summary": "Everything scores 0.",
        "tags": "skew, Card Not Present",
        "lead": "on",
    }
    response = client.post(reverse("incidents:declare"), data)
    incident = Incident.objects.get(title="Scores all zero for card-not-present")
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert (incident.severity, incident.owner, incident.created_by, incident.model) == ("SEV1", member, member, model)
    assert incident.detected_at == NOW and incident.started_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert sorted(incident.tags.values_list("name", flat=True)) == ["card-not-present", "skew"]


def test_declare_shows_field_errors(client, member, team, frozen):
    other_model = RegisteredModelFactory(
        team=TeamFactory(slug="recsys", name="Recommendations"), name="home-feed-ranker"
    )
    staff_member = UserFactory(username="boss", is_staff=True)
    client.force_login(staff_member)
    response = client.post(
        reverse("incidents:declare"),
        {
            "team": team.pk,
            "title": "",
            "severity": "SEV7",
            "kind": "other",
            "model": other_model.pk,
            "started_at": "2026-03-10T11:30",
            "detected_at": "2026-03-10T11:00",
            "tags": "ok, !!!",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"title", "severity", "model", "detected_at", "tags"} <= set(errors)
    assert errors["model"] == [MODEL_NOT_IN_TEAM.format(model="home-feed-ranker", team="Recommendations")]
    response = client.post(
        reverse("incidents:declare"),
        {"team": team.pk, "title": "x", "severity": "SEV3", "kind": "other", "detected_at": "2026-03-11T11:00"},
    )
    assert "detected_at" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_declare_requires_a_team(client, outsider, team):
    client.force_login(outsider)
    response = client.get(reverse("incidents:declare"))
    assert response.status_code == 403 and NO_TEAM.encode() in response.content
    response = client.post(reverse("incidents:declare"), {"team": team.pk, "title": "x", "severity": "SEV3"})
    assert response.status_code == 403


def test_declare_refuses_another_teams_id(client, member):
    other = TeamFactory(slug="recsys")
    client.force_login(member)
    response = client.post(
        reverse("incidents:declare"), {"team": other.pk, "title": "x", "severity": "SEV3", "kind": "other"}
    )
    assert response.status_code == 400 and "team" in response.context["form"].errors


def test_edit_page_updates_fields_and_records_them(client, incident, member):
    client.force_login(member)
    page = client.get(reverse("incidents:edit", args=[incident.pk]))
    assert page.status_code == 200 and page.context["form"].initial["title"] == incident.title
    data = {"title": "v9 canary failed", "kind": "failed_deployment", "environment": "production", "tags": "canary"}
    assert client.post(reverse("incidents:edit", args=[incident.pk]), data).status_code == 302
    incident.refresh_from_db()
    assert incident.title == "v9 canary failed"
    assert TimelineEntry.objects.filter(incident=incident, kind="edit").count() == 3  # title, kind, tags


def test_edit_page_shows_field_errors(client, incident, member):
    client.force_login(member)
    response = client.post(reverse("incidents:edit", args=[incident.pk]), {"title": "", "kind": "asteroid"})
    assert response.status_code == 400
    assert {"title", "kind"} <= set(response.context["form"].errors)


def test_a_member_of_another_team_reads_but_cannot_edit(client, incident):
    stranger = MembershipFactory(team=TeamFactory(slug="recsys"), user=UserFactory(username="mei")).user
    client.force_login(stranger)
    assert client.get(incident.get_absolute_url()).status_code == 200
    assert client.get(reverse("incidents:edit", args=[incident.pk])).status_code == 403


def test_empty_filter_values_mean_no_filter(client, member, catalogue):
    client.force_login(member)
    response = client.get(f"{LIST}?q=&team=&status=&severity=&kind=&model=&environment=&detected_after=&sort=")
    assert response.status_code == 200
    assert len(titles(response)) == len(catalogue)


# The buttons of the incident page follow the transition table --------------------------------------


def _buttons(response) -> list[str]:
    import re

    page = response.content.decode()
    assert '<div class="action-bar">' in page
    head = page.split('<div class="action-bar">', 1)[1].split("</header>", 1)[0]
    return re.findall(r"<button[^>]*>([^<]+)</button>", head)


def test_a_mitigated_incident_offers_resolve_only(client, incident, lead):
    services.incident_mitigate(incident=incident, actor=lead)
    client.force_login(lead)
    buttons = _buttons(client.get(incident.get_absolute_url()))
    assert "Acknowledge" not in buttons
    assert "Reopen" not in buttons
    assert "Resolve" in buttons


def test_whoever_declares_and_leads_has_acknowledged(client, team, lead, frozen):
    client.force_login(lead)
    client.post(
        reverse("incidents:declare"),
        {"team": team.pk, "title": "Scores drift", "kind": "other", "severity": "SEV3", "lead": "on"},
    )
    incident = Incident.objects.get(title="Scores drift")
    assert incident.acknowledged_at == NOW
    assert "Acknowledge" not in _buttons(client.get(incident.get_absolute_url()))


def test_an_incident_nobody_acknowledged_offers_acknowledge(client, incident, lead):
    client.force_login(lead)
    assert _buttons(client.get(incident.get_absolute_url()))[:3] == ["Acknowledge", "Mark mitigated", "Resolve"]
    services.incident_acknowledge(incident=incident, actor=lead)
    assert "Acknowledge" not in _buttons(client.get(incident.get_absolute_url()))


def test_mitigating_counts_as_acknowledging(incident, lead, frozen):
    incident = services.incident_mitigate(incident=incident, actor=lead)
    assert incident.acknowledged_at == NOW
    with pytest.raises(services.IncidentRuleError):
        services.incident_acknowledge(incident=incident, actor=lead)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([], ["Acknowledge", "Mark mitigated", "Resolve"]),
        (["mitigate"], ["Resolve"]),
        (["resolve"], ["Close", "Reopen"]),
        (["mitigate", "resolve"], ["Close", "Reopen"]),
    ],
)
def test_status_buttons_are_the_moves_the_table_allows(client, incident, lead, path, expected):
    for action in path:
        getattr(services, f"incident_{action}")(incident=incident, actor=lead)
    client.force_login(lead)
    buttons = [
        b
        for b in _buttons(client.get(incident.get_absolute_url()))
        if b in {*expected, "Acknowledge", "Mark mitigated", "Resolve", "Close", "Reopen"}
    ]
    assert buttons == expected
    incident.refresh_from_db()
    offered = {services.ACTION_FOR_STATUS[target] for target in services.ALLOWED_TRANSITIONS[incident.status]}
    label = {"mitigate": "Mark mitigated", "resolve": "Resolve", "close": "Close", "reopen": "Reopen"}
    assert {label[action] for action in offered} == set(buttons) - {"Acknowledge"}


def test_a_resolved_incident_offers_one_way_to_start_its_post_mortem(client, incident, lead):
    services.incident_resolve(incident=incident, actor=lead)
    client.force_login(lead)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert page.count(reverse("postmortems:start", args=[incident.pk])) == 1
