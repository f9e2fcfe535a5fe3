"""What one person's weekly digest says, read for many people at once.

``digest_build_many`` reads everything the digests of a set of recipients
need in a fixed number of queries, whatever the number of recipients, then
cuts each person's digest out of it in Python. Restricted incidents, their
post-mortems and action items are filtered per person with the
``*_visible_to_viewer`` functions, which state the same rules as the
visibility querysets of their apps; learnings from the archive are read
through ``search_entries_visible_to`` as someone in no team sees them, so a
pick shared by a team is never something only some of its members may read.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import (
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentDeployment,
    IncidentModelVersion,
    IncidentStatus,
    LinkRole,
    Severity,
)
from incidents.selectors.incidents import incident_visible_to_viewer
from postmortems.models import (
    UNRESOLVED_STATUSES,
    ActionItem,
    ContributingFactor,
    FactorCategory,
    Learning,
    Postmortem,
    PostmortemReview,
    PostmortemReviewer,
    PostmortemStatus,
    PostmortemVersion,
    SectionKind,
)
from postmortems.selectors.actions import action_item_visible_to_viewer
from postmortems.selectors.learnings import learning_from_the_archive
from postmortems.selectors.postmortems import postmortem_lessons, postmortem_visible_to_viewer
from search.models import SearchFacet, SearchFacetName, SearchKind
from search.related import CATEGORY_SCORE, MODEL_SCORE
from search.selectors import search_entries_visible_to
from search.text import plain_text
from teams.digest.models import DigestPreference, DigestSend
from teams.digest.schedule import DigestWindow, IsoWeek, team_digest_window
from teams.models import Membership, Team
from teams.selectors import Viewer, viewers_of

User = get_user_model()

# How much of each section one email shows; the rest is a link away.
LEARNED_LIMIT = 6
LESSONS_PER_POSTMORTEM = 3
NEEDS_LIMIT = 5
SUMMARY_CHARACTERS = 280
# A post-mortem is more instructive to someone whose teams met the same failure category lately.
SHARED_CATEGORY_DAYS = 180
SEVERITY_WEIGHT = {Severity.SEV1: 8, Severity.SEV2: 4, Severity.SEV3: 2, Severity.SEV4: 1}
# Learnings "from the archive" were written at least this long before the digest's week.
ARCHIVE_MIN_AGE = timedelta(days=7)
ARCHIVE_CANDIDATES = 500


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


# What a digest holds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnedPostmortem:
    """A post-mortem published in the week, as every digest that shows it tells it."""

    postmortem_id: int
    title: str
    url: str
    team_id: int
    team_name: str
    incident_reference: str
    severity: str
    severity_label: str
    restricted: bool
    model_label: str
    summary: str
    lessons: tuple[str, ...]
    categories: tuple[str, ...]
    category_labels: tuple[str, ...]
    published_at: datetime
    reviewer_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class LearnedItem:
    """A post-mortem in one person's digest: whether it is of a team they follow, and why it teaches them."""

    postmortem: LearnedPostmortem
    followed: bool
    shared_categories: tuple[str, ...]
    score: int


@dataclass(frozen=True)
class ActionLine:
    title: str
    url: str
    due_date: date
    days_late: int
    incident_reference: str
    team_name: str
    owner_name: str = ""


@dataclass(frozen=True)
class ReviewAsk:
    title: str
    url: str
    team_name: str
    waiting_days: int


@dataclass(frozen=True)
class MissingPostmortem:
    reference: str
    title: str
    url: str
    team_name: str
    severity: str
    days_since_resolved: int


