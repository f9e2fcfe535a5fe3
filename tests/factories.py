import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import (
    Delivery,
    Deployment,
    DeploymentStatus,
    ModelVersion,
    RegisteredModel,
    Source,
    SourceKind,
    SourceSecret,
)
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


# Incidents: sources, deliveries, the model registry and deployments.

GITHUB_TEST_SECRET = "It's a Secret to Everybody"


class SourceFactory(factory.django.DjangoModelFactory):
    """A source with one secret (``secret=`` to choose it)."""

    class Meta:
        model = Source
        skip_postgeneration_save = True

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"pipeline-{n}")
    kind = SourceKind.GITHUB

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        if create:
            SourceSecret.objects.create(source=obj, value=extracted or GITHUB_TEST_SECRET)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    source = factory.SubFactory(SourceFactory)
    delivery_id = factory.Sequence(lambda n: f"delivery-{n}")
    event = "workflow_run"
    headers = factory.LazyFunction(dict)
    content_type = "application/json"
    body = b"{}"
    received_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.SelfAttribute("received_at")


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisteredModel
        django_get_or_create = ("team", "name")

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"model-{n}")
    created_at = factory.LazyFunction(timezone.now)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion
        django_get_or_create = ("model", "version")

    model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: str(n + 1))
    version_number = factory.LazyAttribute(lambda version: int(version.version) if version.version.isdigit() else None)
    created_at = factory.LazyFunction(timezone.now)


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    source = factory.SubFactory(SourceFactory)
    team = factory.SelfAttribute("source.team")
    external_id = factory.Sequence(lambda n: f"run-{n}")
    model_version = factory.SubFactory(ModelVersionFactory, model__team=factory.SelfAttribute("...team"))
    environment = "production"
    status = DeploymentStatus.SUCCEEDED
    last_event_at = factory.LazyFunction(timezone.now)
