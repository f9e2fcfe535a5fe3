import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from config.confirmation import CONFIRM_FIELD, CONFIRM_VALUE
from incidents.ingest import forms as source_forms
from incidents.ingest import pages
from incidents.models import Delivery, Source, SourceKind
from incidents.selectors.sources import source_valid_secrets
from incidents.services import sources as source_services
from incidents.services.sources import source_create
from tests.factories import (
    DeliveryFactory,
    RegisteredModelFactory,
    SourceFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db
CONFIRMED = {CONFIRM_FIELD: CONFIRM_VALUE}

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def severity_post(rows: dict[str, str], extra_blank: int = 1) -> dict:
    data = {
        "severity-TOTAL_FORMS": str(len(rows) + extra_blank),
        "severity-INITIAL_FORMS": "0",
        "severity-MIN_NUM_FORMS": "0",
        "severity-MAX_NUM_FORMS": "1000",
    }
    for index, (environment, severity) in enumerate(rows.items()):
        data[f"severity-{index}-environment"] = environment
        data[f"severity-{index}-severity"] = severity
    for index in range(len(rows), len(rows) + extra_blank):
        data[f"severity-{index}-environment"] = ""
        data[f"severity-{index}-severity"] = ""
    return data


def create_post(for_team, **overrides) -> dict:
    data = {
        "team": str(for_team.pk),
        "name": "fraud-detector CI",
        "kind": "github",
        "model_pattern": "",
        "model_pattern_field": "any",
        **severity_post({"production": "SEV1", "*": "SEV4"}),
    }
    data.update(overrides)
    return data


def edit_post(source, **overrides) -> dict:
    data = {
        "name": source.name,
        "is_active": "on" if source.is_active else "",
        "model_pattern": source.model_pattern,
        "model_pattern_field": source.model_pattern_field,
        "default_model": "",
        "rate_limit_per_minute": str(source.rate_limit_per_minute),
        **severity_post(source.environment_severity),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- list ---------------------------------------------------------------------------------


def test_sign_in_is_required(client):
    response = client.get("/sources/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_list_shows_only_the_members_teams_with_figures(client, member, team):
    mine = SourceFactory(team=team, name="fraud-ci", kind="gitlab")
    theirs = SourceFactory(team=TeamFactory(name="Search", slug="search"), name="search-ci")
    with time_machine.travel(NOW, tick=False):
        DeliveryFactory(source=mine, status="failed", received_at=NOW - timedelta(hours=2))
        DeliveryFactory(source=mine, status="failed", received_at=NOW - timedelta(hours=30))
        DeliveryFactory(source=mine, status="processed", received_at=NOW - timedelta(hours=1))
        DeliveryFactory(source=mine, status="ignored", received_at=NOW - timedelta(minutes=5))
        DeliveryFactory(source=theirs, status="failed", received_at=NOW)
        client.force_login(member)
        response = client.get("/sources/")
    assert response.status_code == 200
    listed = list(response.context["page"].object_list)
    assert listed == [mine]
    row = listed[0]
    assert row.failures_24h == 1
    assert row.recent == {"received": 0, "processed": 1, "ignored": 1, "failed": 1, "replayed": 0}
    assert row.recent_total == 3
    assert row.last_delivery_status == "ignored"
    assert row.last_delivery_at == NOW - timedelta(minutes=5)
    content = response.content.decode()
    assert "search-ci" not in content
    assert "sender-gitlab" in content
    assert "1 ignored" in content


def test_staff_see_every_team(client, staff, team):
    SourceFactory(team=team, name="fraud-ci")
    SourceFactory(team=TeamFactory(slug="search"), name="search-ci")
    client.force_login(staff)
    names = [source.name for source in client.get("/sources/").context["page"].object_list]
    assert sorted(names) == ["fraud-ci", "search-ci"]


def test_list_query_count_does_not_grow_with_sources(client, member, team, django_assert_max_num_queries):
    for index in range(30):
        source = SourceFactory(team=team, name=f"ci-{index:02}")
        DeliveryFactory.create_batch(3, source=source, status="failed")
    client.force_login(member)
    with django_assert_max_num_queries(7):
        response = client.get("/sources/")
    assert len(response.context["page"].object_list) == 30


def test_user_without_team_sees_empty_list_and_cannot_create(client, outsider, team):
    SourceFactory(team=team)
    client.force_login(outsider)
    response = client.get("/sources/")
    assert response.status_code == 200
    assert b"No sources yet" in response.content
    assert not response.context["can_create"]
    refused = client.get("/sources/new/")
    assert refused.status_code == 403
    assert pages.NO_TEAM_TO_CREATE_FOR.encode() in refused.content


# --- create -------------------------------------------------------------------------------


def test_create_form_offers_only_the_users_teams(client, member, team):
    TeamFactory(name="Search", slug="search")
    client.force_login(member)
    response = client.get("/sources/new/")
    assert response.status_code == 200
    assert list(response.context["form"].fields["team"].queryset) == [team]


def test_create_then_secret_is_shown_exactly_once(client, member, team):
    client.force_login(member)
    response = client.post("/sources/new/", create_post(team))
    source = Source.objects.get(name="fraud-detector CI")
    assert response.status_code == 302
    assert response["Location"] == source.get_absolute_url()
    assert source.team == team
    assert source.created_by == member
    assert source.environment_severity == {"production": "SEV1", "*": "SEV4"}
    [secret] = source_valid_secrets(source=source)

    first = client.get(source.get_absolute_url())
    assert first.status_code == 200
    assert first.context["secret_once"] == secret
    assert secret in first.content.decode()
    assert "it will not be shown again" in first.content.decode()
    assert source.webhook_url in first.content.decode()

    second = client.get(source.get_absolute_url())
    assert second.context["secret_once"] is None
    assert secret not in second.content.decode()
    assert pages.SECRET_PLACEHOLDER in second.content.decode()


def test_staff_may_create_for_any_team(client, staff, team):
    client.force_login(staff)
    response = client.post("/sources/new/", create_post(team, name="staff-made"))
    assert response.status_code == 302
    assert Source.objects.filter(team=team, name="staff-made").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": "bamboo"}, "kind", "Select a valid choice"),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"model_pattern_field": "body"}, "model_pattern_field", "Select a valid choice"),
        ({"team": "999999"}, "team", source_forms.NOT_A_TEAM_OF_YOURS),
        ({"team": "not-a-number"}, "team", source_forms.NOT_A_TEAM_OF_YOURS),
    ],
)
def test_create_with_bad_input_answers_400_with_field_errors(client, member, team, overrides, field, message):
    client.force_login(member)
    response = client.post("/sources/new/", create_post(team, **overrides))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Source.objects.exists()


def test_create_for_a_team_the_user_is_not_in_is_refused(client, member, team):
    other = TeamFactory(name="Search", slug="search")
    client.force_login(member)
    response = client.post("/sources/new/", create_post(other))
    assert response.status_code == 400
    assert response.context["form"].errors["team"] == [source_forms.NOT_A_TEAM_OF_YOURS]
    assert not Source.objects.exists()


def test_create_with_a_taken_name_names_the_team(client, member, team):
    SourceFactory(team=team, name="fraud-detector CI")
    client.force_login(member)
    response = client.post("/sources/new/", create_post(team))
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        source_services.NAME_TAKEN.format(team=team, name="fraud-detector CI")
    ]