@dataclass
class NeedsYou:
    reviews: list[ReviewAsk] = field(default_factory=list)
    overdue_actions: list[ActionLine] = field(default_factory=list)
    open_actions: list[ActionLine] = field(default_factory=list)
    team_overdue_actions: list[ActionLine] = field(default_factory=list)
    missing_postmortems: list[MissingPostmortem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (
            len(self.reviews)
            + len(self.overdue_actions)
            + len(self.open_actions)
            + len(self.team_overdue_actions)
            + len(self.missing_postmortems)
        )

    def trimmed(self) -> "NeedsYou":
        """Return the lists cut to NEEDS_LIMIT each; the counts before cutting stay in ``totals``."""
        return NeedsYou(
            reviews=self.reviews[:NEEDS_LIMIT],
            overdue_actions=self.overdue_actions[:NEEDS_LIMIT],
            open_actions=self.open_actions[:NEEDS_LIMIT],
            team_overdue_actions=self.team_overdue_actions[:NEEDS_LIMIT],
            missing_postmortems=self.missing_postmortems[:NEEDS_LIMIT],
        )


@dataclass(frozen=True)
class Comparison:
    """A figure of the week beside the same figure of the week before."""

    this_week: float | None
    last_week: float | None

    @property
    def change(self) -> float | None:
        if self.this_week is None or self.last_week is None:
            return None
        return self.this_week - self.last_week

    @property
    def trend(self) -> str:
        """Return "up", "down", "same" or "" (nothing to compare)."""
        change = self.change
        if change is None:
            return ""
        return "up" if change > 0 else "down" if change < 0 else "same"


@dataclass(frozen=True)
class SeverityRow:
    severity: str
    label: str
    opened: Comparison
    resolved: Comparison
    opened_bar: int  # percent of the widest bar of the team's table
    resolved_bar: int


@dataclass(frozen=True)
class TeamWeek:
    team_id: int
    name: str
    url: str
    rows: tuple[SeverityRow, ...]
    opened_total: Comparison
    resolved_total: Comparison
    restore_hours: Comparison  # median hours from start to mitigation (or resolution)
    restored_count: int
    change_failure_percent: Comparison
    deployments: int

    @property
    def is_quiet(self) -> bool:
        """Return whether nothing happened in either week: no incident, no deployment."""
        return not (
            self.opened_total.this_week
            or self.opened_total.last_week
            or self.resolved_total.this_week
            or self.resolved_total.last_week
            or self.deployments
            or self.change_failure_percent.last_week is not None
        )


@dataclass(frozen=True)
class ArchiveLearning:
    learning_id: int
    title: str
    url: str
    team_name: str
    created_at: datetime
    excerpt: str
    reason: str


@dataclass
class Digest:
    """One person's digest of one week."""

    recipient: object
    week: IsoWeek
    window: DigestWindow
    team: Team | None
    enabled: bool
    learned: list[LearnedItem]
    learned_total: int
    needs: NeedsYou
    needs_totals: NeedsYou
    teams_week: list[TeamWeek]
    archive: ArchiveLearning | None

    @property
    def is_empty(self) -> bool:
        """Return whether there is nothing to say: no post-mortem, nothing waiting, no team activity.

        A learning from the archive alone is not worth an email.
        """
        return not self.learned and not self.needs.count and not self.teams_week

    @property
    def recipient_name(self) -> str:
        user = self.recipient
        return user.first_name or user.get_full_name() or user.username


# Reading ----------------------------------------------------------------------------------------


@dataclass
class _Recipient:
    user: object
    viewer: Viewer
    enabled: bool
    followed_team_ids: set[int]
    home_team: Team | None
    window: DigestWindow


def digest_home_teams(*, users: Iterable) -> dict[int, Team | None]:
    """Return each user's home team, whose schedule their digest follows.

    It is the team they joined first; for someone in no team, the first team
    they follow (by name); None when neither. Two queries.
    """
    ids = [user.pk for user in users]
    homes: dict[int, Team | None] = dict.fromkeys(ids)
    memberships = Membership.objects.filter(user_id__in=ids).select_related("team").order_by("joined_at", "id")
    for membership in memberships:
        if homes[membership.user_id] is None:
            homes[membership.user_id] = membership.team
    orphans = [pk for pk, team in homes.items() if team is None]
    if orphans:
        follows = (
            DigestPreference.followed_teams.through.objects.filter(digestpreference__user_id__in=orphans)
            .select_related("team")
            .order_by("team__name", "team_id")
            .values_list("digestpreference__user_id", "team_id")
        )
        teams = {}
        for user_id, team_id in follows:
            teams.setdefault(user_id, team_id)
        by_id = Team.objects.in_bulk(set(teams.values()))
        for user_id, team_id in teams.items():
            homes[user_id] = by_id.get(team_id)
    return homes


def digest_recipients(*, team_ids: Iterable[int] | None = None, usernames: Iterable[str] = ()) -> list:
    """Return the people who may get a digest: active, with an email, in a team or following one.

    Narrowed to the members of ``team_ids`` and to ``usernames`` (or emails) when given.
    Unsubscribed people are included: callers count them as skipped.
    """
    followed = DigestPreference.followed_teams.through.objects.values("digestpreference__user_id")
    users = User.objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(pk__in=Membership.objects.values("user_id")) | Q(pk__in=followed))
    if team_ids is not None:
        users = users.filter(memberships__team_id__in=list(team_ids))
    names = [name.strip() for name in usernames if name.strip()]
    if names:
        users = users.filter(Q(username__in=names) | Q(email__in=names))
    return list(users.distinct().order_by("id"))


