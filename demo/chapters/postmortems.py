"""Chapter 4 of the demo: post-mortems, a published one for the rollback story, one in review, one draft.

Safe to run again. The incidents come from chapter 3 (``incidents``), looked up by their titles; when a
title is not there, by what the incident is (the rollback story: a
failed-deployment incident whose model was rolled back; the others: resolved
incidents). Without demo incidents this does nothing.
"""

from django.contrib.auth import get_user_model

from incidents.models import AliasMove, Incident, IncidentKind, IncidentStatus
from postmortems.document import MIN_WHY_STEPS
from postmortems.models import FactorCategory, Postmortem, SectionKind, Template
from postmortems.services.postmortems import (
    FactorInput,
    postmortem_publish,
    postmortem_review,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from postmortems.services.templates import template_builtins_ensure
from teams.models import Membership

User = get_user_model()

STORY_TITLE = "fraud-detector v9 failed to deploy to production"
IN_REVIEW_TITLE = "home-feed-ranker v24 click-through dropped 6% after launch"
DRAFT_TITLE = "churn-predictor features late: upstream events table missing Sunday partition"

# Written the way a team that practises blameless reviews writes.
STORY = {
    "summary": (
        "{model} {new} was promoted to champion and served production traffic{served_for}. "
        "It returned errors for part of the scoring requests until the alias was moved back to {old}."
    ),
    "pipeline": None,
    "change": (
        "{new} was retrained on three more months of data and switched the feature encoder to the new "
        "schema version. It passed the offline evaluation and the staging canary."
    ),
    "failed_step": (
        "The production smoke test passed, because it scores a fixed synthetic payload. "
        "Real traffic carried the old country encoding for merchants onboarded before the migration, "
        "which the new encoder rejected. Error rate rose from 0.1% to 8% within four minutes."
    ),
    "blast_radius": (
        "About 8% of requests fell back to the rules engine, which approves more and blocks less. "
        "No customer saw an error: the fallback held, as designed."
    ),
    "rollback": (
        "The on-call engineer moved the `champion` alias back to {old} from the registry UI; serving picked "
        "it up on the next poll. The runbook described the old serving stack, so finding the right lever "
        "took longer than the move itself."
    ),
    "time_to_restore": None,
    "contributing_factors": (
        "Nobody chose a risky path here: each step made sense with what the dashboards showed. "
        "The conditions below made the failure possible and slowed recovery."
    ),
    "lessons": (
        "- Smoke tests should score a sample of real (anonymised) traffic, not a fixed payload.\n"
        "- Encoders must accept every value the old schema could produce until a migration is complete.\n"
        "- Keep rollback runbooks next to the alias they move, and rehearse them in game days."
    ),
}
STORY_FACTORS = [
    (FactorCategory.FEATURE_PIPELINE_CHANGE, "The new encoder rejected country codes the old schema still produced."),
    (FactorCategory.EVALUATION_GAP, "Offline evaluation and the smoke test had no slice of pre-migration merchants."),
    (FactorCategory.DOCUMENTATION, "The rollback runbook described the previous serving stack."),
]
IN_REVIEW = {
    "summary": (
        "{model} v24 ranked recent posts higher than v23 did. Posts by long-tail creators lost exposure and "
        "home-feed click-through fell 6% for two days before the weekly dashboard review noticed. Lowering "
        "the recency weight in the serving config restored click-through that evening; v25, retrained with a "
        "capped recency feature, replaced v24 on 20 October."
    ),
    "problem": (
        "From 8 October 10:00, when v24 became champion, home-feed click-through fell from 4.1% to 3.85%. "
        "Impressions of creators with fewer than 1,000 followers fell by a third. The click-through alert stayed "
        "quiet: the drop was inside its band. The weekly dashboard review found it on 10 October at 13:00."
    ),
    "whys": [
        {
            "why": "Why did click-through drop?",
            "because": "v24 filled the top of the feed with posts under six hours old, many from large accounts "
            "that users had already seen elsewhere.",
        },
        {
            "why": "Why did v24 favour recent posts so strongly?",
            "because": "Its new `hours_since_post` feature had no cap, and in the training log the newest posts "
            "had the highest click rates: the log only holds posts shown in their first hours.",
        },
        {
            "why": "Why did offline evaluation not show the drop?",
            "because": "Evaluation replays the same logs, with the same lean towards fresh posts; it scores what "
            "was shown, not what v24 would show.",
        },
        {
            "why": "Why did it take two days to notice?",
            "because": "The click-through alert compares with the same hour a week before and tolerates 8%, a "
            "band set for last year's holiday traffic and not reviewed since.",
        },
    ],
    "lessons": (
        "- Evaluate a ranker with interleaving or counterfactual estimates, not only with replayed logs.\n"
        "- Cap time-based features, and compare their distribution on live traffic before promotion.\n"
        "- Review alert bands after the season they were set for."
    ),
}
IN_REVIEW_FACTORS = [
    (FactorCategory.EVALUATION_GAP, "Offline evaluation replays logged impressions and cannot score a new ranking."),
    (FactorCategory.THRESHOLD_CONFIG, "The click-through alert tolerates 8%, more than this drop."),
]
DRAFT = {
    "summary": (
        "The weekly churn scoring job has been waiting since 03:00 on Monday for the Sunday partition of "
        "`events.sessions`, which the upstream ingestion has not written yet. No score is wrong; this week's "
        "scores are late. Started while the incident is open: facts are still coming in from the responders."
    ),
    "models": (
        "{model}, the version in production, is unchanged: only its input is late. The job keeps that version "
        "and will score with it once the partition lands."
    ),
    "impact": (
        "- About 45,000 accounts have no score for this week yet; the CRM keeps last week's until the job runs.\n"
        "- Monday's retention campaign is on hold. No effect on customers so far.\n"
        "- Detected 5 hours after the job started waiting."
    ),
    "data_changes": (
        "The 2026-11-15 partition of `events.sessions` has not landed. The ingestion job is retrying after "
        "timeouts against the events cluster; {teammate} is following it with the data platform team."
    ),
    "evaluation_gap": (
        "Open question for the review: the job waits without limit. A weekly score computed without Sunday "
        "might be good enough; no evaluation has measured how much one missing day changes the ranking of "
        "accounts, so there is no basis yet for running without it."
    ),
    "monitoring": (
        "The job's own timeout alert fired at 08:00, five hours after it started waiting. The partition "
        "freshness check accepts partitions up to 36 hours old, so Saturday's partition kept it green."
    ),
}
DRAFT_FACTORS = [
    (FactorCategory.UPSTREAM_DATA, "The Sunday partition of events.sessions is late; its ingestion is retrying."),
    (FactorCategory.TOOLING, "The freshness check accepts 36-hour-old partitions, so a missing day looks fresh."),
]


def _people(team) -> list:
    return [m.user for m in Membership.objects.filter(team=team).select_related("user").order_by("role", "user_id")]


def _reviewer(team, exclude) -> User | None:
    return (
        User.objects.filter(is_active=True)
        .exclude(memberships__team=team)
        .exclude(pk__in=[user.pk for user in exclude])
        .order_by("username")
        .first()
    ) or next((user for user in _people(team) if user not in exclude), None)


def _fill(text: str, incident: Incident, facts: dict, teammate: str = "") -> str:
    versions = [version["label"] for version in facts.get("model_versions", [])]
    model = incident.model.name if incident.model_id else "The model"
    new = versions[-1].split()[-1] if versions else "the new version"
    old = versions[0].split()[-1] if len(versions) > 1 else "the previous version"
    rollback = (
        AliasMove.objects.filter(model_id=incident.model_id, kind=AliasMove.Kind.ROLLBACK)
        .exclude(from_version=None)
        .exclude(to_version=None)
        .select_related("from_version", "to_version")
        .order_by("-moved_at")
        .first()
    )
    if rollback is not None:
        new, old = f"v{rollback.from_version.version}", f"v{rollback.to_version.version}"
    return text.format(
        model=model,
        new=new,
        old=old,
        served_for=_served_for(facts),
        title=incident.title,
        teammate=teammate or "Someone",
    )


def _served_for(facts: dict) -> str:
    """Return " for 1 h 33 min": how long the version served until mitigated (else resolved), or "" if unknown.

    The rollback ended the impact, so mitigation is the measure; an incident that was neither mitigated
    nor resolved when its post-mortem started has no such fact, and the sentence then leaves it out.
    """
    durations = {row["label"]: row for row in facts.get("durations", [])}
    for label in ("Time to mitigate", "Time to resolve"):
        row = durations.get(label)
        if row is not None and row.get("seconds") is not None:
            return f" for {row['text']}"
    return ""


def _content(postmortem: Postmortem, texts: dict, teammate: str = "") -> dict:
    keys = {section["key"]: section for section in postmortem.sections}
    content = {}
    for key, text in texts.items():
        if key not in keys or text is None:
            continue
        if isinstance(text, list):
            content[key] = text
        else:
            content[key] = _fill(text, postmortem.incident, postmortem.facts, teammate)
    return content


def _story_incident() -> Incident | None:
    titled = Incident.objects.filter(title=STORY_TITLE).order_by("id").first()
    if titled:
        return titled
    candidates = Incident.objects.filter(
        status__in=[IncidentStatus.MITIGATED, IncidentStatus.RESOLVED, IncidentStatus.CLOSED]
    ).order_by("id")
    rolled_back = AliasMove.objects.filter(kind=AliasMove.Kind.ROLLBACK).values_list("model_id", flat=True)
    return (
        candidates.filter(model_id__in=rolled_back).first()
        or candidates.filter(kind=IncidentKind.FAILED_DEPLOYMENT).first()
    )


def _start(incident: Incident, author, template_key: str | None = None) -> Postmortem:
    template = Template.objects.filter(builtin_key=template_key).first() if template_key else None
    return postmortem_start(incident=incident, actor=author, template=template)


def seed() -> None:
    """Create the demo post-mortems when their incidents exist and have none yet."""
    template_builtins_ensure()
    story = _story_incident()
    if story is None:
        return
    resolved = list(
        Incident.objects.filter(status__in=[IncidentStatus.RESOLVED, IncidentStatus.MITIGATED])
        .exclude(pk=story.pk)
        .order_by("id")[:2]
    )
    in_review = Incident.objects.filter(title=IN_REVIEW_TITLE).order_by("id").first() or (
        resolved[0] if resolved else None
    )
    draft = Incident.objects.filter(title=DRAFT_TITLE).order_by("id").first() or next(
        (incident for incident in resolved if incident != in_review), None
    )
    if not Postmortem.objects.filter(incident=story).exists():
        _seed_published(story)
    if in_review and not Postmortem.objects.filter(incident=in_review).exists():
        _seed_in_review(in_review)
    if draft and draft != in_review and not Postmortem.objects.filter(incident=draft).exists():
        _seed_draft(draft)


def _seed_published(incident: Incident) -> None:
    people = _people(incident.team)
    if not people:
        return
    author = people[-1]
    lead = people[0]
    postmortem = _start(incident, author, "failed-deployment")
    content = _content(postmortem, STORY)
    factors = [FactorInput(category=category, description=text) for category, text in STORY_FACTORS]
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=author,
        based_on=postmortem.version,
        content=content,
        factors=factors,
        note="First full draft from the incident channel.",
    )
    timeline_key = next((s["key"] for s in postmortem.sections if s["kind"] == SectionKind.TIMELINE), None)
    if timeline_key:
        tried_first = (
            postmortem.content[timeline_key]
            + "\n- The runbook's first step, restarting the serving pods, was tried before the alias move; the "
            "errors continued, since the pods loaded the same version again."
        )
        postmortem, _ = postmortem_save(
            postmortem=postmortem,
            actor=lead,
            based_on=postmortem.version,
            content={timeline_key: tried_first},
            note="Added what was tried first.",
        )
    reviewer = _reviewer(incident.team, exclude=[author, lead])
    if reviewer is None:
        return
    postmortem = postmortem_submit(postmortem=postmortem, actor=author, reviewers=[reviewer])
    postmortem_review(
        postmortem=postmortem,
        reviewer=reviewer,
        decision="approve",
        comment="Clear story, and the evaluation gap is one we share. Approved.",
    )
    postmortem_publish(postmortem=postmortem, actor=lead)


def _seed_in_review(incident: Incident) -> None:
    people = _people(incident.team)
    if not people:
        return
    author = people[-1]
    postmortem = _start(incident, author, "five-whys")
    content = _content(postmortem, IN_REVIEW)
    postmortem, _ = postmortem_save(
        postmortem=postmortem,
        actor=author,
        based_on=postmortem.version,
        content=content,
        factors=[FactorInput(category=category, description=text) for category, text in IN_REVIEW_FACTORS],
    )
    steps = postmortem.content.get("whys", [])
    if len(steps) < MIN_WHY_STEPS:
        return
    reviewer = _reviewer(incident.team, exclude=[author])
    if reviewer is not None:
        postmortem_submit(postmortem=postmortem, actor=author, reviewers=[reviewer])


def _seed_draft(incident: Incident) -> None:
    people = _people(incident.team)
    if not people:
        return
    postmortem = _start(incident, people[0], "ml-regression")
    teammate = next((person.first_name for person in people[1:] if person.first_name), "")
    postmortem_save(
        postmortem=postmortem,
        actor=people[0],
        based_on=postmortem.version,
        content=_content(postmortem, DRAFT, teammate),
        factors=[FactorInput(category=category, description=text) for category, text in DRAFT_FACTORS],
    )
