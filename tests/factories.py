from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from teams.models import Membership, Team

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    description = "Trains and serves models."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


# --- Model registry, deployments and incidents -------------------------------------------------------------------


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.RegisteredModel"

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"model-{n}")
    created_at = factory.LazyFunction(timezone.now)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.ModelVersion"

    model = factory.SubFactory(RegisteredModelFactory)
    version_number = factory.Sequence(lambda n: n + 1)
    version = factory.LazyAttribute(lambda version: str(version.version_number))
    run_id = factory.Sequence(lambda n: f"run{n:06d}")
    created_at = factory.LazyFunction(timezone.now)


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.Deployment"

    model_version = factory.SubFactory(ModelVersionFactory)
    team = factory.LazyAttribute(lambda deployment: deployment.model_version.model.team)
    external_id = factory.Sequence(lambda n: f"run-{n}")
    environment = "production"
    status = "succeeded"
    sha = factory.Sequence(lambda n: f"{n:040x}")
    run_url = factory.Sequence(lambda n: f"https://ci.example.com/runs/{n}")
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda deployment: deployment.started_at)
    last_event_at = factory.LazyAttribute(lambda deployment: deployment.finished_at or deployment.started_at)


class AliasMoveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.AliasMove"

    model = factory.LazyAttribute(lambda move: move.to_version.model)
    alias = "champion"
    to_version = factory.SubFactory(ModelVersionFactory)
    kind = "promotion"
    moved_at = factory.LazyFunction(timezone.now)


class IncidentFactory(factory.django.DjangoModelFactory):
    """An incident row as a fixture; tests of behaviour open incidents through the services."""

    class Meta:
        model = "incidents.Incident"

    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Model {n} failed to deploy")
    severity = "SEV3"
    status = "open"
    kind = "failed_deployment"
    environment = "production"
    detected_at = factory.LazyFunction(timezone.now)
    started_at = factory.LazyAttribute(lambda incident: incident.detected_at - timedelta(minutes=10))


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.TimelineEntry"

    incident = factory.SubFactory(IncidentFactory)
    kind = "note"
    text = factory.Sequence(lambda n: f"Observation {n}")
    occurred_at = factory.LazyFunction(timezone.now)