def digest_recipients_due(*, team: Team, week: IsoWeek) -> list[int]:
    """Return ids of the people whose digest follows the team's schedule and was not sent for the week.

    Those who turned the digest off and those already claimed (sent, being
    sent, or failed and left to their own retries) are left out.
    """
    members = digest_recipients(team_ids=[team.pk])
    followers = list(
        User.objects.filter(is_active=True, digest_preference__followed_teams=team)
        .exclude(email="")
        .exclude(memberships__isnull=False)
    )
    people = {user.pk: user for user in [*members, *followers]}
    homes = digest_home_teams(users=people.values())
    ids = [pk for pk, home in homes.items() if home is not None and home.pk == team.pk]
    off = set(DigestPreference.objects.filter(user_id__in=ids, enabled=False).values_list("user_id", flat=True))
    claimed = set(
        DigestSend.objects.filter(week=str(week), recipient_id__in=ids).values_list("recipient_id", flat=True)
    )
    return sorted(pk for pk in ids if pk not in off and pk not in claimed)


def digest_build(*, user, week: IsoWeek | None = None, now: datetime | None = None) -> Digest:
    """Return the user's digest of the week (by default the week of their home team's clock now)."""
    return digest_build_many(users=[user], week=week, now=now)[user.pk]


def digest_build_many(*, users: Iterable, week: IsoWeek | None = None, now: datetime | None = None) -> dict:
    """Return each user's digest of the week, by user id, in a number of queries independent of the users.

    Each digest covers the seven days before the week's scheduled moment of the
    person's home team (before ``now`` when that moment is still to come). With
    no ``week``, the seven days before ``now``, keyed by each person's current
    week on their home team's clock: the digest as it would be sent now.
    """
    now = now or timezone.now()
    users = list(users)
    if not users:
        return {}
    recipients = _recipients(users=users, week=week, now=now)
    return _Reader(recipients=recipients, now=now).digests()


def _recipients(*, users: list, week: IsoWeek | None, now: datetime) -> list[_Recipient]:
    ids = [user.pk for user in users]
    viewers = viewers_of(users=users)
    homes = digest_home_teams(users=users)
    preferences = {pref.user_id: pref for pref in DigestPreference.objects.filter(user_id__in=ids)}
    followed: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in DigestPreference.followed_teams.through.objects.filter(
        digestpreference__user_id__in=ids
    ).values_list("digestpreference__user_id", "team_id"):
        followed[user_id].add(team_id)
    recipients = []
    utc_team = Team(name="", slug="", timezone="UTC")
    for user in users:
        home = homes.get(user.pk)
        schedule = home or utc_team
        preference = preferences.get(user.pk)
        recipients.append(
            _Recipient(
                user=user,
                viewer=viewers[user.pk],
                enabled=preference.enabled if preference else True,
                followed_team_ids=followed[user.pk],
                home_team=home,
                window=team_digest_window(team=schedule, week=week, now=now),
            )
        )
    return recipients


