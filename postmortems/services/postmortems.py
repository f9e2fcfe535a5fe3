"""Writes to post-mortems: start, save (with a version check), review, publish, reopen.

Every save keeps a full PostmortemVersion. Permission and workflow rules are
checked here, so pages and the API share them; errors carry messages meant
for people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Deployment, Incident, ModelVersion, TimelineEntry
from incidents.services.incidents import timeline_entry_add
from notifications.models import EventKind
from notifications.services.events import notify_event
from postmortems.document import MAX_FACTORS, ContentError, is_filled, normalise_content
from postmortems.models import (
    ContributingFactor,
    FactorCategory,
    Postmortem,
    PostmortemAutosave,
    PostmortemNotNeeded,
    PostmortemReview,
    PostmortemReviewer,
    PostmortemStatus,
    PostmortemVersion,
    ReviewDecision,
    SectionKind,
    Template,
)
from postmortems.models.coach import CoachAcknowledgement
from postmortems.selectors.coach import SectionFinding, postmortem_findings
from postmortems.selectors.facts import incident_facts, prefill_text
from postmortems.selectors.postmortems import factor_snapshot
from postmortems.selectors.templates import template_for_incident
from postmortems.services.follow_ups import postmortem_published, postmortem_written
from teams.selectors import user_display_name, user_is_team_member

# What the author hears of a reviewer's decision (a comment alone is not a decision).
EVENT_FOR_DECISION = {
    ReviewDecision.APPROVE: EventKind.POSTMORTEM_APPROVED,
    ReviewDecision.REQUEST_CHANGES: EventKind.POSTMORTEM_CHANGES_REQUESTED,
}

User = get_user_model()

TIMELINE_LABEL = "Post-mortem"
MAX_TITLE_LENGTH = 300
MAX_NOTE_LENGTH = 300
MAX_REASON_LENGTH = 2000
MAX_COMMENT_LENGTH = 10_000

POSTMORTEM_EXISTS = "{reference} already has a post-mortem."
NOT_TEAM_MEMBER = "Only members of {team} (and staff) can do this."
TEMPLATE_NOT_AVAILABLE = "That template is not available to this incident's team."
TEMPLATE_ARCHIVED = "The template {name!r} is archived."
PUBLISHED_READ_ONLY = "This post-mortem is published and read-only: reopen it to write a new revision."
EDIT_CONFLICT = (
    "Version {current} was saved by {author} after version {based_on}, the one you edited. "
    "Nothing of yours is lost: merge your changes with theirs below."
)
UNKNOWN_BASE_VERSION = "Version {based_on} does not exist; the newest version is {current}."
TITLE_REQUIRED = "Give the post-mortem a title."
TITLE_TOO_LONG = f"The title is longer than {MAX_TITLE_LENGTH} characters."
NOTE_TOO_LONG = f"The note on what changed is longer than {MAX_NOTE_LENGTH} characters."
FACTOR_UNKNOWN = "Contributing factor {id} does not belong to this post-mortem."
FACTOR_TWICE = "Contributing factor {id} is listed twice."
FACTOR_CATEGORY_UNKNOWN = "Unknown contributing factor category {category!r}."
FACTOR_DESCRIPTION_REQUIRED = "Describe each contributing factor."
FACTOR_MODEL_VERSION_UNKNOWN = "Model version {id} is not one of {team}'s models."
FACTOR_DEPLOYMENT_UNKNOWN = "Deployment {id} is not one of {team}'s deployments."
TOO_MANY_FACTORS = f"A post-mortem has at most {MAX_FACTORS} contributing factors."
SUBMIT_NOT_DRAFT = "Only a draft can be sent for review; this post-mortem is {status}."
SUBMIT_MISSING_SECTIONS = "Answer the required sections before asking for review: {titles}."
SUBMIT_NO_REVIEWERS = "Choose at least one reviewer other than yourself."
REVIEWER_INACTIVE = "{user} cannot review: their account is inactive."
REVIEW_NOT_IN_REVIEW = "Approvals and change requests are given while a post-mortem is in review; this one is {status}."
REVIEW_NOT_INVITED = "Only invited reviewers can approve or request changes."
REVIEW_OWN_SUBMISSION = "You sent this post-mortem for review: another reviewer decides."
REVIEW_COMMENT_REQUIRED = "Say which changes you would like: a comment is required."
REVIEW_COMMENT_EMPTY = "Write a comment."
COMMENT_TOO_LONG = f"Comments are at most {MAX_COMMENT_LENGTH} characters."
COMMENT_ON_PUBLISHED = "This post-mortem is published: reopen it to discuss a new revision."
NOT_ALLOWED_TO_COMMENT = "Only the team, staff and invited reviewers can comment."
UNKNOWN_DECISION = "Unknown review decision {decision!r}; use approve, request_changes or comment."
PUBLISH_NOT_IN_REVIEW = "Only a post-mortem in review can be published; this one is {status}."
PUBLISH_NEEDS_APPROVAL = "Publishing needs a reviewer's approval of the current text (version {version})."
PUBLISH_OPEN_FINDINGS = (
    "{count} finding(s) of the blameless coach are still open: reframe the text, or acknowledge each one explicitly."
)
REOPEN_NOT_PUBLISHED = "Only a published post-mortem can be reopened; this one is {status}."
NOT_NEEDED_REASON_REQUIRED = "Say why this incident needs no post-mortem."
NOT_NEEDED_REASON_TOO_LONG = f"The reason is longer than {MAX_REASON_LENGTH} characters."
NOT_NEEDED_ALREADY_PUBLISHED = "This incident's post-mortem is already published."
ACKNOWLEDGEMENT_NOTE_TOO_LONG = f"Acknowledgement notes are at most {MAX_REASON_LENGTH} characters."


class PostmortemError(Exception):
    """A change that breaks a rule of post-mortems; the message is meant for people."""


class PostmortemPermissionError(PostmortemError):
    """The person may not make this change."""


class EditConflict(PostmortemError):
    """A save based on an older version than the newest one; nothing was saved."""

    def __init__(self, *, postmortem: Postmortem, based_on: int):
        self.postmortem = postmortem
        self.based_on = based_on
        self.current = postmortem.version
        author = postmortem.updated_by
        name = user_display_name(author, nobody="someone")
        super().__init__(EDIT_CONFLICT.format(current=self.current, author=name, based_on=based_on))


class PublishBlocked(PostmortemError):
    """Publishing is not possible yet; ``open_findings`` lists the coach findings still open."""

    def __init__(self, message: str, *, open_findings: list[SectionFinding] = ()):
        self.open_findings = list(open_findings)
        super().__init__(message)


@dataclass
class FactorInput:
    """One contributing factor as submitted: new (no id), changed, or to delete."""

    category: str = ""
    description: str = ""
    id: int | None = None
    model_version_id: int | None = None
    deployment_id: int | None = None
    delete: bool = False

    @property
    def is_blank(self) -> bool:
        return (
            self.id is None
            and not self.description.strip()
            and not self.category
            and not self.model_version_id
            and not self.deployment_id
        )


def _name(user) -> str:
    return user_display_name(user, nobody="Kintsugi")


def _require_team_member(actor, incident: Incident) -> None:
    if actor is None or not user_is_team_member(user=actor, team=incident.team):
        raise PostmortemPermissionError(NOT_TEAM_MEMBER.format(team=incident.team))


def _note_on_incident(*, incident: Incident, actor, text: str) -> None:
    timeline_entry_add(
        incident=incident, kind=TimelineEntry.Kind.NOTE, text=text, author=actor, source_label=TIMELINE_LABEL
    )


def _lock(postmortem: Postmortem) -> Postmortem:
    return (
        Postmortem.objects.select_for_update(of=("self",))
        .select_related("incident__team", "updated_by")
        .get(pk=postmortem.pk)
    )


def _current_factors(postmortem: Postmortem) -> list[ContributingFactor]:
    return list(
        ContributingFactor.objects.filter(postmortem=postmortem)
        .select_related("model_version__model", "deployment__model_version__model")
        .order_by("position", "id")
    )


def _record_version(*, postmortem: Postmortem, actor, based_on: int | None, note: str = "") -> PostmortemVersion:
    return PostmortemVersion.objects.create(
        postmortem=postmortem,
        number=postmortem.version,
        revision=postmortem.revision,
        based_on=based_on,
        title=postmortem.title,
        content=postmortem.content,
        factors=factor_snapshot(_current_factors(postmortem)),
        note=note,
        author=actor,
        created_at=postmortem.updated_at,
    )


# Start ------------------------------------------------------------------------


@transaction.atomic
def postmortem_start(*, incident: Incident, actor, template: Template | None = None) -> Postmortem:
    """Start the incident's post-mortem from a template, pre-filled with the incident's facts.

    The template defaults to the one matching the incident's kind; its sections
    are copied so later template edits leave this post-mortem alone. Record
    version 1 and a note on the incident's timeline.
    """
    _require_team_member(actor, incident)
    if Postmortem.objects.filter(incident=incident).exists():
        raise PostmortemError(POSTMORTEM_EXISTS.format(reference=incident.reference))
    if template is None:
        template = template_for_incident(incident=incident)
    elif template.team_id not in (None, incident.team_id):
        raise PostmortemError(TEMPLATE_NOT_AVAILABLE)
    elif not template.is_active:
        raise PostmortemError(TEMPLATE_ARCHIVED.format(name=template.name))
    sections = [section.snapshot() for section in template.sections.order_by("position", "id")]
    prefills = dict(template.sections.values_list("key", "prefill"))
    facts = incident_facts(incident=incident)
    content = {}
    for section in sections:
        if section["kind"] == SectionKind.WHY_CHAIN:
            content[section["key"]] = []
        else:
            content[section["key"]] = prefill_text(
                prefill=prefills.get(section["key"], ""), incident=incident, facts=facts
            )
    now = timezone.now()
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                incident=incident,
                template=template,
                template_name=template.name,
                sections=sections,
                title=f"Post-mortem: {incident.title}"[:MAX_TITLE_LENGTH],
                content=content,
                facts=facts,
                created_by=actor,
                updated_by=actor,
                updated_at=now,
            )
    except IntegrityError as error:
        raise PostmortemError(POSTMORTEM_EXISTS.format(reference=incident.reference)) from error
    _record_version(postmortem=postmortem, actor=actor, based_on=None, note=f"Started from {template.name}.")
    _note_on_incident(
        incident=incident, actor=actor, text=f"Post-mortem started by {_name(actor)} from {template.name}."
    )
    postmortem_written(postmortem=postmortem)  # follow-ups: search index
    return postmortem


# Save -------------------------------------------------------------------------


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise PostmortemError(TITLE_REQUIRED)
    if len(title) > MAX_TITLE_LENGTH:
        raise PostmortemError(TITLE_TOO_LONG)
    return title


def _check_factor(factor: FactorInput, incident: Incident) -> None:
    if factor.category not in FactorCategory.values:
        raise PostmortemError(FACTOR_CATEGORY_UNKNOWN.format(category=factor.category))
    if not factor.description.strip():
        raise PostmortemError(FACTOR_DESCRIPTION_REQUIRED)
    if len(factor.description) > 10_000:
        raise PostmortemError("Contributing factor descriptions are at most 10000 characters.")
    if (
        factor.model_version_id
        and not ModelVersion.objects.filter(pk=factor.model_version_id, model__team_id=incident.team_id).exists()
    ):
        raise PostmortemError(FACTOR_MODEL_VERSION_UNKNOWN.format(id=factor.model_version_id, team=incident.team))
    if (
        factor.deployment_id
        and not Deployment.objects.filter(pk=factor.deployment_id, team_id=incident.team_id).exists()
    ):
        raise PostmortemError(FACTOR_DEPLOYMENT_UNKNOWN.format(id=factor.deployment_id, team=incident.team))


def _apply_factors(postmortem: Postmortem, factors: list[FactorInput]) -> bool:
    """Apply the submitted factors in their order; return whether anything changed.

    Factors that were not submitted are kept, after the submitted ones:
    deleting one takes an explicit ``delete``, so a save never removes what
    someone else added meanwhile.
    """
    existing = {factor.pk: factor for factor in _current_factors(postmortem)}
    seen: set[int] = set()
    changed = False
    ordered: list[tuple[ContributingFactor, bool]] = []
    for factor in factors:
        if factor.is_blank:
            continue
        if factor.id is not None:
            if factor.id in seen:
                raise PostmortemError(FACTOR_TWICE.format(id=factor.id))
            if factor.id not in existing:
                raise PostmortemError(FACTOR_UNKNOWN.format(id=factor.id))
            seen.add(factor.id)
        if factor.delete:
            if factor.id is not None:
                existing.pop(factor.id).delete()
                changed = True
            continue
        _check_factor(factor, postmortem.incident)
        values = {
            "category": factor.category,
            "description": factor.description.strip(),
            "model_version_id": factor.model_version_id or None,
            "deployment_id": factor.deployment_id or None,
        }
        if factor.id is None:
            ordered.append((ContributingFactor(postmortem=postmortem, **values), True))
            changed = True
            continue
        row = existing.pop(factor.id)
        dirty = any(getattr(row, field) != value for field, value in values.items())
        for field, value in values.items():
            setattr(row, field, value)
        changed = changed or dirty
        ordered.append((row, dirty))
    ordered.extend((row, False) for row in existing.values())
    if len(ordered) > MAX_FACTORS:
        raise PostmortemError(TOO_MANY_FACTORS)
    for position, (row, dirty) in enumerate(ordered):
        if row.pk is None or dirty or row.position != position:
            changed = changed or row.position != position
            row.position = position
            row.save()
    return changed


@transaction.atomic
def postmortem_save(
    *,
    postmortem: Postmortem,
    actor,
    based_on: int,
    title: str | None = None,
    content: Mapping | None = None,
    factors: list[FactorInput] | None = None,
    note: str = "",
) -> tuple[Postmortem, bool]:
    """Save a new version of the post-mortem; return it and whether anything changed.

    ``content`` may name only some sections: the others keep their text.
    Lock the row, then refuse with EditConflict when ``based_on`` is not the
    newest version, so a save never overwrites a change its author has not
    seen. Discard the author's autosave once saved.
    """
    locked = _lock(postmortem)
    _require_team_member(actor, locked.incident)
    if locked.status == PostmortemStatus.PUBLISHED:
        raise PostmortemError(PUBLISHED_READ_ONLY)
    if based_on != locked.version:
        if 1 <= based_on < locked.version:
            raise EditConflict(postmortem=locked, based_on=based_on)
        raise PostmortemError(UNKNOWN_BASE_VERSION.format(based_on=based_on, current=locked.version))
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_LENGTH:
        raise PostmortemError(NOTE_TOO_LONG)
    new_title = locked.title if title is None else _clean_title(title)
    try:
        new_content = {**locked.content, **normalise_content(locked.sections, content or {})}
    except ContentError as error:
        raise PostmortemError(str(error)) from error
    factors_changed = _apply_factors(locked, factors) if factors is not None else False
    PostmortemAutosave.objects.filter(postmortem=locked, user=actor).delete()
    if not factors_changed and new_title == locked.title and new_content == locked.content:
        return locked, False
    locked.title = new_title
    locked.content = new_content
    locked.version += 1
    locked.updated_by = actor
    locked.updated_at = timezone.now()
    locked.save()
    _record_version(postmortem=locked, actor=actor, based_on=based_on, note=note)
    postmortem_written(postmortem=locked)  # follow-ups: search index
    return locked, True


def postmortem_autosave(
    *, postmortem: Postmortem, actor, based_on: int, title: str, content: Mapping, factors: list[dict] | None = None
) -> PostmortemAutosave:
    """Keep the person's unsaved edits (no version is made).

    Sections and factors not sent keep what the previous autosave of the same
    base version held.
    """
    _require_team_member(actor, postmortem.incident)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        raise PostmortemError(PUBLISHED_READ_ONLY)
    try:
        clean = normalise_content(postmortem.sections, content)
    except ContentError as error:
        raise PostmortemError(str(error)) from error
    previous = PostmortemAutosave.objects.filter(postmortem=postmortem, user=actor, based_on=based_on).first()
    if previous is not None:
        # The guided editor sends one section at a time: keep the others' unsaved text.
        clean = {**previous.content, **clean}
    autosave, _ = PostmortemAutosave.objects.update_or_create(
        postmortem=postmortem,
        user=actor,
        defaults={
            "based_on": based_on,
            "title": (title or "")[:MAX_TITLE_LENGTH],
            "content": clean,
            "factors": (factors if factors is not None else (previous.factors if previous else []))[:MAX_FACTORS],
            "saved_at": timezone.now(),
        },
    )
    return autosave


def postmortem_autosave_discard(*, postmortem: Postmortem, actor) -> None:
    """Forget the person's unsaved edits."""
    PostmortemAutosave.objects.filter(postmortem=postmortem, user=actor).delete()


