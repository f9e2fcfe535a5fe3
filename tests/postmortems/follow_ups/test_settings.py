"""The due-date setting read from the environment."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_weeks_by_severity

DEFAULT = {"SEV1": 4, "SEV2": 6, "SEV3": 8, "SEV4": 12}


def test_pairs_override_the_defaults(monkeypatch):
    monkeypatch.setenv("ACTION_ITEM_DUE_WEEKS", "SEV1=2, SEV4=20")
    assert env_weeks_by_severity("ACTION_ITEM_DUE_WEEKS", DEFAULT) == {"SEV1": 2, "SEV2": 6, "SEV3": 8, "SEV4": 20}


def test_unset_keeps_the_defaults(monkeypatch):
    monkeypatch.delenv("ACTION_ITEM_DUE_WEEKS", raising=False)
    assert env_weeks_by_severity("ACTION_ITEM_DUE_WEEKS", DEFAULT) == DEFAULT


@pytest.mark.parametrize("value", ["SEV5=3", "SEV1=three", "SEV1", "SEV1=-1"])
def test_bad_pairs_stop_the_start(monkeypatch, value):
    monkeypatch.setenv("ACTION_ITEM_DUE_WEEKS", value)
    with pytest.raises(ImproperlyConfigured, match="expected pairs like SEV1=4"):
        env_weeks_by_severity("ACTION_ITEM_DUE_WEEKS", DEFAULT)