class _Reader:
    """Reads once for all recipients, then cuts out each one's digest."""

    def __init__(self, *, recipients: list[_Recipient], now: datetime):
        self.recipients = recipients
        self.now = now
        self.earliest = min(r.window.previous_start for r in recipients)
        self.week_start = min(r.window.start for r in recipients)
        self.latest = max(r.window.end for r in recipients)
        self.user_ids = [r.user.pk for r in recipients]
        self.own_team_ids = set().union(*(r.viewer.team_ids for r in recipients))
        self.lead_team_ids = set().union(*(r.viewer.lead_team_ids for r in recipients))
        self.team_names, self.team_slugs = {}, {}
        for team_id, name, slug in Team.objects.filter(pk__in=self.own_team_ids).values_list("id", "name", "slug"):
            self.team_names[team_id], self.team_slugs[team_id] = name, slug

    def digests(self) -> dict:
        published = self._published()
        self._learned_memo: dict = {}
        self._reviewing: dict[int, set[int]] = defaultdict(set)
        for postmortem in published:
            for user_id in postmortem.reviewer_ids:
                self._reviewing[user_id].add(postmortem.postmortem_id)
        shared = self._team_categories()
        # Grouped by person or team, so cutting out each digest reads only its own rows.
        reviews = _by(self._reviews(), key=lambda pair: pair[0], value=lambda pair: pair[1])
        owned = _by(self._owned_actions(), key=lambda item: item.owner_id)
        team_overdue = _by(self._team_overdue_actions(), key=lambda item: item.team_id)
        missing = _by(self._missing_postmortems(), key=lambda incident: incident.team_id)
        incidents = self._team_incidents()
        deployments = self._team_deployments()
        archive = _ArchivePicker(
            before=self.week_start - ARCHIVE_MIN_AGE,
            today=self.latest.date(),
            signals=self._archive_signals(published, incidents),
        )
        digests = {}
        for recipient in self.recipients:
            learned = self._learned_for(recipient, published, shared)
            needs = self._needs_for(recipient, reviews, owned, team_overdue, missing)
            teams_week = [
                week
                for team_id in sorted(recipient.viewer.team_ids, key=lambda pk: self.team_names.get(pk, ""))
                if not (week := self._team_week(team_id, recipient.window, incidents, deployments)).is_quiet
            ]
            digests[recipient.user.pk] = Digest(
                recipient=recipient.user,
                week=recipient.window.week,
                window=recipient.window,
                team=recipient.home_team,
                enabled=recipient.enabled,
                learned=learned[:LEARNED_LIMIT],
                learned_total=len(learned),
                needs=needs.trimmed(),
                needs_totals=needs,
                teams_week=teams_week,
                archive=archive.pick(recipient, learned),
            )
        return digests

    # What we learned --------------------------------------------------------------------------

    def _published(self) -> list[LearnedPostmortem]:
        postmortems = list(
            Postmortem.objects.filter(
                published_version__isnull=False, published_at__gte=self.week_start, published_at__lt=self.latest
            )
            .select_related("incident__team", "incident__model")
            .only(
                "id", "sections", "status", "published_at", "published_version", "title",
                "incident__id", "incident__title", "incident__severity", "incident__restricted",
                "incident__team__id", "incident__team__name", "incident__model__name",
            )
            .order_by("-published_at", "-id")
        )  # fmt: skip
        if not postmortems:
            return []
        versions = self._published_versions(postmortems)
        current_factors: dict[int, list[str]] = defaultdict(list)
        for postmortem_id, category in (
            ContributingFactor.objects.filter(postmortem_id__in=[p.pk for p in postmortems])
            .order_by("postmortem_id", "position", "id")
            .values_list("postmortem_id", "category")
        ):
            current_factors[postmortem_id].append(category)
        model_versions = self._model_versions(incident_ids=[p.incident_id for p in postmortems])
        restricted_ids = [p.pk for p in postmortems if p.incident.restricted]
        reviewers: dict[int, set[int]] = defaultdict(set)
        if restricted_ids:
            for postmortem_id, user_id in PostmortemReviewer.objects.filter(
                postmortem_id__in=restricted_ids
            ).values_list("postmortem_id", "user_id"):
                reviewers[postmortem_id].add(user_id)
        learned = []
        for postmortem in postmortems:
            version = versions.get(postmortem.pk)
            if version is None:
                continue
            incident = postmortem.incident
            # A published post-mortem's factors are its rows; a reopened one's, the published version's copy.
            if postmortem.status == PostmortemStatus.PUBLISHED:
                found = current_factors.get(postmortem.pk, [])
            else:
                found = [factor.get("category", "") for factor in version.factors or ()]
            categories = tuple(c for c in dict.fromkeys(found) if c in FactorCategory.values)
            model_label = model_versions.get(incident.pk) or (incident.model.name if incident.model_id else "")
            learned.append(
                LearnedPostmortem(
                    postmortem_id=postmortem.pk,
                    title=version.title or postmortem.title,
                    url=_absolute(postmortem.get_absolute_url()),
                    team_id=incident.team_id,
                    team_name=incident.team.name,
                    incident_reference=incident.reference,
                    severity=incident.severity,
                    severity_label=Severity(incident.severity).label,
                    restricted=incident.restricted,
                    model_label=model_label,
                    summary=_summary(postmortem.sections, version.content),
                    lessons=tuple(
                        _shorten(plain_text(lesson), 240)
                        for lesson in postmortem_lessons(postmortem=postmortem, content=version.content)
                    )[:LESSONS_PER_POSTMORTEM],
                    categories=categories,
                    category_labels=tuple(FactorCategory(c).label for c in categories),
                    published_at=postmortem.published_at,
                    reviewer_ids=frozenset(reviewers.get(postmortem.pk, ())),
                )
            )
        return learned

    def _published_versions(self, postmortems: list[Postmortem]) -> dict[int, PostmortemVersion]:
        versions = PostmortemVersion.objects.filter(
            postmortem_id__in=[postmortem.pk for postmortem in postmortems], number=F("postmortem__published_version")
        ).only("postmortem_id", "title", "content", "factors")
        return {version.postmortem_id: version for version in versions}

    def _model_versions(self, *, incident_ids: list[int]) -> dict[int, str]:
        """Return, per incident, the model version it is linked to (cause before suspect before related)."""
        rank = {LinkRole.CAUSE: 0, LinkRole.SUSPECT: 1, LinkRole.RELATED: 2}
        best: dict[int, tuple[int, str]] = {}
        links = IncidentModelVersion.objects.filter(incident_id__in=incident_ids).select_related("model_version__model")
        for link in links:
            candidate = (rank.get(link.role, 3), str(link.model_version))
            if link.incident_id not in best or candidate < best[link.incident_id]:
                best[link.incident_id] = candidate
        return {incident_id: label for incident_id, (_, label) in best.items()}

    def _team_categories(self) -> dict[int, set[str]]:
        """Return the failure categories each recipient's team met in its recent post-mortems."""
        since = self.latest - timedelta(days=SHARED_CATEGORY_DAYS)
        rows = (
            ContributingFactor.objects.filter(
                postmortem__incident__team_id__in=self.own_team_ids, postmortem__updated_at__gte=since
            )
            .values_list("postmortem__incident__team_id", "category")
            .distinct()
        )
        categories: dict[int, set[str]] = defaultdict(set)
        for team_id, category in rows:
            categories[team_id].add(category)
        return categories

    def _learned_for(
        self, recipient: _Recipient, published: list[LearnedPostmortem], shared: dict[int, set[str]]
    ) -> list[LearnedItem]:
        """Return the post-mortems the recipient may read, followed teams first, then the most instructive.

        People who see the same things (same teams, follows, window, staff or
        not, restricted post-mortems they review) get the same list: it is
        computed once for them all.
        """
        viewer = recipient.viewer
        reviewing = frozenset(self._reviewing.get(viewer.user_id, ()))
        key = (
            viewer.team_ids, viewer.is_staff, frozenset(recipient.followed_team_ids), reviewing,
            recipient.window.start, recipient.window.end,
        )  # fmt: skip
        if key not in self._learned_memo:
            self._learned_memo[key] = self._learned_list(recipient, published, shared)
        return self._learned_memo[key]

    def _learned_list(self, recipient, published, shared) -> list[LearnedItem]:
        window = recipient.window
        viewer = recipient.viewer
        own_categories = set().union(*(shared.get(team_id, set()) for team_id in viewer.team_ids))
        followed = viewer.team_ids | recipient.followed_team_ids
        items = []
        for postmortem in published:
            if not window.start <= postmortem.published_at < window.end:
                continue
            if not postmortem_visible_to_viewer(
                viewer=viewer,
                published=True,
                restricted=postmortem.restricted,
                team_id=postmortem.team_id,
                reviewer_ids=postmortem.reviewer_ids,
            ):
                continue
            common = ()
            if postmortem.team_id not in viewer.team_ids:
                common = tuple(
                    label
                    for category, label in zip(postmortem.categories, postmortem.category_labels, strict=True)
                    if category in own_categories
                )
            score = SEVERITY_WEIGHT.get(postmortem.severity, 1) + 3 * len(common) + len(postmortem.lessons)
            items.append(
                LearnedItem(
                    postmortem=postmortem,
                    followed=postmortem.team_id in followed,
                    shared_categories=common,
                    score=score,
                )
            )
        items.sort(key=lambda item: (not item.followed, -item.score, -item.postmortem.published_at.timestamp()))
        return items

    # What needs you ---------------------------------------------------------------------------

    def _reviews(self) -> list[tuple[int, ReviewAsk]]:
        already = PostmortemReview.objects.filter(
            postmortem_id=OuterRef("postmortem_id"),
            reviewer_id=OuterRef("user_id"),
            revision=OuterRef("postmortem__revision"),
            version=OuterRef("postmortem__version"),
        )
        rows = (
            PostmortemReviewer.objects.filter(user_id__in=self.user_ids, postmortem__status=PostmortemStatus.IN_REVIEW)
            .exclude(Exists(already))
            .select_related("postmortem__incident__team")
            .only(
                "user_id", "postmortem__id", "postmortem__title", "postmortem__submitted_at",
                "postmortem__incident__team__name",
            )
            .order_by("postmortem__submitted_at", "postmortem_id")
        )  # fmt: skip
        asks = []
        for row in rows:
            postmortem = row.postmortem
            submitted = postmortem.submitted_at or self.now
            asks.append(
                (
                    row.user_id,
                    ReviewAsk(
                        title=postmortem.title,
                        url=_absolute(postmortem.get_absolute_url()),
                        team_name=postmortem.incident.team.name,
                        waiting_days=max((self.now - submitted).days, 0),
                    ),
                )
            )
        return asks

    def _owned_actions(self) -> list[ActionItem]:
        return list(
            ActionItem.objects.filter(owner_id__in=self.user_ids, status__in=UNRESOLVED_STATUSES)
            .select_related("incident", "team")
            .only(
                "id", "title", "due_date", "owner_id", "team_id", "team__name",
                "incident__id", "incident__restricted",
            )
            .order_by("due_date", "id")
        )  # fmt: skip

    def _team_overdue_actions(self) -> list[ActionItem]:
        if not self.lead_team_ids:
            return []
        return list(
            ActionItem.objects.filter(
                team_id__in=self.lead_team_ids, status__in=UNRESOLVED_STATUSES, due_date__lt=self.latest.date()
            )
            .select_related("incident", "team", "owner")
            .only(
                "id", "title", "due_date", "owner_id", "team_id", "team__name", "incident__id",
                "incident__restricted", "owner__first_name", "owner__last_name", "owner__username",
            )
            .order_by("due_date", "id")
        )  # fmt: skip

    def _missing_postmortems(self) -> list[Incident]:
        if not self.lead_team_ids:
            return []
        return list(
            Incident.objects.filter(
                team_id__in=self.lead_team_ids,
                status=IncidentStatus.RESOLVED,
                postmortem__isnull=True,
                postmortem_not_needed__isnull=True,
            )
            .select_related("team")
            .only("id", "title", "severity", "restricted", "resolved_at", "team_id", "team__name")
            .order_by("resolved_at", "id")
        )

    def _action_line(self, item: ActionItem, today: date, *, with_owner: bool = False) -> ActionLine:
        owner = ""
        if with_owner:
            owner = item.owner.get_full_name() or item.owner.username
        return ActionLine(
            title=item.title,
            url=_absolute(item.get_absolute_url()),
            due_date=item.due_date,
            days_late=max((today - item.due_date).days, 0),
            incident_reference=item.incident.reference,
            team_name=item.team.name,
            owner_name=owner,
        )

    def _needs_for(self, recipient, reviews, owned, team_overdue, missing) -> NeedsYou:
        """Return what waits for the recipient; the lists are grouped by person or team (see ``_by``)."""
        viewer = recipient.viewer
        today = recipient.window.local_today
        needs = NeedsYou(reviews=list(reviews.get(viewer.user_id, ())))
        for item in owned.get(viewer.user_id, ()):
            if item.due_date < today:
                needs.overdue_actions.append(self._action_line(item, today))
            else:
                needs.open_actions.append(self._action_line(item, today))
        lead_items = sorted(
            (item for team_id in viewer.lead_team_ids for item in team_overdue.get(team_id, ())),
            key=lambda item: (item.due_date, item.pk),
        )
        for item in lead_items:
            if item.owner_id == viewer.user_id or item.due_date >= today:
                continue
            if action_item_visible_to_viewer(
                viewer=viewer, restricted=item.incident.restricted, team_id=item.team_id, owner_id=item.owner_id
            ):
                needs.team_overdue_actions.append(self._action_line(item, today, with_owner=True))
        lead_incidents = sorted(
            (incident for team_id in viewer.lead_team_ids for incident in missing.get(team_id, ())),
            key=lambda incident: (incident.resolved_at or self.now, incident.pk),
        )
        for incident in lead_incidents:
            if incident_visible_to_viewer(viewer=viewer, restricted=incident.restricted, team_id=incident.team_id):
                resolved = incident.resolved_at or self.now
                needs.missing_postmortems.append(
                    MissingPostmortem(
                        reference=incident.reference,
                        title=incident.title,
                        url=_absolute(incident.get_absolute_url()),
                        team_name=incident.team.name,
                        severity=incident.severity,
                        days_since_resolved=max((recipient.window.end - resolved).days, 0),
                    )
                )
        return needs

    # Your teams' week -------------------------------------------------------------------------

    def _team_incidents(self) -> dict[int, list[dict]]:
        """Return the incidents of the recipients' teams opened or restored in the two weeks, drills left out."""
        rows = (
            Incident.objects.excluding_drills()
            .filter(team_id__in=self.own_team_ids)
            .filter(
                Q(detected_at__gte=self.earliest, detected_at__lt=self.latest)
                | Q(resolved_at__gte=self.earliest, resolved_at__lt=self.latest)
                | Q(mitigated_at__gte=self.earliest, mitigated_at__lt=self.latest)
            )
            .values(
                "team_id", "severity", "model_id", "model__name", "started_at", "detected_at", "mitigated_at",
                "resolved_at",
            )
        )  # fmt: skip
        by_team: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            by_team[row["team_id"]].append(row)
        return by_team

    def _team_deployments(self) -> dict[int, list[tuple[datetime, bool]]]:
        """Return the finished deployments of the recipients' teams in the two weeks: (when, a change failure)."""
        cause = IncidentDeployment.objects.filter(deployment_id=OuterRef("pk"), role=LinkRole.CAUSE)
        rows = (
            Deployment.objects.filter(
                team_id__in=self.own_team_ids,
                status__in=[DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED],
                finished_at__gte=self.earliest,
                finished_at__lt=self.latest,
            )
            .annotate(caused_incident=Exists(cause))
            .values_list("team_id", "finished_at", "status", "caused_incident")
        )
        by_team: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
        for team_id, finished_at, status, caused in rows:
            by_team[team_id].append((finished_at, status == DeploymentStatus.FAILED or caused))
        return by_team

    def _team_week(self, team_id: int, window: DigestWindow, incidents, deployments) -> TeamWeek:
        def this_or_last(moment: datetime | None) -> int | None:
            if moment is None or not window.previous_start <= moment < window.end:
                return None
            return 0 if moment >= window.start else 1

        opened = [[0, 0] for _ in Severity]
        resolved = [[0, 0] for _ in Severity]
        restore: list[list[float]] = [[], []]
        order = {severity: index for index, severity in enumerate(Severity.values)}
        for row in incidents.get(team_id, ()):
            index = order[row["severity"]]
            if (which := this_or_last(row["detected_at"])) is not None:
                opened[index][which] += 1
            if (which := this_or_last(row["resolved_at"])) is not None:
                resolved[index][which] += 1
            restored_at = row["mitigated_at"] or row["resolved_at"]
            if (which := this_or_last(restored_at)) is not None:
                restore[which].append(max((restored_at - row["started_at"]).total_seconds(), 0) / 3600)
        failures = [[0, 0], [0, 0]]  # [failed, all] this week and last
        for finished_at, failed in deployments.get(team_id, ()):
            if (which := this_or_last(finished_at)) is not None:
                failures[which][1] += 1
                failures[which][0] += int(failed)
        widest = max([1, *(count for pair in opened + resolved for count in pair)])
        rows = tuple(
            SeverityRow(
                severity=severity.value,
                label=severity.label,
                opened=Comparison(opened[index][0], opened[index][1]),
                resolved=Comparison(resolved[index][0], resolved[index][1]),
                opened_bar=round(100 * opened[index][0] / widest),
                resolved_bar=round(100 * resolved[index][0] / widest),
            )
            for index, severity in enumerate(Severity)
        )

        def median(values: list[float]) -> float | None:
            return round(statistics.median(values), 1) if values else None

        def rate(pair: list[int]) -> float | None:
            return round(100 * pair[0] / pair[1]) if pair[1] else None

        return TeamWeek(
            team_id=team_id,
            name=self.team_names.get(team_id, ""),
            url=_absolute(reverse("teams:detail", kwargs={"slug": self.team_slugs.get(team_id, "")})),
            rows=rows,
            opened_total=Comparison(sum(p[0] for p in opened), sum(p[1] for p in opened)),
            resolved_total=Comparison(sum(p[0] for p in resolved), sum(p[1] for p in resolved)),
            restore_hours=Comparison(median(restore[0]), median(restore[1])),
            restored_count=len(restore[0]),
            change_failure_percent=Comparison(rate(failures[0]), rate(failures[1])),
            deployments=failures[0][1],
        )

    # From the archive -------------------------------------------------------------------------

    def _archive_signals(self, published: list[LearnedPostmortem], incidents) -> dict[int, set[tuple[str, str]]]:
        """Return, per team, the facets of what happened to it in the week: its models and failure categories."""
        signals: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for team_id, rows in incidents.items():
            for row in rows:
                if row["model_id"] and row["detected_at"] >= self.week_start:
                    signals[team_id].add((SearchFacetName.MODEL, str(row["model_id"])))
        for postmortem in published:
            for category in postmortem.categories:
                signals[postmortem.team_id].add((SearchFacetName.CATEGORY, category))
        return signals


