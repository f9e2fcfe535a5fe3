"""Writes of the learnings library: learnings written by hand, and lessons post-mortems propose."""

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from incidents.models import RegisteredModel, Tag
from incidents.models.incidents import tag_name_from
from postmortems.document import lessons_from_text
from postmortems.hooks import learning_changed
from postmortems.models import (
    FactorCategory,
    Learning,
    LearningCategory,
    LearningProposal,
    LearningProposalStatus,
    Postmortem,
    PostmortemStatus,
    SectionKind,
)
from postmortems.selectors.learnings import user_can_decide_proposal, user_can_edit_learning
from teams.models import Team
from teams.selectors import user_is_team_member

TITLE_REQUIRED = "Give the learning a title."
TITLE_TOO_LONG = "Keep the title under {limit} characters; the body holds the details."
BODY_REQUIRED = "Write the lesson itself: what should another team know?"
BODY_TOO_LONG = "Keep a learning under {limit} characters: it is a short, reusable lesson."
UNKNOWN_CATEGORY = "Unknown failure category {value!r}; use one of the contributing-factor categories."
TAG_INVALID = "Tags are short words of letters, digits and hyphens; {tag!r} is not one."
TOO_MANY_TAGS = "Give at most {limit} tags."
NOT_ALLOWED_TEAM = "You can only file learnings under a team you belong to."
NOT_ALLOWED_TO_EDIT = "Only the author, members of the learning's team and admins can change this learning."
NOT_ALLOWED_TO_DECIDE = "Only members of {team} and admins can accept or dismiss the lessons of its post-mortems."
SOURCE_NOT_PUBLISHED = "Only published post-mortems can be the source of a learning."
PROPOSAL_ALREADY_DECIDED = "This lesson was already {status}."
UNKNOWN_FIELD = "Learnings have no field {field!r} that can be changed."

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000
MAX_TAGS = 12
EDITABLE_FIELDS = frozenset({"title", "body", "team", "tags", "registered_models", "categories"})


class LearningError(Exception):
    """A change to a learning that breaks a rule; ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class LearningPermissionError(LearningError):
    """The person may not make this change."""


def clean_tags(tags: Iterable[str] | str) -> list[str]:
    """Return tag names as ``tag_name_from`` reads them, in order and once each, or raise LearningError."""
    if isinstance(tags, str):
        tags = re.split(r"[,\n]", tags)
    names = []
    for raw in tags:
        if not str(raw).strip().lstrip("#"):
            continue
        name = tag_name_from(raw)
        if name is None:
            raise LearningError(TAG_INVALID.format(tag=str(raw).strip()[:60]), field="tags")
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise LearningError(TOO_MANY_TAGS.format(limit=MAX_TAGS), field="tags")
    return names


def _clean(fields: dict) -> dict:
    cleaned = dict(fields)
    if "title" in cleaned:
        cleaned["title"] = " ".join((cleaned["title"] or "").split())
        if not cleaned["title"]:
            raise LearningError(TITLE_REQUIRED, field="title")
        if len(cleaned["title"]) > TITLE_MAX_LENGTH:
            raise LearningError(TITLE_TOO_LONG.format(limit=TITLE_MAX_LENGTH), field="title")
    if "body" in cleaned:
        cleaned["body"] = (cleaned["body"] or "").replace("\r\n", "\n").strip()
        if not cleaned["body"]:
            raise LearningError(BODY_REQUIRED, field="body")
        if len(cleaned["body"]) > BODY_MAX_LENGTH:
            raise LearningError(BODY_TOO_LONG.format(limit=BODY_MAX_LENGTH), field="body")
    if "categories" in cleaned:
        categories = []
        for category in cleaned["categories"] or ():
            if category not in FactorCategory.values:
                raise LearningError(UNKNOWN_CATEGORY.format(value=str(category)[:40]), field="categories")
            if category not in categories:
                categories.append(category)
        cleaned["categories"] = categories
    if "tags" in cleaned:
        cleaned["tags"] = clean_tags(cleaned["tags"] or ())
    return cleaned


def _check_team(team: Team | None, actor) -> None:
    if team is not None and not user_is_team_member(user=actor, team=team):
        raise LearningPermissionError(NOT_ALLOWED_TEAM, field="team")


def _set_relations(learning: Learning, fields: dict) -> None:
    if "tags" in fields:
        learning.tags.set([Tag.objects.get_or_create(name=name)[0] for name in fields["tags"]])
    if "registered_models" in fields:
        learning.registered_models.set(list(fields["registered_models"]))
    if "categories" in fields:
        wanted = set(fields["categories"])
        learning.categories.exclude(category__in=wanted).delete()
        have = set(learning.categories.values_list("category", flat=True))
        LearningCategory.objects.bulk_create(
            [LearningCategory(learning=learning, category=category) for category in sorted(wanted - have)]
        )


@transaction.atomic
def learning_create(
    *,
    author,
    title: str,
    body: str,
    team: Team | None = None,
    tags: Iterable[str] = (),
    registered_models: Iterable[RegisteredModel] = (),
    categories: Iterable[str] = (),
    source_postmortems: Iterable[Postmortem] = (),
    created_at: datetime | None = None,
) -> Learning:
    """Create and return a learning, and tell the learning followers (search) of it.

    Raise LearningPermissionError when the author files it under a team they
    are not in, and LearningError for any invalid field or a source post-mortem
    that is not published.
    """
    _check_team(team, author)
    fields = _clean(
        {"title": title, "body": body, "tags": tags, "registered_models": registered_models, "categories": categories}
    )
    sources = list(source_postmortems)
    if any(source.published_version is None for source in sources):
        raise LearningError(SOURCE_NOT_PUBLISHED, field="source_postmortems")
    now = created_at or timezone.now()
    learning = Learning.objects.create(
        title=fields["title"], body=fields["body"], team=team, author=author, created_at=now, updated_at=now
    )
    _set_relations(learning, fields)
    if sources:
        learning.source_postmortems.set(sources)
    learning_changed(learning=learning)
    return learning


@transaction.atomic
def learning_update(*, learning: Learning, actor, **fields) -> Learning:
    """Change the given fields (any of EDITABLE_FIELDS), tell the learning followers, and return the learning.

    Raise LearningPermissionError unless the actor is its author, a member of
    its team, or staff; moving it to another team needs membership of that team.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise LearningError(UNKNOWN_FIELD.format(field=sorted(unknown)[0]), field=sorted(unknown)[0])
    learning = Learning.objects.select_for_update().get(pk=learning.pk)
    if not user_can_edit_learning(user=actor, learning=learning):
        raise LearningPermissionError(NOT_ALLOWED_TO_EDIT)
    if "team" in fields and fields["team"] != learning.team:
        _check_team(fields["team"], actor)
    cleaned = _clean(fields)
    for name in ("title", "body", "team"):
        if name in cleaned:
            setattr(learning, name, cleaned[name])
    learning.updated_at = timezone.now()
    learning.save()
    _set_relations(learning, cleaned)
    learning_changed(learning=learning)
    return learning


