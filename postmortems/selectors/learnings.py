"""Reads of the learnings library: lists, proposals waiting for a decision, and "from the archive"."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from incidents.models import RegisteredModel, Tag
from postmortems.models import (
    Learning,
    LearningProposal,
    LearningProposalStatus,
    Postmortem,
)
from postmortems.selectors.postmortems import postmortems_visible_to
from teams.models import Team
from teams.selectors import user_is_team_member, user_team_ids


def learnings_with_relations(learnings: QuerySet[Learning] | None = None, *, user=None) -> QuerySet[Learning]:
    """Return the learnings with what their cards show: team, author, tags, models and categories.

    With ``user``, also the source post-mortems that user may read, newest first: a learning is
    organisation-wide, but where it came from is shown only to those who may read the source.
    """
    learnings = Learning.objects.all() if learnings is None else learnings
    learnings = learnings.select_related("team", "author").prefetch_related("tags", "registered_models", "categories")
    if user is None:
        return learnings
    sources = postmortems_visible_to(user=user).select_related("incident").order_by("-published_at", "-id")
    return learnings.prefetch_related(Prefetch("source_postmortems", queryset=sources))


def learning_list(
    *,
    user=None,
    team: Team | None = None,
    tag: str | None = None,
    category: str | None = None,
    model: RegisteredModel | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Learning]:
    """Return learnings, newest first, filtered by team, tag, failure category, model and creation date.

    With ``user``, each learning's sources are those the user may read (``learnings_with_relations``).
    """
    learnings = Learning.objects.all()
    if team is not None:
        learnings = learnings.filter(team=team)
    if tag:
        learnings = learnings.filter(tags__name=tag)
    if category:
        learnings = learnings.filter(categories__category=category)
    if model is not None:
        learnings = learnings.filter(registered_models=model)
    if since:
        learnings = learnings.filter(created_at__gte=_start_of(since))
    if until:
        learnings = learnings.filter(created_at__lt=_start_of(until + timedelta(days=1)))
    return learnings_with_relations(learnings, user=user).order_by("-created_at", "-id")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def learning_detail(*, pk: int, user) -> Learning | None:
    """Return the learning with its relations and the source post-mortems the user may read, or None."""
    learning = learnings_with_relations(user=user).filter(pk=pk).first()
    if learning is not None:
        learning.hidden_source_count = learning.source_postmortems.through.objects.filter(
            learning_id=learning.pk
        ).count() - len(learning.source_postmortems.all())
    return learning


def user_can_edit_learning(*, user, learning: Learning) -> bool:
    """Return whether the user may edit the learning: its author, a member of its team, or staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or learning.author_id == user.pk:
        return True
    return learning.team_id is not None and user_is_team_member(user=user, team=learning.team)


def user_can_decide_proposal(*, user, proposal: LearningProposal) -> bool:
    """Return whether the user may accept or dismiss the lesson: a member of the post-mortem's team, or staff."""
    return user_is_team_member(user=user, team=proposal.postmortem.incident.team)


def learning_proposals_open(*, user) -> QuerySet[LearningProposal]:
    """Return lessons waiting for a decision that the user may take, oldest post-mortem first."""
    proposals = LearningProposal.objects.filter(status=LearningProposalStatus.PROPOSED).select_related(
        "postmortem__incident__team", "postmortem__incident__model"
    )
    if not user.is_staff:
        proposals = proposals.filter(postmortem__incident__team_id__in=user_team_ids(user=user))
    return proposals.order_by("postmortem__published_at", "postmortem_id", "position", "id")


def learning_proposal_count(*, user) -> int:
    return learning_proposals_open(user=user).count()


def learning_proposal_defaults(*, proposal: LearningProposal) -> dict:
    """Return the values a learning made from the proposal starts with, to be edited.

    The title is the lesson's first sentence; team, tags, models and categories
    come from the incident and the post-mortem's contributing factors.
    """
    postmortem = proposal.postmortem
    incident = postmortem.incident
    first_sentence = proposal.text.split(". ")[0].strip().rstrip(".")
    title = first_sentence if len(first_sentence) <= 120 else first_sentence[:117].rsplit(" ", 1)[0] + "…"
    model_ids = {incident.model_id} | set(incident.model_versions.values_list("model_id", flat=True))
    model_ids |= set(
        postmortem.factors.filter(model_version__isnull=False).values_list("model_version__model_id", flat=True)
    )
    return {
        "title": title.replace("**", ""),
        # The reference, not the title: the learning is read organisation-wide, its incident maybe not.
        "body": f"{proposal.text}\n\nLearned from {incident.reference}.",
        "team": incident.team,
        "tags": ", ".join(incident.tags.values_list("name", flat=True)),
        "registered_models": list(RegisteredModel.objects.filter(pk__in=[pk for pk in model_ids if pk])),
        "categories": sorted(set(postmortem.factors.values_list("category", flat=True))),
    }


@dataclass(frozen=True)
class ArchivePick:
    learning: Learning
    label: str


ARCHIVE_WINDOWS = (
    # (how long ago, how many days either side, label)
    (timedelta(days=365), 7, "A year ago"),
    (timedelta(days=30), 3, "A month ago"),
)


def learning_from_the_archive(*, today: date | None = None) -> ArchivePick | None:
    """Return a learning written about a year ago, or else about a month ago, or None.

    Of the learnings in the window, the one nearest the anniversary is picked,
    so the pick is the same all day and changes from day to day.
    """
    today = today or timezone.localdate()
    for ago, slack, label in ARCHIVE_WINDOWS:
        anniversary = today - ago
        candidates = list(
            Learning.objects.select_related("team")
            .filter(
                created_at__gte=_start_of(anniversary - timedelta(days=slack)),
                created_at__lt=_start_of(anniversary + timedelta(days=slack + 1)),
            )
            .order_by("created_at", "id")[:50]
        )
        if candidates:
            middle = _start_of(anniversary) + timedelta(hours=12)
            pick = min(candidates, key=lambda learning: (abs(learning.created_at - middle), learning.pk))
            return ArchivePick(learning=pick, label=label)
    return None


def learning_tag_names() -> list[str]:
    """Return the names of tags some learning has, alphabetically."""
    return list(Tag.objects.filter(learnings__isnull=False).distinct().order_by("name").values_list("name", flat=True))


def proposals_of_postmortem(*, postmortem: Postmortem) -> QuerySet[LearningProposal]:
    """Return the post-mortem's lessons still waiting for a decision."""
    return postmortem.learning_proposals.filter(status=LearningProposalStatus.PROPOSED).order_by("position")
