import factory
from django.contrib.auth import get_user_model

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
