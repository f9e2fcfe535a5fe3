"""The post-mortem services call the follow-ups: publishing proposes lessons and opens the text to search."""

import pytest

from postmortems.models import LearningProposal, SectionKind
from postmortems.services.postmortems import (
    FactorInput,
    postmortem_publish,
    postmortem_reopen,
    postmortem_review,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from search.models import SearchEntry
from search.selectors import search

pytestmark = pytest.mark.django_db

TEXT = "The merchant snapshot was two days old when the new version went out, and no check looked at its age."
LESSONS = "- Alert on the age of every feature snapshot.\n- Evaluate each candidate on the newest week of traffic."


def written(postmortem) -> dict:
    content = {}
    for section in postmortem.sections:
        if section["kind"] == SectionKind.WHY_CHAIN:
            content[section["key"]] = [{"why": "Why were scores off?", "because": TEXT}] * 3
        elif section["kind"] == SectionKind.LESSONS:
            content[section["key"]] = LESSONS
        elif section["kind"] not in (SectionKind.CONTRIBUTING_FACTORS, SectionKind.TIMELINE):
            content[section["key"]] = TEXT
    return content


def test_publishing_proposes_lessons_and_opens_the_text_to_everyone(frozen, builtins, incident, member, outsider):
    reviewer = outsider
    postmortem = postmortem_start(incident=incident, actor=member)
    entry = SearchEntry.objects.get(postmortem=postmortem)
    assert entry.team_only  # a draft is for the team
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=member,
        based_on=postmortem.version,
        content=written(postmortem),
        factors=[FactorInput(category="upstream_data", description="The snapshot job had no freshness check.")],
    )
    assert "freshness check" in SearchEntry.objects.get(postmortem=postmortem).body
    assert "postmortem" not in {hit.kind for hit in search(user=outsider, query="merchant snapshot").hits}
    postmortem_submit(postmortem=postmortem, actor=member, reviewers=[reviewer])
    postmortem_review(postmortem=postmortem, reviewer=reviewer, decision="approve")
    postmortem = postmortem_publish(postmortem=postmortem, actor=member)
    assert list(LearningProposal.objects.filter(postmortem=postmortem).values_list("text", flat=True)) == [
        "Alert on the age of every feature snapshot.",
        "Evaluate each candidate on the newest week of traffic.",
    ]
    assert not SearchEntry.objects.get(postmortem=postmortem).team_only
    assert "postmortem" in {hit.kind for hit in search(user=outsider, query="merchant snapshot").hits}
    # Reopening keeps the published text findable and proposes nothing new.
    postmortem_reopen(postmortem=postmortem, actor=member, reason="A factor was missing.")
    assert "postmortem" in {hit.kind for hit in search(user=outsider, query="merchant snapshot").hits}
    assert LearningProposal.objects.count() == 2