def _by(rows, *, key, value=lambda row: row) -> dict:
    """Return the rows grouped by ``key``, each group in the rows' order."""
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key(row)].append(value(row))
    return groups


class _ArchivePicker:
    """Picks, per person, one older learning that shares a model or failure category with their week."""

    def __init__(self, *, before: datetime, today: date, signals: dict[int, set[tuple[str, str]]]):
        self.signals = signals
        self.today = today
        wanted = set().union(*signals.values()) if signals else set()
        self.learnings_by_facet: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._picks: dict[frozenset, ArchiveLearning | None] = {}
        self.entries: dict[int, tuple[int, datetime]] = {}
        if wanted:
            # Entries anyone may find: the search index's answer for someone in no team.
            open_to_all = search_entries_visible_to(user=AnonymousUser()).filter(
                kind=SearchKind.LEARNING, occurred_at__lt=before
            )
            condition = Q()
            for name in (SearchFacetName.MODEL, SearchFacetName.CATEGORY):
                values = sorted(value for facet_name, value in wanted if facet_name == name)
                if values:
                    condition |= Q(name=name, value__in=values)
            rows = (
                SearchFacet.objects.filter(condition, entry__in=open_to_all)
                .order_by("-entry__occurred_at", "entry_id")
                .values_list("entry_id", "entry__learning_id", "entry__occurred_at", "name", "value")[
                    :ARCHIVE_CANDIDATES
                ]
            )
            for entry_id, learning_id, occurred_at, name, value in rows:
                self.learnings_by_facet[(name, value)].add(learning_id)
                self.entries[learning_id] = (entry_id, occurred_at)
        self._learnings: dict[int, Learning] | None = None
        self._anniversary = None
        self._anniversary_read = False

    def _learning(self, pk: int) -> Learning | None:
        if self._learnings is None:
            self._learnings = Learning.objects.select_related("team").in_bulk(list(self.entries))
        return self._learnings.get(pk)

    def pick(self, recipient: _Recipient, learned: list[LearnedItem]) -> ArchiveLearning | None:
        """Return the learning sharing most with the recipient's week (models count more than categories).

        Ties go to the newest; with no match, the learning of about a year (or a
        month) ago. People whose weeks look alike get the same pick, found once.
        """
        mine = set().union(*(self.signals.get(team_id, set()) for team_id in recipient.viewer.team_ids))
        for item in learned:
            mine.update((SearchFacetName.CATEGORY, category) for category in item.postmortem.categories)
        key = frozenset(mine)
        if key not in self._picks:
            self._picks[key] = self._best(key)
        return self._picks[key]

    def _best(self, mine: frozenset[tuple[str, str]]) -> ArchiveLearning | None:
        scores: dict[int, float] = defaultdict(float)
        shared: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for facet in mine:
            weight = MODEL_SCORE if facet[0] == SearchFacetName.MODEL else CATEGORY_SCORE
            for learning_id in self.learnings_by_facet.get(facet, ()):
                scores[learning_id] += weight
                shared[learning_id].add(facet)
        if scores:
            best = max(scores, key=lambda pk: (scores[pk], self.entries[pk][1], pk))
            learning = self._learning(best)
            if learning is not None:
                return self._archive(learning, reason=_reason(shared[best], learning))
        return self._anniversary_pick()

    def _anniversary_pick(self) -> ArchiveLearning | None:
        if not self._anniversary_read:
            pick = learning_from_the_archive(today=self.today)
            self._anniversary = self._archive(pick.learning, reason=pick.label) if pick else None
            self._anniversary_read = True
        return self._anniversary

    def _archive(self, learning: Learning, *, reason: str) -> ArchiveLearning:
        return ArchiveLearning(
            learning_id=learning.pk,
            title=learning.title,
            url=_absolute(learning.get_absolute_url()),
            team_name=learning.team.name if learning.team_id else "",
            created_at=learning.created_at,
            excerpt=_shorten(plain_text(learning.body), SUMMARY_CHARACTERS),
            reason=reason,
        )