# Review -------------------------------------------------------------------------


def missing_required_sections(postmortem: Postmortem) -> list[str]:
    """Return the titles of required sections not answered yet."""
    factor_count = ContributingFactor.objects.filter(postmortem=postmortem).count()
    return [
        section["title"]
        for section in postmortem.sections
        if section.get("required")
        and not is_filled(section, postmortem.content.get(section["key"]), factor_count=factor_count)
    ]


def _add_reviewer(*, postmortem: Postmortem, user, actor) -> PostmortemReviewer:
    if not user.is_active:
        raise PostmortemError(REVIEWER_INACTIVE.format(user=user))
    reviewer, _ = PostmortemReviewer.objects.get_or_create(
        postmortem=postmortem, user=user, defaults={"invited_by": actor}
    )
    return reviewer


@transaction.atomic
def postmortem_submit(*, postmortem: Postmortem, actor, reviewers: Iterable = ()) -> Postmortem:
    """Send a draft for review to the given reviewers (added to those already invited).

    Refuse while a required section is unanswered or when nobody but the
    sender would review.
    """
    locked = _lock(postmortem)
    _require_team_member(actor, locked.incident)
    if locked.status != PostmortemStatus.DRAFT:
        raise PostmortemError(SUBMIT_NOT_DRAFT.format(status=locked.get_status_display().lower()))
    missing = missing_required_sections(locked)
    if missing:
        raise PostmortemError(SUBMIT_MISSING_SECTIONS.format(titles=", ".join(missing)))
    for user in reviewers:
        if user.pk != actor.pk:
            _add_reviewer(postmortem=locked, user=user, actor=actor)
    if not PostmortemReviewer.objects.filter(postmortem=locked).exclude(user=actor).exists():
        raise PostmortemError(SUBMIT_NO_REVIEWERS)
    locked.status = PostmortemStatus.IN_REVIEW
    locked.submitted_by = actor
    locked.submitted_at = timezone.now()
    locked.save(update_fields=["status", "submitted_by", "submitted_at"])
    _note_on_incident(incident=locked.incident, actor=actor, text=f"Post-mortem sent for review by {_name(actor)}.")
    asked = [reviewer.user for reviewer in locked.reviewers.select_related("user").exclude(user=actor)]
    notify_event(
        kind=EventKind.POSTMORTEM_REVIEW_REQUESTED,
        postmortem=locked,
        actor=actor,
        recipients=asked,
        key=locked.submitted_at,
    )
    return locked