def test_create_with_a_bad_pattern_says_why(client, member, team):
    client.force_login(member)
    response = client.post("/sources/new/", create_post(team, model_pattern="deploy (?P<model>[a-z"))
    assert response.status_code == 400
    [error] = response.context["form"].errors["model_pattern"]
    assert error
    assert not Source.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"production": ""}, source_forms.SEVERITY_ROW_NEEDS_SEVERITY),
        ({"": "SEV2"}, source_forms.SEVERITY_ROW_NEEDS_ENVIRONMENT),
        ({"production": "SEV9"}, "Select a valid choice"),
        ({"production": "SEV1", "Production": "SEV2"}, "listed twice"),
    ],
)
def test_create_with_bad_severity_rows_answers_400(client, member, team, rows, message):
    client.force_login(member)
    data = create_post(team)
    data.update(severity_post(rows))
    response = client.post("/sources/new/", data)
    assert response.status_code == 400
    rows_formset = response.context["severity_rows"]
    errors = [*rows_formset.non_form_errors(), *(e for form in rows_formset.errors for v in form.values() for e in v)]
    assert any(message in error for error in errors), errors
    assert not Source.objects.exists()


def test_create_with_tampered_management_form_answers_400(client, member, team):
    client.force_login(member)
    data = create_post(team)
    del data["severity-TOTAL_FORMS"]
    response = client.post("/sources/new/", data)
    assert response.status_code == 400
    assert not Source.objects.exists()


