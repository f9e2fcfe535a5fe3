from datetime import UTC, datetime, timedelta

import pytest

from experiments.services.experiments import experiment_start
from experiments.services.game_days import game_day_plan
from teams.models import Membership
from tests.factories import MembershipFactory, ModelVersionFactory, RegisteredModelFactory, UserFactory

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash fixture passwords cheaply: these tests are about experiments, not key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen_at():
    return NOW


@pytest.fixture
def model(team):
    return RegisteredModelFactory(team=team, name="fraud-detector")


@pytest.fixture
def v8(model):
    return ModelVersionFactory(model=model, version="8")


@pytest.fixture
def v9(model):
    return ModelVersionFactory(model=model, version="9")


@pytest.fixture
def facilitator(team):
    return MembershipFactory(team=team, user=UserFactory(username="fatima", first_name="Fatima")).user


@pytest.fixture
def other_lead(db):
    """A lead of another team: no rights on this one."""
    return MembershipFactory(role=Membership.Role.LEAD, user=UserFactory(username="otto")).user


@pytest.fixture
def experiment(team, model, v8, v9, member, frozen):
    return experiment_start(
        team=team,
        model=model,
        environment="production",
        candidate_version=v9,
        control_version=v8,
        hypothesis="v9 catches more fraud at the same precision.",
        deciding_metric="precision at 1 % FPR",
        initial_percent=10,
        started_at=NOW - timedelta(hours=2),
        actor=member,
    )


@pytest.fixture
def game_day(team, model, facilitator, member, frozen):
    return game_day_plan(
        team=team,
        actor=member,
        title="Stale features in the fraud scorer",
        hypothesis="If the feature store is 5 minutes stale, precision stays above 0.9 and we detect it in 10 minutes.",
        scheduled_at=NOW + timedelta(days=1),
        injection_kind="stale_features",
        injection="Hold the merchant snapshot back by 5 minutes.",
        model=model,
        environment="staging",
        component="online feature store",
        blast_radius="Staging only.",
        abort_conditions="Precision below 0.8 for 2 minutes.",
        facilitator=facilitator,
        participants=[member],
    )
