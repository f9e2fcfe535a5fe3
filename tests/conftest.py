from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.shared_redis import redis_availability_forget
from incidents.ingest.drain import drain_lease_forget
from incidents.ingest.edge import rate_grants_forget, webhook_sources_forget
from teams.models import Membership
from tests.factories import MembershipFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _webhook_sources_forgotten():
    """Start each test as a fresh web process: no source, rate grant, drain lease or Redis failure kept in memory."""
    redis_availability_forget()
    webhook_sources_forget()
    rate_grants_forget()
    drain_lease_forget(in_redis=True)  # a drain of an earlier test may have handed its lease on
    yield
    webhook_sources_forget()
    rate_grants_forget()
    drain_lease_forget()


@pytest.fixture
def frozen_at() -> datetime:
    """The moment ``frozen`` stops the clock at; a folder's conftest overrides it to tell its own story."""
    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen(frozen_at):
    """Freeze time at ``frozen_at``; move it with ``frozen.move_to``."""
    with time_machine.travel(frozen_at, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team(db):
    return TeamFactory(name="Fraud", slug="fraud")


@pytest.fixture
def lead(team):
    return MembershipFactory(team=team, role=Membership.Role.LEAD, user=UserFactory(username="lucia")).user


@pytest.fixture
def member(team):
    return MembershipFactory(team=team, user=UserFactory(username="priya")).user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def staff(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client_for():
    """Return a factory of API clients authenticated by token as the given user."""

    def make(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