def test_create_form_renders_with_the_default_severity_rows(client, member):
    client.force_login(member)
    response = client.get("/sources/new/")
    initial = [form.initial for form in response.context["severity_rows"].forms if form.initial]
    assert initial[-1] == {"environment": "*", "severity": "SEV4"}
    assert {"environment": "production", "severity": "SEV2"} in initial


# --- who sees a source --------------------------------------------------------------------


def test_another_teams_source_is_a_404_like_a_missing_one(client, outsider, team):
    source = SourceFactory(team=team)
    client.force_login(outsider)
    response = client.get(source.get_absolute_url())
    assert response.status_code == 404
    assert source.public_id.encode() not in response.content
    assert source.name.encode() not in response.content
    assert client.get("/sources/987654/").status_code == 404
    assert client.get("/sources/99999999999999999999999/").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("post", "edit/"),
        ("post", "rotate-secret/"),
        ("post", "test-delivery/"),
    ],
)
def test_outsiders_cannot_change_a_source_they_cannot_see(client, outsider, team, method, suffix):
    source = SourceFactory(team=team)
    client.force_login(outsider)
    response = getattr(client, method)(f"{source.get_absolute_url()}{suffix}", {"grace_seconds": "0"})
    assert response.status_code == 404  # as for a missing source: another team's is not confirmed
    assert source_valid_secrets(source=source) == [source.secrets.get().value]
    assert not Delivery.objects.exists()


