import base64
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.selectors.sources import source_for_webhook, source_valid_secrets
from incidents.services.sources import source_create, source_rotate_secret

pytestmark = pytest.mark.django_db


def test_create_source_issues_a_secret_and_unguessable_url(team):
    source, secret = source_create(team=team, kind="github", name="fraud-ci")
    assert source_valid_secrets(source=source) == [secret]
    assert len(source.public_id) >= 32
    assert source_for_webhook(public_id=source.public_id) == source


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
    assert source_for_webhook(public_id=source.public_id) is None
