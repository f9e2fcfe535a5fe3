from datetime import timedelta

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


def _deployment_team_for_new_model(model_stub):
    """Give a model made for a deployment the deployment's source team, or a new team."""
    deployment = model_stub.factory_parent.factory_parent
    return deployment.source.team if deployment.source is not None else TeamFactory()


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
    run_id = factory.Sequence(lambda n: f"run{n:06d}")
    created_at = factory.LazyFunction(timezone.now)


class DeploymentFactory(factory.django.DjangoModelFactory):
    """A deployment; its team is its source's, or its model's when it has no source."""

    class Meta:
        model = Deployment

    source = None
    model_version = factory.SubFactory(
        ModelVersionFactory, model__team=factory.LazyAttribute(_deployment_team_for_new_model)
    )
    team = factory.LazyAttribute(
        lambda deployment: (
            deployment.source.team if deployment.source is not None else deployment.model_version.model.team
        )
    )
    external_id = factory.Sequence(lambda n: f"run-{n}")
    environment = "production"
    status = DeploymentStatus.SUCCEEDED
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


# Follow-up actions and learnings ------------------------------------------------------------------


def _incident_of(team):
    from django.utils import timezone

    from incidents.models import Incident

    now = timezone.now()
    return Incident.objects.create(team=team, title="Scores drifted after a retrain", detected_at=now, started_at=now)


def _today():
    from django.utils import timezone

    return timezone.localdate()


class ActionItemFactory(factory.django.DjangoModelFactory):
    """An open action item; give ``incident`` (its team follows) or ``team`` (a new incident of it)."""

    class Meta:
        model = "postmortems.ActionItem"

    team = factory.SubFactory(TeamFactory)
    incident = factory.LazyAttribute(lambda item: _incident_of(item.team))
    title = factory.Sequence(lambda n: f"Add a null-rate monitor on feature {n}")
    owner = factory.SubFactory(UserFactory)
    verification = "The monitor fires in the staging drill on replayed data."
    due_date = factory.LazyFunction(_today)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["team"] = kwargs["incident"].team
        return super()._create(model_class, *args, **kwargs)


class LearningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "postmortems.Learning"

    title = factory.Sequence(lambda n: f"Lesson {n}: evaluate on the newest slice")
    body = "Keep a slice of the newest week in every evaluation report."