def test_detail_shows_url_setup_and_options(client, member, team):
    source = SourceFactory(team=team, kind="gitlab", model_pattern=r"(?P<model>[a-z-]+)-v(?P<version>\d+)")
    client.force_login(member)
    response = client.get(source.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert source.webhook_url in content
    assert 'id="setup"' in content
    assert "GitLab CI" in content
    assert "(?P&lt;model&gt;[a-z-]+)" in content
    assert source.secrets.get().value not in content


def test_detail_page_query_count_is_bounded(client, member, team, django_assert_max_num_queries):
    source = SourceFactory(team=team)
    DeliveryFactory.create_batch(60, source=source)
    RegisteredModelFactory.create_batch(5, team=team)
    client.force_login(member)
    with django_assert_max_num_queries(14):
        response = client.get(source.get_absolute_url())
    assert len(response.context["page"].object_list) == pages.DELIVERIES_PER_PAGE


# --- edit ---------------------------------------------------------------------------------


def test_edit_options(client, member, team):
    source = SourceFactory(team=team, name="fraud-ci")
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    client.force_login(member)
    data = edit_post(
        source,
        name="fraud-ci-main",
        is_active=None,
        default_model=str(model.pk),
        model_pattern=r"deploy (?P<model>[a-z-]+) v(?P<version>\d+)",
        model_pattern_field="title",
        rate_limit_per_minute="120",
    )
    data.update(severity_post({"prod": "SEV1", "canary": "SEV2", "*": "SEV3"}))
    response = client.post(f"{source.get_absolute_url()}edit/", data)
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.name == "fraud-ci-main"
    assert source.is_active is False
    assert source.default_model == model
    assert source.model_pattern_field == "title"
    assert source.rate_limit_per_minute == 120
    assert source.environment_severity == {"prod": "SEV1", "canary": "SEV2", "*": "SEV3"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model_pattern": "(?P<model>"}, "model_pattern"),
        ({"rate_limit_per_minute": "0"}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": "lots"}, "rate_limit_per_minute"),
        ({"name": ""}, "name"),
    ],
)
def test_edit_with_bad_input_answers_400_and_changes_nothing(client, member, team, overrides, field):
    source = SourceFactory(team=team, name="fraud-ci")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}edit/", edit_post(source, **overrides))
    assert response.status_code == 400
    assert response.context["edit_form"].errors[field]
    assert response.context["options_open"]
    source.refresh_from_db()
    assert source.name == "fraud-ci"
    assert source.rate_limit_per_minute == 600


def test_default_model_must_be_the_teams(client, member, team):
    source = SourceFactory(team=team)
    foreign = RegisteredModelFactory(team=TeamFactory(slug="search"), name="ranker")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}edit/", edit_post(source, default_model=str(foreign.pk)))
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["edit_form"].errors["default_model"][0]
    source.refresh_from_db()
    assert source.default_model is None


def test_edit_is_post_only(client, member, team):
    source = SourceFactory(team=team)
    client.force_login(member)
    assert client.get(f"{source.get_absolute_url()}edit/").status_code == 405


# --- secrets ------------------------------------------------------------------------------


def test_rotation_with_grace_shows_the_new_secret_once_and_keeps_the_old(client, member, team):
    client.force_login(member)
    with time_machine.travel(NOW, tick=False) as traveller:
        source, old = source_create(team=team, kind="github", name="fraud-ci")
        traveller.shift(timedelta(days=30))
        response = client.post(f"{source.get_absolute_url()}rotate-secret/", {"grace_seconds": "86400", **CONFIRMED})
        assert response.status_code == 302
        new, still = source_valid_secrets(source=source)
        assert still == old
        page = client.get(source.get_absolute_url())
        assert page.context["secret_once"] == new
        assert "keeps working for 24 hours" in page.content.decode()
        assert new not in client.get(source.get_absolute_url()).content.decode()
        traveller.shift(timedelta(hours=24, seconds=1))
        assert source_valid_secrets(source=source) == [new]


def test_rotation_without_grace_stops_the_old_secret_now(client, member, team):
    source, old = source_create(team=team, kind="circleci", name="recsys-ci")
    client.force_login(member)
    client.post(f"{source.get_absolute_url()}rotate-secret/", {"grace_seconds": "0", **CONFIRMED})
    [current] = source_valid_secrets(source=source)
    assert current != old


@pytest.mark.parametrize("grace", ["", "-5", "1209600", "soon"])
def test_rotation_with_a_bad_grace_period_answers_400(client, member, team, grace):
    source, old = source_create(team=team, kind="github", name="fraud-ci")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}rotate-secret/", {"grace_seconds": grace, **CONFIRMED})
    assert response.status_code == 400
    assert response.context["rotate_form"].errors["grace_seconds"]
    assert source_valid_secrets(source=source) == [old]


# --- delivery log -------------------------------------------------------------------------