def postmortem_reviewer_add(*, postmortem: Postmortem, user, actor) -> PostmortemReviewer:
    """Invite a person to review the post-mortem: a team member or anyone in the organisation."""
    _require_team_member(actor, postmortem.incident)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        raise PostmortemError(PUBLISHED_READ_ONLY)
    reviewer = _add_reviewer(postmortem=postmortem, user=user, actor=actor)
    in_review = Postmortem.objects.filter(pk=postmortem.pk, status=PostmortemStatus.IN_REVIEW).exists()
    if in_review and user.pk != actor.pk:
        kind = EventKind.POSTMORTEM_REVIEW_REQUESTED
        notify_event(kind=kind, postmortem=postmortem, actor=actor, recipients=[user], key=f"reviewer-{reviewer.pk}")
    return reviewer


def postmortem_reviewer_remove(*, reviewer: PostmortemReviewer, actor) -> None:
    """Withdraw an invitation to review; the reviews already given stay."""
    _require_team_member(actor, reviewer.postmortem.incident)
    reviewer.delete()


@transaction.atomic
def postmortem_review(*, postmortem: Postmortem, reviewer, decision: str, comment: str = "") -> PostmortemReview:
    """Record a reviewer's decision on the current version, with their comment.

    Approving and requesting changes are for invited reviewers while the
    post-mortem is in review (not for the person who sent it); requesting
    changes sends it back to draft. Anyone who may write or review it can
    comment until it is published.
    """
    locked = _lock(postmortem)
    comment = (comment or "").strip()
    if decision not in ReviewDecision.values:
        raise PostmortemError(UNKNOWN_DECISION.format(decision=decision))
    if len(comment) > MAX_COMMENT_LENGTH:
        raise PostmortemError(COMMENT_TOO_LONG)
    invited = PostmortemReviewer.objects.filter(postmortem=locked, user=reviewer).exists()
    if decision == ReviewDecision.COMMENT:
        if locked.status == PostmortemStatus.PUBLISHED:
            raise PostmortemError(COMMENT_ON_PUBLISHED)
        if not invited and not user_is_team_member(user=reviewer, team=locked.incident.team):
            raise PostmortemPermissionError(NOT_ALLOWED_TO_COMMENT)
        if not comment:
            raise PostmortemError(REVIEW_COMMENT_EMPTY)
    else:
        if not invited:
            raise PostmortemPermissionError(REVIEW_NOT_INVITED)
        if locked.status != PostmortemStatus.IN_REVIEW:
            raise PostmortemError(REVIEW_NOT_IN_REVIEW.format(status=locked.get_status_display().lower()))
        if locked.submitted_by_id == reviewer.pk:
            raise PostmortemPermissionError(REVIEW_OWN_SUBMISSION)
        if decision == ReviewDecision.REQUEST_CHANGES and not comment:
            raise PostmortemError(REVIEW_COMMENT_REQUIRED)
    review = PostmortemReview.objects.create(
        postmortem=locked,
        reviewer=reviewer,
        decision=decision,
        comment=comment,
        revision=locked.revision,
        version=locked.version,
        created_at=timezone.now(),
    )
    if decision == ReviewDecision.REQUEST_CHANGES:
        locked.status = PostmortemStatus.DRAFT
        locked.save(update_fields=["status"])
    if decision in EVENT_FOR_DECISION:
        details = {"comment": comment}
        notify_event(
            kind=EVENT_FOR_DECISION[decision], postmortem=locked, actor=reviewer, details=details, key=review.pk
        )
    return review


