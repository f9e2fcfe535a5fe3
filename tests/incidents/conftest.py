import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash fixture passwords cheaply: these tests are about incidents, not key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
