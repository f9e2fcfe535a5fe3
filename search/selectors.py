"""Search across learnings, post-mortems and incidents from one box.

PostgreSQL: full-text search over the stored vectors (GIN index); the newest
matches are ranked with ts_rank, snippets come from ts_headline. Other databases: every word must appear
(case-insensitive), ranked by where and how often the words appear, snippets
cut around the first match. Snippets are always escaped before highlighting.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from search.models import SearchEntry, SearchFacetName, SearchKind
from search.text import (
    START_MARK,
    STOP_MARK,
    clean_text,
    highlight,
    query_terms,
    render_headline,
    snippet,
)
from teams.selectors import user_team_ids

MAX_QUERY_LENGTH = 200
PER_PAGE = 20
MAX_PAGE = 10
# Without an index, rank at most this many of the newest matching entries.
FALLBACK_CANDIDATES = 1000
# With one, rank at most this many of the newest matches, looking back a quarter, then a
# year, then over everything until enough match: a query's cost follows how much was
# written lately, not the size of the archive. Every page a person can reach is inside.
RANK_WINDOW = 200
LOOK_BACK = (timedelta(days=91), timedelta(days=366), None)

URL_NAMES = {
    SearchKind.LEARNING: "postmortems:learning-detail",
    SearchKind.POSTMORTEM: "postmortems:detail",
    SearchKind.INCIDENT: "incidents:detail",
}


@dataclass(frozen=True)
class SearchFilters:
    kinds: tuple[str, ...] = ()
    team_id: int | None = None
    model_id: int | None = None
    category: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class SearchHit:
    kind: str
    object_id: int
    title: SafeString
    snippet: SafeString
    url: str
    reference: str
    team_name: str
    occurred_at: datetime
    score: float

    @property
    def kind_label(self) -> str:
        return SearchKind(self.kind).label


@dataclass(frozen=True)
class SearchPage:
    query: str
    page: int
    hits: list[SearchHit] = field(default_factory=list)
    has_next: bool = False

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def object_url(kind: str, object_id: int) -> str:
    """Return the page of a learning, post-mortem or incident; empty when that page does not exist here."""
    try:
        return reverse(URL_NAMES[kind], kwargs={"pk": object_id})
    except NoReverseMatch:
        return ""


def search_entries_visible_to(*, user) -> QuerySet[SearchEntry]:
    """Return the entries the user may find: everything open to all, and what is only for their teams.

    An entry's ``team_only`` is written when it is indexed; whether its incident is restricted is read
    now, so an incident restricted since then hides its entry and its post-mortem's at once, whatever
    the index holds.
    """
    entries = SearchEntry.objects.all()
    if user.is_staff:
        return entries
    open_to_all = Q(team_only=False) & ~Q(incident__restricted=True) & ~Q(postmortem__incident__restricted=True)
    return entries.filter(open_to_all | Q(team_id__in=user_team_ids(user=user)))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_entries(entries: QuerySet[SearchEntry], filters: SearchFilters) -> QuerySet[SearchEntry]:
    """Return the entries narrowed by kind, team, model, category, tag and date."""
    if filters.kinds:
        entries = entries.filter(kind__in=filters.kinds)
    if filters.team_id:
        entries = entries.filter(team_id=filters.team_id)
    for name, value in (
        (SearchFacetName.MODEL, filters.model_id),
        (SearchFacetName.CATEGORY, filters.category),
        (SearchFacetName.TAG, filters.tag),
    ):
        if value:
            entries = entries.filter(facets__name=name, facets__value=str(value))
    if filters.since:
        entries = entries.filter(occurred_at__gte=_start_of(filters.since))
    if filters.until:
        entries = entries.filter(occurred_at__lt=_start_of(filters.until + timedelta(days=1)))
    return entries


ROW_FIELDS = ("id", "kind", "title", "learning_id", "postmortem_id", "incident_id", "team__name", "occurred_at")


def _target_id(row: dict) -> int:
    return row["learning_id"] or row["postmortem_id"] or row["incident_id"]


def _reference(row: dict) -> str:
    if row["kind"] == SearchKind.INCIDENT:
        return f"INC-{row['incident_id']}"
    return ""


def _hit(row: dict, *, title: SafeString, snippet_html: SafeString, score: float) -> SearchHit:
    return SearchHit(
        kind=row["kind"],
        object_id=_target_id(row),
        title=title,
        snippet=snippet_html,
        url=object_url(row["kind"], _target_id(row)),
        reference=_reference(row),
        team_name=row["team__name"] or "",
        occurred_at=row["occurred_at"],
        score=score,
    )


def uses_full_text() -> bool:
    return connection.vendor == "postgresql"


def search(
    *, user, query: str, filters: SearchFilters | None = None, page: int = 1, per_page: int = PER_PAGE
) -> SearchPage:
    """Return one page of what the user may find for the query, best first.

    The query is free text (PostgreSQL reads it as a web search: quoted
    phrases, ``or``, ``-word``); callers check its length. On PostgreSQL the
    newest RANK_WINDOW matches are ranked (FALLBACK_CANDIDATES elsewhere), so a
    query costs about the same however much has been written. Asks the database
    two to four times on PostgreSQL (the newest matches, looking back further
    while too few match; then the ranked page with its headlines) and once elsewhere.
    """
    filters = filters or SearchFilters()
    page = max(1, min(page, MAX_PAGE))
    # Control characters (NUL among them) mean nothing to search and PostgreSQL refuses NUL.
    query = clean_text(query or "").strip()[:MAX_QUERY_LENGTH]
    if not query:
        return SearchPage(query=query, page=page)
    entries = filter_entries(search_entries_visible_to(user=user), filters)
    if uses_full_text():
        return _search_full_text(entries, query=query, page=page, per_page=per_page)
    return _search_words(entries, query=query, page=page, per_page=per_page)


def _newest_matches(entries: QuerySet[SearchEntry], search_query: SearchQuery) -> list[int]:
    """Return the ids of up to RANK_WINDOW matches, the newest first, looking back further until enough match."""
    now = timezone.now()
    for span in LOOK_BACK:
        matches = entries.filter(vector=search_query)
        if span is not None:
            matches = matches.filter(occurred_at__gte=now - span)
        # NULLS LAST (occurred_at is never null) keeps PostgreSQL from walking the recency index
        # and testing every row's vector: the GIN index finds the matches, then the newest are kept.
        ids = list(
            matches.order_by(F("occurred_at").desc(nulls_last=True), F("id").desc()).values_list("id", flat=True)[
                :RANK_WINDOW
            ]
        )
        if len(ids) == RANK_WINDOW:
            break
    return ids


def _search_full_text(entries: QuerySet[SearchEntry], *, query: str, page: int, per_page: int) -> SearchPage:
    config = settings.SEARCH_CONFIG
    search_query = SearchQuery(query, search_type="websearch", config=config)
    offset = (page - 1) * per_page
    window = _newest_matches(entries, search_query)
    marks = {"start_sel": START_MARK, "stop_sel": STOP_MARK, "config": config}
    # One array parameter rather than one per id; headlines are computed after the sort,
    # for the rows of the page only.
    rows = list(
        SearchEntry.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [window]))
        .annotate(
            rank=SearchRank(F("vector"), search_query),
            title_headline=SearchHeadline("title", search_query, highlight_all=True, **marks),
            body_headline=SearchHeadline(
                "body", search_query, max_words=35, min_words=15, max_fragments=2, fragment_delimiter=" … ", **marks
            ),
        )
        .order_by("-rank", "-occurred_at", "-id")
        .values(*ROW_FIELDS, "rank", "title_headline", "body_headline")[offset : offset + per_page + 1]
    )
    hits = [
        _hit(
            row,
            title=render_headline(row["title_headline"]),
            snippet_html=render_headline(row["body_headline"]),
            score=float(row["rank"]),
        )
        for row in rows[:per_page]
    ]
    return SearchPage(query=query, page=page, hits=hits, has_next=len(rows) > per_page)


def _score(terms: list[str], title: str, body: str, keywords: str) -> float:
    """Return how well the words match: in the title most, then the body, then the keywords."""
    title, body, keywords = title.lower(), body.lower(), keywords.lower()
    score = 0.0
    for term in terms:
        score += 3 * min(title.count(term), 3) + 0.5 * min(body.count(term), 10) + 0.25 * min(keywords.count(term), 4)
    phrase = " ".join(terms)
    if len(terms) > 1 and phrase in title:
        score += 5
    elif len(terms) > 1 and phrase in body:
        score += 2
    return score


def _search_words(entries: QuerySet[SearchEntry], *, query: str, page: int, per_page: int) -> SearchPage:
    terms = query_terms(query)
    if not terms:
        return SearchPage(query=query, page=page)
    for term in terms:
        entries = entries.filter(Q(title__icontains=term) | Q(body__icontains=term) | Q(keywords__icontains=term))
    candidates = list(
        entries.order_by("-occurred_at", "-id").values(*ROW_FIELDS, "body", "keywords")[:FALLBACK_CANDIDATES]
    )
    scored = sorted(
        ((_score(terms, row["title"], row["body"], row["keywords"]), row) for row in candidates),
        key=lambda pair: (-pair[0], -pair[1]["occurred_at"].timestamp(), -pair[1]["id"]),
    )
    offset = (page - 1) * per_page
    window = scored[offset : offset + per_page + 1]
    hits = [
        _hit(row, title=highlight(row["title"], terms), snippet_html=snippet(row["body"], terms), score=score)
        for score, row in window[:per_page]
    ]
    return SearchPage(query=query, page=page, hits=hits, has_next=len(window) > per_page)