# Publish ------------------------------------------------------------------------


def postmortem_findings_acknowledge(*, postmortem: Postmortem, actor, acknowledgements: Mapping[str, str]) -> int:
    """Record the person's acknowledgement of open coach findings (fingerprint to note); return how many.

    Fingerprints that match no finding of the current text are ignored.
    """
    _require_team_member(actor, postmortem.incident)
    open_findings = {
        item.fingerprint: item for item in postmortem_findings(postmortem=postmortem) if not item.acknowledged
    }
    recorded = 0
    for fingerprint, note in acknowledgements.items():
        item = open_findings.get(fingerprint)
        if item is None:
            continue
        note = (note or "").strip()
        if len(note) > MAX_REASON_LENGTH:
            raise PostmortemError(ACKNOWLEDGEMENT_NOTE_TOO_LONG)
        CoachAcknowledgement.objects.get_or_create(
            postmortem=postmortem,
            fingerprint=fingerprint,
            defaults={
                "section_key": item.section_key[:60],
                "rule_id": item.finding.rule_id[:60],
                "quote": item.finding.text[:200],
                "note": note,
                "acknowledged_by": actor,
            },
        )
        recorded += 1
    return recorded


@transaction.atomic
def postmortem_publish(
    *, postmortem: Postmortem, actor, acknowledgements: Mapping[str, str] | None = None
) -> Postmortem:
    """Publish the post-mortem in review, first recording the given acknowledgements.

    Refuse (and record nothing) without a reviewer's approval of the current
    version, or while a finding of the coach is neither reframed nor
    acknowledged. Readers then see this version until the next publication.
    """
    locked = _lock(postmortem)
    _require_team_member(actor, locked.incident)
    if locked.status != PostmortemStatus.IN_REVIEW:
        raise PublishBlocked(PUBLISH_NOT_IN_REVIEW.format(status=locked.get_status_display().lower()))
    approved = PostmortemReview.objects.filter(
        postmortem=locked, decision=ReviewDecision.APPROVE, revision=locked.revision, version=locked.version
    ).exists()
    if not approved:
        raise PublishBlocked(PUBLISH_NEEDS_APPROVAL.format(version=locked.version))
    if acknowledgements:
        postmortem_findings_acknowledge(postmortem=locked, actor=actor, acknowledgements=acknowledgements)
    still_open = [item for item in postmortem_findings(postmortem=locked) if not item.acknowledged]
    if still_open:
        raise PublishBlocked(PUBLISH_OPEN_FINDINGS.format(count=len(still_open)), open_findings=still_open)
    locked.status = PostmortemStatus.PUBLISHED
    locked.published_at = timezone.now()
    locked.published_by = actor
    locked.published_version = locked.version
    locked.save(update_fields=["status", "published_at", "published_by", "published_version"])
    revision = f" (revision {locked.revision})" if locked.revision > 1 else ""
    _note_on_incident(incident=locked.incident, actor=actor, text=f"Post-mortem published{revision} by {_name(actor)}.")
    postmortem_published(postmortem=locked)  # follow-ups: search index, lessons proposed as learnings
    notify_event(kind=EventKind.POSTMORTEM_PUBLISHED, postmortem=locked, actor=actor, key=f"revision-{locked.revision}")
    return locked


