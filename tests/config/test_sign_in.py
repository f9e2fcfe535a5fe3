"""Sign-in throttling: failures lock out the account and the address, the page says why, staff unlock."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from config.sign_in import SIGN_IN_LOCKED, lockout_minutes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(db):
    user = UserFactory(username="mira")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_after_too_many_wrong_ones_is_refused(client, person, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "mira", "wrong").status_code == 200
    locked = sign_in(client, "mira", "wrong")
    assert locked.status_code == 429
    response = sign_in(client, "mira", PASSWORD)
    assert response.status_code == 429
    assert SIGN_IN_LOCKED.format(minutes=lockout_minutes()) in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_account_is_locked_from_every_address(client, person, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "mira", "wrong", address=f"198.51.100.{number + 1}")
    assert sign_in(client, "mira", PASSWORD, address="192.0.2.99").status_code == 429


def test_an_address_is_locked_for_every_account(client, person, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{number}", "wrong", address="198.51.100.200")
    assert sign_in(Client(), "mira", PASSWORD, address="198.51.100.200").status_code == 429
    assert sign_in(Client(), "mira", PASSWORD, address="198.51.100.201").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, person, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "mira", "wrong")
    assert sign_in(client, "mira", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "mira", "wrong").status_code == 200


def test_staff_unlock_an_account_in_the_admin(client, person, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "mira", "wrong")
    assert sign_in(client, "mira", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    attempts = list(AccessAttempt.objects.filter(username="mira").values_list("pk", flat=True))
    assert attempts
    changelist = "/admin/axes/accessattempt/"
    assert admin.get(changelist).status_code == 200
    response = admin.post(
        changelist, {"action": "delete_selected", "_selected_action": attempts, "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not AccessAttempt.objects.filter(username="mira").exists()
    assert sign_in(Client(), "mira", PASSWORD).status_code == 302
