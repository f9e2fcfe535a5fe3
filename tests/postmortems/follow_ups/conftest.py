"""Incidents, post-mortems and people around follow-up actions and learnings, at a frozen time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents.models import IncidentKind, ModelVersion, RegisteredModel, Severity
from incidents.services.incidents import incident_open
from postmortems.models import ContributingFactor, Postmortem, PostmortemStatus, PostmortemVersion, SectionKind
from tests.factories import MembershipFactory, TeamFactory, UserFactory

# A Monday, 10:00 UTC.
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)

LESSONS_SECTIONS = [
    {"key": "summary", "title": "Summary", "prompt": "What happened?", "kind": "markdown", "required": True},
    {"key": "lessons", "title": "Lessons learned", "prompt": "What should others know?", "kind": SectionKind.LESSONS},
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen_at():
    return NOW


@pytest.fixture
def scorer(team):
    return RegisteredModel.objects.create(team=team, name="fraud-scorer", created_at=NOW - timedelta(days=300))


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Recommendations", slug="recsys")


@pytest.fixture
def other_member(other_team):
    return MembershipFactory(team=other_team, user=UserFactory(username="oliver", first_name="Oliver")).user


def open_incident(
    team,
    *,
    title="Card scores drifted after the v14 retrain",
    severity=Severity.SEV2,
    model=None,
    restricted=False,
    actor=None,
    summary="",
    detected_at=None,
    kind=IncidentKind.MODEL_REGRESSION,
):
    return incident_open(
        team=team,
        title=title,
        kind=kind,
        severity=severity,
        model=model,
        restricted=restricted,
        summary=summary,
        created_by=actor,
        detected_at=detected_at or timezone.now(),
    )


@pytest.fixture
def incident(frozen, team, lead, scorer):
    return open_incident(team, model=scorer, actor=lead, summary="Approval rates for new merchants dropped by 4%.")


def make_postmortem(incident, *, lessons="", title=None, published=True, factors=(), summary="What happened."):
    """Return a post-mortem of the incident written straight to the database (published by default).

    ``factors`` are (category, model_version or None) pairs.
    """
    now = timezone.now()
    content = {"summary": summary, "lessons": lessons}
    postmortem = Postmortem.objects.create(
        incident=incident,
        template_name="Test",
        sections=LESSONS_SECTIONS,
        title=title or f"Post-mortem: {incident.title}",
        content=content,
        status=PostmortemStatus.PUBLISHED if published else PostmortemStatus.DRAFT,
        updated_at=now,
        published_at=now if published else None,
        published_version=1 if published else None,
    )
    PostmortemVersion.objects.create(
        postmortem=postmortem, number=1, revision=1, title=postmortem.title, content=content, created_at=now
    )
    for position, (category, version) in enumerate(factors):
        ContributingFactor.objects.create(
            postmortem=postmortem, category=category, description=f"{category} made it worse.",
            model_version=version, position=position,
        )  # fmt: skip
    return postmortem


def version_of(model, number="14") -> ModelVersion:
    return ModelVersion.objects.create(model=model, version=number, created_at=timezone.now())
