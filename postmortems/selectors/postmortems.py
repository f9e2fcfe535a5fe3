"""Reads of post-mortems: who may see and change them, lists, history and the incident-close rule."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from incidents.models import Incident
from postmortems.document import lessons_from_text
from postmortems.models import (
    ContributingFactor,
    Postmortem,
    PostmortemNotNeeded,
    PostmortemReview,
    PostmortemReviewer,
    PostmortemStatus,
    PostmortemVersion,
    ReviewDecision,
    SectionKind,
)
from teams.selectors import user_is_team_member, user_team_ids

User = get_user_model()

CLOSE_NEEDS_POSTMORTEM = (
    "Publish a post-mortem before closing this incident, or mark the post-mortem not needed with a reason."
)
CLOSE_POSTMORTEM_UNPUBLISHED = (
    "The post-mortem is {status}: publish it before closing this incident, "
    "or mark the post-mortem not needed with a reason."
)


def postmortem_close_blocker(*, incident: Incident) -> str | None:
    """Return why the incident cannot be closed yet, or None when it can.

    It can be closed once its post-mortem is published, or once its team has
    marked a post-mortem not needed (with a reason).
    """
    if PostmortemNotNeeded.objects.filter(incident_id=incident.pk).exists():
        return None
    status = Postmortem.objects.filter(incident_id=incident.pk).values_list("status", flat=True).first()
    if status is None:
        return CLOSE_NEEDS_POSTMORTEM
    if status == PostmortemStatus.PUBLISHED:
        return None
    return CLOSE_POSTMORTEM_UNPUBLISHED.format(status=PostmortemStatus(status).label.lower())


def postmortem_for_incident(incident: Incident | None = None, *, incident_id: int | None = None) -> Postmortem | None:
    """Return the incident's post-mortem, or None when none was started."""
    pk = incident.pk if incident is not None else incident_id
    return Postmortem.objects.select_related("incident", "template").filter(incident_id=pk).first()


def postmortem_not_needed(*, incident: Incident) -> PostmortemNotNeeded | None:
    """Return the team's decision that the incident needs no post-mortem, or None."""
    return PostmortemNotNeeded.objects.select_related("decided_by").filter(incident_id=incident.pk).first()


# Permissions ----------------------------------------------------------------


def user_is_reviewer(*, user, postmortem: Postmortem) -> bool:
    return user.is_authenticated and PostmortemReviewer.objects.filter(postmortem=postmortem, user=user).exists()


def user_can_edit_postmortem(*, user, postmortem: Postmortem) -> bool:
    """Return whether the user may write in the post-mortem: its team's members and staff."""
    return user_is_team_member(user=user, team=postmortem.incident.team)


def user_can_view_postmortem(*, user, postmortem: Postmortem) -> bool:
    """Return whether the user may read the post-mortem.

    Published ones are shown to everyone signed in (unless the incident is
    restricted); drafts to the team, staff and invited reviewers.
    """
    if not user.is_authenticated:
        return False
    if user_can_edit_postmortem(user=user, postmortem=postmortem):
        return True
    if user_is_reviewer(user=user, postmortem=postmortem):
        return True
    return postmortem.published_version is not None and not postmortem.incident.restricted


def user_sees_working_copy(*, user, postmortem: Postmortem) -> bool:
    """Return whether the user reads the current text rather than the last published version."""
    return user_can_edit_postmortem(user=user, postmortem=postmortem) or user_is_reviewer(
        user=user, postmortem=postmortem
    )


def _visible_q(user) -> Q:
    if user.is_staff:
        return Q()
    reviewing = PostmortemReviewer.objects.filter(postmortem=OuterRef("pk"), user=user)
    return (
        Q(published_version__isnull=False, incident__restricted=False)
        | Q(incident__team_id__in=user_team_ids(user=user))
        | Q(Exists(reviewing))
    )


def postmortems_visible_to(*, user) -> QuerySet[Postmortem]:
    """Return the post-mortems the user may read (``user_can_view_postmortem`` as one query)."""
    if not user.is_authenticated:
        return Postmortem.objects.none()
    return Postmortem.objects.filter(_visible_q(user))


def postmortem_visible_to_viewer(
    *, viewer, published: bool, restricted: bool, team_id: int, reviewer_ids: frozenset[int] = frozenset()
) -> bool:
    """Return whether the viewer (teams.selectors.Viewer) may read a post-mortem: ``_visible_q`` in Python.

    ``published`` is whether a version was ever published; ``reviewer_ids`` are its reviewers' user ids.
    """
    return (
        viewer.is_staff
        or (published and not restricted)
        or team_id in viewer.team_ids
        or viewer.user_id in reviewer_ids
    )


# Lists ------------------------------------------------------------------------


def postmortem_list(
    *, user, team_id: int | None = None, status: str | None = None, query: str = "", reviewing: bool = False
) -> QuerySet[Postmortem]:
    """Return the post-mortems the user may read, newest change first, filtered."""
    if not user.is_authenticated:
        return Postmortem.objects.none()
    postmortems = (
        Postmortem.objects.filter(_visible_q(user))
        .select_related("incident__team", "updated_by", "created_by")
        .order_by("-updated_at", "-id")
    )
    if team_id:
        postmortems = postmortems.filter(incident__team_id=team_id)
    if status:
        postmortems = postmortems.filter(status=status)
    if reviewing:
        postmortems = postmortems.filter(reviewers__user=user)
    if query:
        words = query.split()[:8]
        for word in words:
            postmortems = postmortems.filter(
                Q(title__icontains=word) | Q(incident__title__icontains=word) | Q(template_name__icontains=word)
            )
    return postmortems