# Lessons proposed by post-mortems --------------------------------------------------------------


def lessons_of(postmortem: Postmortem) -> list[str]:
    """Return the lessons in the post-mortem's "lessons learned" sections: list items, or else paragraphs."""
    lessons = []
    for section in postmortem.sections:
        if section.get("kind") != SectionKind.LESSONS:
            continue
        text = postmortem.content.get(section.get("key"))
        if not isinstance(text, str):
            continue
        lessons.extend(lessons_from_text(text))
    return lessons


def _fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


@transaction.atomic
def learning_proposals_create(*, postmortem: Postmortem) -> list[LearningProposal]:
    """Propose each lesson of a published post-mortem for the library; return the proposals new this time.

    Call it when a post-mortem is published. A lesson already proposed (the
    same words, whatever its case and spacing) is not proposed again, so
    publishing a new revision proposes only what changed.
    """
    if postmortem.status != PostmortemStatus.PUBLISHED:
        return []
    known = set(LearningProposal.objects.filter(postmortem=postmortem).values_list("fingerprint", flat=True))
    offset = LearningProposal.objects.filter(postmortem=postmortem).count()
    proposals = []
    for lesson in lessons_of(postmortem):
        fingerprint = _fingerprint(lesson)
        if fingerprint in known:
            continue
        known.add(fingerprint)
        proposals.append(
            LearningProposal(
                postmortem=postmortem, text=lesson[:BODY_MAX_LENGTH], fingerprint=fingerprint, position=offset
            )
        )
        offset += 1
    return LearningProposal.objects.bulk_create(proposals)


def _lock_open_proposal(proposal: LearningProposal, actor) -> LearningProposal:
    proposal = (
        LearningProposal.objects.select_for_update().select_related("postmortem__incident__team").get(pk=proposal.pk)
    )
    if not user_can_decide_proposal(user=actor, proposal=proposal):
        raise LearningPermissionError(NOT_ALLOWED_TO_DECIDE.format(team=proposal.postmortem.incident.team))
    if proposal.status != LearningProposalStatus.PROPOSED:
        raise LearningError(PROPOSAL_ALREADY_DECIDED.format(status=proposal.get_status_display().lower()))
    return proposal


@transaction.atomic
def learning_proposal_accept(
    *,
    proposal: LearningProposal,
    actor,
    title: str,
    body: str,
    team: Team | None,
    tags: Iterable[str] = (),
    registered_models: Iterable[RegisteredModel] = (),
    categories: Iterable[str] = (),
) -> Learning:
    """Turn the proposed lesson, as edited, into a learning with the post-mortem as its source; return it.

    Lock the proposal; raise LearningError when it was already decided and
    LearningPermissionError unless the actor is in the post-mortem's team (or staff).
    """
    proposal = _lock_open_proposal(proposal, actor)
    learning = learning_create(
        author=actor,
        title=title,
        body=body,
        team=team,
        tags=tags,
        registered_models=registered_models,
        categories=categories,
        source_postmortems=[proposal.postmortem],
    )
    proposal.status = LearningProposalStatus.ACCEPTED
    proposal.learning = learning
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "learning", "decided_by", "decided_at"])
    return learning


@transaction.atomic
def learning_proposal_dismiss(*, proposal: LearningProposal, actor) -> LearningProposal:
    """Record that the proposed lesson does not go into the library; return the proposal.

    Lock the proposal; raise as learning_proposal_accept does.
    """
    proposal = _lock_open_proposal(proposal, actor)
    proposal.status = LearningProposalStatus.DISMISSED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_by", "decided_at"])
    return proposal