def test_delivery_log_filters_by_status_and_event(client, member, team):
    source = SourceFactory(team=team)
    failed = DeliveryFactory(source=source, status="failed", event="workflow_run", error="Payload has no run id.")
    DeliveryFactory(source=source, status="processed", event="workflow_run")
    DeliveryFactory(source=source, status="failed", event="workflow_job")
    client.force_login(member)
    response = client.get(source.get_absolute_url(), {"status": "failed", "event": "workflow_run"})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [failed]
    assert "Payload has no run id." in response.content.decode()
    assert f"/sources/{source.pk}/deliveries/{failed.pk}/" in response.content.decode()


@pytest.mark.parametrize("query", [{"status": "exploded"}, {"event": "e" * 121}])
def test_delivery_log_with_a_bad_filter_answers_400(client, member, team, query):
    source = SourceFactory(team=team)
    DeliveryFactory(source=source)
    client.force_login(member)
    response = client.get(source.get_absolute_url(), query)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_delivery_log_paginates(client, member, team):
    source = SourceFactory(team=team)
    with time_machine.travel(NOW, tick=False):
        for minute in range(30):
            DeliveryFactory(source=source, received_at=NOW - timedelta(minutes=minute))
    client.force_login(member)
    second = client.get(source.get_absolute_url(), {"page": "2"})
    assert [d.received_at for d in second.context["page"].object_list] == [
        NOW - timedelta(minutes=minute) for minute in range(25, 30)
    ]
    assert client.get(source.get_absolute_url(), {"page": "nonsense"}).status_code == 200


@pytest.mark.parametrize("kind", [kind for kind, _ in Source._meta.get_field("kind").choices])
def test_setup_instructions_of_every_kind_name_this_webhook(client, member, team, kind):
    source = SourceFactory(team=team, kind=kind)
    client.force_login(member)
    html = str(client.get(source.get_absolute_url()).context["setup_html"])
    assert source.webhook_url in html
    assert pages.SECRET_PLACEHOLDER in html
    assert "<script" not in html


def test_event_filter_offers_the_senders_events_and_accepts_older_ones(client, member, team):
    source = SourceFactory(team=team, kind="github")
    old = DeliveryFactory(source=source, event="check_suite")
    client.force_login(member)
    offered = dict(client.get(source.get_absolute_url()).context["filters"].fields["event"].choices)
    assert {"workflow_run", "workflow_job", "deployment_status", "check_suite"} <= set(offered)
    response = client.get(source.get_absolute_url(), {"event": "check_suite"})
    assert list(response.context["page"].object_list) == [old]
    unknown = client.get(source.get_absolute_url(), {"event": "never_sent"})
    assert unknown.status_code == 200
    assert list(unknown.context["page"].object_list) == []


def test_renaming_to_a_taken_name_is_a_field_error(client, member, team):
    SourceFactory(team=team, name="taken")
    source = SourceFactory(team=team, name="fraud-ci")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}edit/", edit_post(source, name="taken"))
    assert response.status_code == 400
    assert response.context["edit_form"].errors["name"] == [source_services.NAME_TAKEN.format(team=team, name="taken")]
    source.refresh_from_db()
    assert source.name == "fraud-ci"


def test_webhook_url_and_setup_snippet_use_site_url_with_its_port(client, member, team, settings):
    settings.SITE_URL = "http://127.0.0.1:8101"
    source = SourceFactory(team=team)
    client.force_login(member)
    content = client.get(source.get_absolute_url()).content.decode()
    expected = f"http://127.0.0.1:8101/hooks/{source.public_id}/"
    assert f'<code id="webhook-url">{expected}</code>' in content
    assert content.count(expected) >= 2  # the URL card and the copy-paste setup snippet
    assert "127.0.0.1:8000" not in content


SOURCES_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "sources.css"


@pytest.mark.parametrize("kind", SourceKind.values)
def test_every_kind_of_sender_has_a_mark_of_its_own(kind):
    # Without a rule of its own, a kind shows the fallback "?" in the source list and the create form.
    css = SOURCES_CSS.read_text()
    assert re.search(rf"\.sender-{kind}::before \{{ content: \"[^\"?]+\"; \}}", css), kind
