import base64
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.ingest.edge import webhook_source_get
from incidents.models import Source
from incidents.selectors.sources import source_valid_secrets
from incidents.services.sources import UNKNOWN_KIND, source_create, source_rotate_secret, source_update

pytestmark = pytest.mark.django_db


def test_create_source_issues_a_secret_and_unguessable_url(team):
    source, secret = source_create(team=team, kind="github", name="fraud-ci")
    assert source_valid_secrets(source=source) == [secret]
    assert len(source.public_id) >= 32
    assert webhook_source_get(public_id=source.public_id).source() == source


def test_standard_webhook_kinds_get_whsec_keys(team):
    _, secret = source_create(team=team, kind="generic", name="batch-scorer")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_rotation_keeps_old_secret_for_the_grace_period(team):
    source, old = source_create(team=team, kind="circleci", name="recsys-ci")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        new = source_rotate_secret(source=source, grace=timedelta(hours=24))
        assert source_valid_secrets(source=source) == [new, old]
        traveller.shift(timedelta(hours=24, seconds=1))
        assert source_valid_secrets(source=source) == [new]


def test_inactive_source_is_not_found(team):
    source, _ = source_create(team=team, kind="jenkins", name="nightly")
    source.is_active = False
    source.save()
    assert webhook_source_get(public_id=source.public_id) is None


def test_update_changes_only_the_options_given(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    source_update(source=source, is_active=False, environment_severity={" production ": "SEV1"})
    source.refresh_from_db()
    assert source.is_active is False
    assert source.environment_severity == {"production": "SEV1"}
    assert source.name == "fraud-ci"


def test_update_refuses_what_is_not_an_option(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    with pytest.raises(TypeError):
        source_update(source=source, kind="gitlab")


def test_failed_update_leaves_the_source_as_it_was(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    with pytest.raises(ValidationError) as caught:
        source_update(source=source, name="renamed", environment_severity={"prod": "SEV7"})
    assert set(caught.value.message_dict) == {"environment_severity"}
    assert source.name == "fraud-ci"
    source.refresh_from_db()
    assert source.name == "fraud-ci"


def test_create_refuses_an_unknown_kind_naming_the_valid_ones(team):
    with pytest.raises(ValidationError) as caught:
        source_create(team=team, kind="bamboo", name="x")
    assert caught.value.message_dict["kind"] == [
        UNKNOWN_KIND.format(
            kind="bamboo", kinds="github, gitlab, jenkins, argocd, argo_rollouts, circleci, mlflow, generic"
        )
    ]


def test_seeded_demo_has_sources_of_several_kinds(db):
    from django.core.management import call_command

    from incidents.models import Source

    call_command("seed_demo", verbosity=0)
    assert {"github", "gitlab", "mlflow", "jenkins", "argocd"} <= set(Source.objects.values_list("kind", flat=True))
    assert all(source.secrets.count() == 1 for source in Source.objects.all())


def test_webhook_lookup_reads_the_source_and_its_valid_secrets_in_one_query(team, django_assert_num_queries):
    source, old = source_create(team=team, kind="github", name="fraud-ci")
    source_update(source=source, rate_limit_per_minute=77)
    now = timezone.now()
    new = source_rotate_secret(source=source, grace=timedelta(hours=1), now=now)
    with django_assert_num_queries(1):
        read = webhook_source_get(public_id=source.public_id, now=now)
        found = read.source()
        assert (found.pk, found.team_id, found.kind, found.public_id) == (
            source.pk,
            team.pk,
            "github",
            source.public_id,
        )
        assert found.rate_limit_per_minute == 77
    assert read.edge_version == source.edge_version
    assert not read.from_memory
    assert read.secrets_valid(now=now) == [new, old]
    assert read.secrets_valid(now=now + timedelta(hours=2)) == [new]
    assert found.name == "fraud-ci"  # the other fields load on access


def test_webhook_lookup_keeps_the_source_in_memory_and_reads_it_again_when_asked(team, django_assert_num_queries):
    source, secret = source_create(team=team, kind="github", name="fraud-ci")
    now = timezone.now()
    first = webhook_source_get(public_id=source.public_id, now=now)
    with django_assert_num_queries(0):
        kept = webhook_source_get(public_id=source.public_id, now=now)
    assert kept.from_memory and kept.row == first.row
    assert kept.source() is not kept.source()  # each request its own instance
    new = source_rotate_secret(source=source, grace=timedelta(0), now=now)
    # Memory still holds the old secret: the edge's checks of the edge version refuse it.
    assert webhook_source_get(public_id=source.public_id, now=now).secrets_valid(now=now) == [secret]
    with django_assert_num_queries(1):
        fresh = webhook_source_get(public_id=source.public_id, now=now, fresh=True)
    assert fresh.secrets_valid(now=now) == [new]
    assert fresh.edge_version == first.edge_version + 1
    assert webhook_source_get(public_id=source.public_id, now=now).secrets_valid(now=now) == [new]


def test_webhook_lookup_reads_again_after_the_kept_time_and_keeps_a_bounded_number(team, monkeypatch):
    import incidents.ingest.edge as selectors

    first, _ = source_create(team=team, kind="github", name="one")
    second, _ = source_create(team=team, kind="github", name="two")
    monkeypatch.setattr(selectors, "WEBHOOK_SOURCES_KEPT", 1)
    webhook_source_get(public_id=first.public_id)
    webhook_source_get(public_id=second.public_id)
    assert not webhook_source_get(public_id=first.public_id).from_memory  # pushed out by the second
    monkeypatch.setattr(selectors, "WEBHOOK_SOURCE_KEPT_SECONDS", 0.0)
    assert not webhook_source_get(public_id=first.public_id).from_memory


def test_webhook_lookup_finds_no_inactive_source(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    assert webhook_source_get(public_id=source.public_id + "x") is None
    assert webhook_source_get(public_id=source.public_id) is not None
    source_update(source=source, is_active=False)
    assert webhook_source_get(public_id=source.public_id, fresh=True) is None
    assert webhook_source_get(public_id=source.public_id) is None  # and forgotten


def test_every_change_to_a_source_counts_in_its_edge_version(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    versions = [source.edge_version]
    source_update(source=source, rate_limit_per_minute=5)
    versions.append(source.edge_version)
    source_rotate_secret(source=source, grace=timedelta(minutes=5))
    versions.append(source.edge_version)
    source_update(source=source, is_active=False)
    versions.append(source.edge_version)
    assert versions == sorted(set(versions))
    assert Source.objects.get(pk=source.pk).edge_version == versions[-1]