@transaction.atomic
def postmortem_reopen(*, postmortem: Postmortem, actor, reason: str = "") -> Postmortem:
    """Reopen a published post-mortem as a draft of its next revision.

    Readers keep seeing the published version until the new revision is published.
    """
    locked = _lock(postmortem)
    _require_team_member(actor, locked.incident)
    if locked.status != PostmortemStatus.PUBLISHED:
        raise PostmortemError(REOPEN_NOT_PUBLISHED.format(status=locked.get_status_display().lower()))
    reason = " ".join((reason or "").split())[:MAX_NOTE_LENGTH]
    locked.status = PostmortemStatus.DRAFT
    locked.revision += 1
    locked.save(update_fields=["status", "revision"])
    because = f": {reason}" if reason else "."
    _note_on_incident(
        incident=locked.incident,
        actor=actor,
        text=f"Post-mortem reopened for revision {locked.revision} by {_name(actor)}{because}",
    )
    postmortem_written(postmortem=locked)  # follow-ups: search index
    return locked


# Not needed -----------------------------------------------------------------------


@transaction.atomic
def postmortem_mark_not_needed(*, incident: Incident, actor, reason: str) -> PostmortemNotNeeded:
    """Record the team's decision that the incident needs no post-mortem, so it can be closed."""
    _require_team_member(actor, incident)
    reason = (reason or "").strip()
    if not reason:
        raise PostmortemError(NOT_NEEDED_REASON_REQUIRED)
    if len(reason) > MAX_REASON_LENGTH:
        raise PostmortemError(NOT_NEEDED_REASON_TOO_LONG)
    if Postmortem.objects.filter(incident=incident, status=PostmortemStatus.PUBLISHED).exists():
        raise PostmortemError(NOT_NEEDED_ALREADY_PUBLISHED)
    decision, _ = PostmortemNotNeeded.objects.update_or_create(
        incident=incident, defaults={"reason": reason, "decided_by": actor, "decided_at": timezone.now()}
    )
    _note_on_incident(incident=incident, actor=actor, text=f"Post-mortem marked not needed by {_name(actor)}: {reason}")
    return decision


@transaction.atomic
def postmortem_not_needed_withdraw(*, incident: Incident, actor) -> None:
    """Withdraw the decision that the incident needs no post-mortem."""
    _require_team_member(actor, incident)
    deleted, _ = PostmortemNotNeeded.objects.filter(incident=incident).delete()
    if deleted:
        _note_on_incident(
            incident=incident, actor=actor, text=f"{_name(actor)} decided a post-mortem is needed after all."
        )
