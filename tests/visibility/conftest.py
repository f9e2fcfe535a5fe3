import pytest

from tests.visibility.world import NOW, build_world


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen_at():
    return NOW


@pytest.fixture
def world(db, frozen):
    return build_world()
