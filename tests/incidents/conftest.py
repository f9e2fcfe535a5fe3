from datetime import UTC, datetime

import pytest

# A Tuesday noon in UTC: the moment the incident tests freeze time at (``frozen``).
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash fixture passwords cheaply: these tests are about incidents, not key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen_at():
    return NOW


@pytest.fixture
def postmortem_not_needed():
    """Return a function recording that an incident needs no post-mortem, so it may be closed."""
    from postmortems.services.postmortems import postmortem_mark_not_needed

    def mark(incident, actor):
        return postmortem_mark_not_needed(incident=incident, actor=actor, reason="A near miss in staging.")

    return mark
