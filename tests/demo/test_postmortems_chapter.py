"""The demo post-mortems: built on the demo incidents, and safe to seed again."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from demo.chapters import people as teams_demo
from demo.chapters import postmortems as demo
from incidents.models import AliasMove, Deployment, ModelVersion, RegisteredModel
from incidents.services.incidents import incident_link_deployment, incident_open, incident_transition
from postmortems.models import CoachAcknowledgement, Postmortem, PostmortemStatus, Template
from tests.demo.test_seed_demo import model_counts

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


def demo_incidents(titles: tuple[str, str, str]):
    """A stand-in for the incidents demo: the rollback story and two other resolved incidents."""
    teams = teams_demo.seed()
    fraud = teams["fraud"]
    model = RegisteredModel.objects.create(team=fraud, name="fraud-detector", created_at=ANCHOR - timedelta(days=200))
    v8 = ModelVersion.objects.create(model=model, version="8", version_number=8, created_at=ANCHOR - timedelta(days=30))
    v9 = ModelVersion.objects.create(model=model, version="9", version_number=9, created_at=ANCHOR - timedelta(days=1))
    deployment = Deployment.objects.create(
        team=fraud,
        external_id="run-1",
        model_version=v9,
        environment="production",
        status="failed",
        last_event_at=ANCHOR,
        started_at=ANCHOR - timedelta(minutes=5),
        finished_at=ANCHOR,
    )
    story = incident_open(
        team=fraud,
        title="fraud-detector v9 failing in production",
        kind="failed_deployment",
        severity="SEV2",
        model=model,
        detected_at=ANCHOR,
        started_at=ANCHOR - timedelta(minutes=5),
    )
    incident_link_deployment(incident=story, deployment=deployment, role="cause")
    AliasMove.objects.create(
        model=model,
        alias="champion",
        from_version=v9,
        to_version=v8,
        kind="rollback",
        moved_at=ANCHOR + timedelta(minutes=20),
    )
    incident_transition(incident=story, to_status="mitigated", at=ANCHOR + timedelta(minutes=21))
    incident_transition(incident=story, to_status="resolved", at=ANCHOR + timedelta(minutes=50))
    others = []
    for slug, title in (("recsys", titles[1]), ("ml-platform", titles[2])):
        incident = incident_open(team=teams[slug], title=title, kind="model_regression", detected_at=ANCHOR)
        incident_transition(incident=incident, to_status="resolved", at=ANCHOR + timedelta(hours=2))
        others.append(incident)
    return story, others


@pytest.mark.parametrize(
    "titles",
    [
        (demo.STORY_TITLE, demo.IN_REVIEW_TITLE, demo.DRAFT_TITLE),
        ("fraud-detector v9 failing in production", "Home feed precision drop", "Feature store latency"),
    ],
    ids=["by-title", "by-what-they-are"],
)
def test_demo_seeds_a_published_an_in_review_and_a_draft_postmortem_once(titles):
    story, (second, third) = demo_incidents(titles)
    demo.seed()
    first = model_counts()
    published = Postmortem.objects.get(incident=story)
    assert published.status == PostmortemStatus.PUBLISHED
    assert published.content["rollback"].startswith("The on-call engineer moved the `champion` alias back to v8")
    # Started 5 minutes before detection, mitigated 21 minutes after it.
    assert "served production traffic for 26 min. " in published.content["summary"]
    assert published.factors.count() == 3
    # Written blamelessly: nothing for the coach to flag, so nothing to acknowledge before publishing.
    assert not CoachAcknowledgement.objects.filter(postmortem=published).exists()
    assert Postmortem.objects.get(incident=second).status == PostmortemStatus.IN_REVIEW
    draft = Postmortem.objects.get(incident=third)
    assert draft.status == PostmortemStatus.DRAFT
    assert draft.template.builtin_key == "ml-regression"
    assert draft.factors.count() == 2
    demo.seed()
    assert model_counts() == first


def test_full_demo_gives_the_rollback_story_its_published_postmortem():
    call_command("seed_demo", verbosity=0)
    first = model_counts()
    published = Postmortem.objects.get(incident__title=demo.STORY_TITLE)
    assert published.status == PostmortemStatus.PUBLISHED
    assert Postmortem.objects.get(incident__title=demo.IN_REVIEW_TITLE).status == PostmortemStatus.IN_REVIEW
    assert Postmortem.objects.get(incident__title=demo.DRAFT_TITLE).status == PostmortemStatus.DRAFT
    call_command("seed_demo", verbosity=0)
    assert model_counts() == first


def test_demo_does_nothing_without_demo_incidents():
    teams_demo.seed()
    demo.seed()
    assert not Postmortem.objects.exists()
    assert Template.objects.filter(builtin_key__isnull=False).count() == 5


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([("Time to mitigate", 5580.0, "1 h 33 min"), ("Time to resolve", None, "—")], "for 1 h 33 min. It"),
        ([("Time to mitigate", None, "—"), ("Time to resolve", 7200.0, "2 h")], "for 2 h. It"),
        ([("Time to mitigate", None, "—"), ("Time to resolve", None, "—")], "served production traffic. It"),
        ([], "served production traffic. It"),
    ],
)
def test_the_story_summary_names_how_long_the_version_served_or_leaves_it_out(durations, expected):
    story, _ = demo_incidents((demo.STORY_TITLE, demo.IN_REVIEW_TITLE, demo.DRAFT_TITLE))
    facts = {"durations": [{"label": label, "seconds": seconds, "text": text} for label, seconds, text in durations]}
    summary = demo._fill(demo.STORY["summary"], story, facts)
    assert expected in summary
    assert "—" not in summary