def _reason(shared: set[tuple[str, str]], learning: Learning) -> str:
    categories = sorted(FactorCategory(value).label for name, value in shared if name == SearchFacetName.CATEGORY)
    if any(name == SearchFacetName.MODEL for name, _ in shared):
        return "The same model as an incident of your week"
    return f"The same failure category as your week: {', '.join(categories)}"


def _summary(sections: list[dict], content: dict) -> str:
    """Return the post-mortem's summary: its "summary" section, else its first text section, shortened."""
    texts = [
        (section.get("key"), content.get(section.get("key")))
        for section in sections
        if section.get("kind", SectionKind.MARKDOWN) == SectionKind.MARKDOWN
    ]
    texts = [(key, text) for key, text in texts if isinstance(text, str) and text.strip()]
    if not texts:
        return ""
    chosen = next((text for key, text in texts if key == "summary"), texts[0][1])
    return _shorten(plain_text(chosen), SUMMARY_CHARACTERS)


def digest_send_status(*, user_id: int, week: IsoWeek) -> str | None:
    """Return the status of the user's digest of the week, or None when it was never claimed."""
    return DigestSend.objects.filter(recipient_id=user_id, week=str(week)).values_list("status", flat=True).first()


__all__ = [
    "ActionLine",
    "ArchiveLearning",
    "Digest",
    "LearnedItem",
    "NeedsYou",
    "TeamWeek",
    "digest_build",
    "digest_build_many",
    "digest_home_teams",
    "digest_preference_for",
    "digest_recipients",
    "digest_recipients_due",
    "digest_send_status",
    "digest_sends_of",
]


@dataclass(frozen=True)
class PreferenceView:
    enabled: bool
    followed_team_ids: frozenset[int]
    unsubscribed_at: datetime | None


def digest_preference_for(*, user) -> PreferenceView:
    """Return the user's digest preferences (on, following no other team, when never changed)."""
    preference = DigestPreference.objects.filter(user=user).first()
    if preference is None:
        return PreferenceView(enabled=True, followed_team_ids=frozenset(), unsubscribed_at=None)
    return PreferenceView(
        enabled=preference.enabled,
        followed_team_ids=frozenset(preference.followed_teams.values_list("id", flat=True)),
        unsubscribed_at=preference.unsubscribed_at,
    )


def digest_sends_of(*, user, limit: int = 5) -> list[DigestSend]:
    """Return the user's latest digest claims (sent, failed or being sent), newest week first."""
    return list(DigestSend.objects.filter(recipient=user).order_by("-week", "-id")[:limit])