def postmortem_status_counts(*, user) -> dict[str, int]:
    """Return how many post-mortems the user may read are in each status."""
    counts = dict.fromkeys(PostmortemStatus.values, 0)
    rows = postmortem_list(user=user).order_by().values("status").annotate(count=Count("id"))
    for row in rows:
        counts[row["status"]] = row["count"]
    return counts


def postmortem_detail(*, pk: int) -> Postmortem | None:
    """Return the post-mortem with what its page shows, or None."""
    return (
        Postmortem.objects.select_related(
            "incident__team", "incident__model", "template", "created_by", "updated_by", "published_by", "submitted_by"
        )
        .prefetch_related(
            Prefetch(
                "factors",
                queryset=ContributingFactor.objects.select_related("model_version__model", "deployment").order_by(
                    "position", "id"
                ),
            ),
            Prefetch("reviewers", queryset=PostmortemReviewer.objects.select_related("user").order_by("id")),
            Prefetch("reviews", queryset=PostmortemReview.objects.select_related("reviewer").order_by("created_at")),
        )
        .filter(pk=pk)
        .first()
    )


# Review state -------------------------------------------------------------------


def postmortem_current_approvals(*, postmortem: Postmortem) -> list[PostmortemReview]:
    """Return the approvals given to the current version of the current revision."""
    return [
        review
        for review in postmortem.reviews.all()
        if review.decision == ReviewDecision.APPROVE
        and review.revision == postmortem.revision
        and review.version == postmortem.version
    ]


def postmortem_stale_approvals(*, postmortem: Postmortem) -> list[PostmortemReview]:
    """Return approvals of this revision given to an earlier version (the text changed since)."""
    return [
        review
        for review in postmortem.reviews.all()
        if review.decision == ReviewDecision.APPROVE
        and review.revision == postmortem.revision
        and review.version != postmortem.version
    ]


# History ------------------------------------------------------------------------


def postmortem_versions(*, postmortem: Postmortem) -> QuerySet[PostmortemVersion]:
    """Return the post-mortem's versions, newest first, with their authors."""
    return postmortem.versions.select_related("author").order_by("-number")


def postmortem_authors(*, postmortem: Postmortem, up_to: int | None = None) -> list:
    """Return the people who saved versions of the post-mortem (up to a version), first contribution first."""
    versions = postmortem.versions.filter(author__isnull=False)
    if up_to is not None:
        versions = versions.filter(number__lte=up_to)
    ids = list(dict.fromkeys(versions.order_by("number").values_list("author_id", flat=True)))
    people = User.objects.in_bulk(ids)
    return [people[pk] for pk in ids if pk in people]


def postmortem_version(*, postmortem: Postmortem, number: int) -> PostmortemVersion | None:
    return postmortem.versions.select_related("author").filter(number=number).first()


def factor_snapshot(factors: Iterable[ContributingFactor]) -> list[dict]:
    """Return contributing factors as the plain dicts a version keeps."""
    return [
        {
            "id": factor.pk,
            "category": factor.category,
            "category_label": factor.get_category_display(),
            "description": factor.description,
            "model_version_id": factor.model_version_id,
            "model_version_label": str(factor.model_version) if factor.model_version_id else "",
            "deployment_id": factor.deployment_id,
            "deployment_label": str(factor.deployment) if factor.deployment_id else "",
        }
        for factor in factors
    ]


def postmortem_reader_copy(*, user, postmortem: Postmortem) -> dict | None:
    """Return the text the user reads, or None when there is nothing they may read yet.

    The team and the reviewers read the working copy; everyone else the newest
    published version. Keys: title, content, factors, version, published,
    working (which of the two it is) and lessons.
    """
    if user_sees_working_copy(user=user, postmortem=postmortem):
        copy = {
            "title": postmortem.title,
            "content": postmortem.content,
            "factors": factor_snapshot(postmortem.factors.all()),
            "version": postmortem.version,
            "published": postmortem.status == PostmortemStatus.PUBLISHED,
            "working": True,
        }
    else:
        version = postmortem_reader_version(postmortem=postmortem)
        if version is None:
            return None
        copy = {
            "title": version.title,
            "content": version.content,
            "factors": version.factors,
            "version": version.number,
            "published": True,
            "working": False,
        }
    copy["lessons"] = postmortem_lessons(postmortem=postmortem, content=copy["content"])
    return copy


def postmortem_reader_version(*, postmortem: Postmortem) -> PostmortemVersion | None:
    """Return the version readers outside the team see: the newest published one."""
    if postmortem.published_version is None:
        return None
    return postmortem_version(postmortem=postmortem, number=postmortem.published_version)


# Learnings ----------------------------------------------------------------------


def postmortem_lessons(*, postmortem: Postmortem, content: dict | None = None) -> list[str]:
    """Return the post-mortem's lessons learned: the items of its "lessons" sections."""
    content = postmortem.content if content is None else content
    lessons = []
    for section in postmortem.sections:
        if section["kind"] == SectionKind.LESSONS:
            lessons.extend(lessons_from_text(content.get(section["key"], "")))
    return lessons
