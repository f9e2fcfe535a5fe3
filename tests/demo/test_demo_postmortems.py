"""Every post-mortem the demo seeds reads as a finished, blameless document.

A new user opens them from the post-mortem list, the library, search and the
incidents: none may be empty, template-less, or written in words the coach
would flag.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from demo.reviews import INSIGHTS_REVIEWS
from postmortems.document import texts_to_check
from postmortems.models import ActionItem, Postmortem, PostmortemStatus
from postmortems.selectors.coach import postmortem_findings
from postmortems.services.postmortems import missing_required_sections

pytestmark = pytest.mark.django_db

FIRST_INSIGHTS_REVIEW = next(iter(INSIGHTS_REVIEWS))


@pytest.fixture
def demo_postmortems():
    call_command("seed_demo", verbosity=0)
    postmortems = list(Postmortem.objects.select_related("incident").order_by("pk"))
    assert len(postmortems) >= 5
    return postmortems


def test_every_demo_postmortem_has_a_template_and_no_empty_required_section(demo_postmortems):
    problems = []
    for postmortem in demo_postmortems:
        if postmortem.template_id is None or not postmortem.sections:
            problems.append((postmortem.pk, "no template"))
            continue
        missing = missing_required_sections(postmortem)
        if missing:
            problems.append((postmortem.pk, missing))
    assert problems == []


def test_every_demo_postmortem_passes_the_blameless_coach(demo_postmortems, token_client_for):
    client = token_client_for(get_user_model().objects.get(username="demo"))
    url = reverse("api:blameless-check")
    flagged = []
    for postmortem in demo_postmortems:
        texts = [("title", postmortem.title)]
        for section in postmortem.sections:
            for part, text in texts_to_check(section, postmortem.content.get(section["key"])):
                texts.append((f"{section['key']}{part and '.' + part}", text))
        texts.extend((f"factor {factor.pk}", factor.description) for factor in postmortem.factors.all())
        for where, text in texts:
            response = client.post(url, {"text": text}, format="json")
            assert response.status_code == 200
            flagged.extend((postmortem.pk, where, finding["text"]) for finding in response.json()["findings"])
        # The page counts acknowledged findings too: the demo needs none to acknowledge.
        flagged.extend(
            (postmortem.pk, item.section_key, item.finding.text) for item in postmortem_findings(postmortem=postmortem)
        )
    assert flagged == []


def test_demo_postmortems_tell_different_stories(demo_postmortems):
    # Each template opens with the section a reader sees first (a summary, or a game day's hypothesis).
    openings = [
        postmortem.content.get(postmortem.sections[0]["key"]) if postmortem.sections else None
        for postmortem in demo_postmortems
    ]
    assert all(openings)
    assert len(set(openings)) == len(openings)


def test_published_demo_postmortems_gave_the_library_a_learning(demo_postmortems):
    published = [postmortem for postmortem in demo_postmortems if postmortem.status == PostmortemStatus.PUBLISHED]
    assert len(published) >= 3
    assert [postmortem.pk for postmortem in published if not postmortem.learnings.exists()] == []


def test_seeding_again_rewrites_the_bare_reviews_earlier_demos_left(demo_postmortems):
    """A database seeded before the reviews were written gets them on the next seeding, follow-ups kept."""
    written = Postmortem.objects.get(incident__title=FIRST_INSIGHTS_REVIEW)
    incident, follow_ups = written.incident, set(written.action_items.values_list("pk", flat=True))
    assert follow_ups
    written.delete()
    bare = Postmortem.objects.create(
        incident=incident,
        title=f"Post-mortem: {incident.title}",
        template_name="Standard",
        status=PostmortemStatus.PUBLISHED,
        updated_at=incident.resolved_at,
        published_at=incident.resolved_at,
        published_version=1,
    )
    ActionItem.objects.filter(pk__in=follow_ups).update(postmortem=bare)
    call_command("seed_demo", verbosity=0)
    rewritten = Postmortem.objects.get(incident=incident)
    assert rewritten.template is not None
    assert missing_required_sections(rewritten) == []
    assert rewritten.status == PostmortemStatus.PUBLISHED
    assert set(rewritten.action_items.values_list("pk", flat=True)) == follow_ups
