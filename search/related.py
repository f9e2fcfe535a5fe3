"""Related learnings and past incidents: "this happened before".

Three signals, each a reason shown to people: the same model, the same failure
categories (from contributing factors), and similar words in the title. They
are read from the search index, so an incident and a learning meet on the
same facets whatever they were written from.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q

from incidents.models import Incident, RegisteredModel
from postmortems.models import ContributingFactor, FactorCategory, Learning, Postmortem
from search.models import SearchEntry, SearchFacet, SearchFacetName, SearchKind
from search.selectors import ROW_FIELDS, object_url, search_entries_visible_to, uses_full_text

MODEL_SCORE = 3.0
CATEGORY_SCORE = 2.0
TEXT_SCORE = 1.5
CANDIDATES_PER_SIGNAL = 200
TEXT_CANDIDATES = 20
# Similar words are looked for among this many of the newest entries that have them.
TEXT_WINDOW = 200
_WORD = re.compile(r"[a-z0-9]{4,}")
STOP_WORDS = frozenset(
    {
        "after", "again", "also", "before", "being", "between", "both", "could", "does", "during", "each", "from",
        "have", "into", "more", "most", "only", "other", "over", "same", "some", "such", "than", "that", "their",
        "them", "then", "there", "these", "they", "this", "those", "through", "under", "very", "were", "what", "when",
        "where", "which", "while", "with", "would", "your", "failed", "failure", "incident",
    }
)  # fmt: skip


@dataclass
class RelatedItem:
    kind: str
    object_id: int
    title: str
    url: str
    reference: str
    team_name: str
    occurred_at: datetime
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Related:
    learnings: list[RelatedItem]
    incidents: list[RelatedItem]
    own_learnings: list[Learning]

    @property
    def is_empty(self) -> bool:
        return not (self.learnings or self.incidents or self.own_learnings)


def significant_words(text: str, limit: int = 6) -> list[str]:
    """Return up to ``limit`` distinct longer words of the text that say what it is about."""
    words = []
    for word in _WORD.findall((text or "").lower()):
        if word not in STOP_WORDS and word not in words:
            words.append(word)
    return sorted(words, key=len, reverse=True)[:limit]


def _text_matches(entries, words: list[str]) -> dict[int, float]:
    if not words:
        return {}
    if uses_full_text():
        # Words of the title and body (weights A and B), not keywords: categories and models count apart.
        query = SearchQuery(
            " | ".join(f"{word}:AB" for word in words), search_type="raw", config=settings.SEARCH_CONFIG
        )
        # Rank only the newest matches: common words match much of the index, and ranking every match
        # grew with history (282 ms at 100k incidents against 1 ms at 1k). Ordered by time alone,
        # PostgreSQL walks the recency index when the words are common and reads the GIN index when
        # they are rare: a bounded number of rows either way.
        newest = entries.filter(vector=query).order_by("-occurred_at", "-id").values("id")[:TEXT_WINDOW]
        rows = (
            SearchEntry.objects.filter(pk__in=newest)
            .annotate(rank=SearchRank(F("vector"), query))
            .order_by("-rank", "-occurred_at")
            .values_list("id", "rank")[:TEXT_CANDIDATES]
        )
        return {pk: float(rank) for pk, rank in rows}
    condition = Q()
    for word in words:
        condition |= Q(title__icontains=word) | Q(body__icontains=word)
    return dict.fromkeys(
        entries.filter(condition).order_by("-occurred_at").values_list("id", flat=True)[:TEXT_CANDIDATES], 0.0
    )


def _related(
    *,
    user,
    model_ids: set[int],
    categories: set[str],
    text: str,
    exclude_incident_id: int,
    exclude_learning_ids: set[int],
    limit: int,
) -> tuple[list[RelatedItem], list[RelatedItem]]:
    entries = (
        search_entries_visible_to(user=user)
        .filter(kind__in=[SearchKind.LEARNING, SearchKind.INCIDENT])
        .exclude(incident_id=exclude_incident_id)
        .exclude(learning_id__in=exclude_learning_ids)
    )
    facet_condition = Q(name=SearchFacetName.MODEL, value__in=[str(pk) for pk in model_ids]) | Q(
        name=SearchFacetName.CATEGORY, value__in=sorted(categories)
    )
    facet_rows = list(
        SearchFacet.objects.filter(facet_condition, entry__in=entries)
        .order_by("-entry__occurred_at", "entry_id")
        .values_list("entry_id", "name", "value")[:CANDIDATES_PER_SIGNAL]
    )
    text_ranks = _text_matches(entries, significant_words(text))
    entry_ids = {row[0] for row in facet_rows} | set(text_ranks)
    if not entry_ids:
        return [], []
    model_names = dict(RegisteredModel.objects.filter(pk__in=model_ids).values_list("id", "name"))
    items: dict[int, RelatedItem] = {}
    for row in SearchEntry.objects.filter(pk__in=entry_ids).values(*ROW_FIELDS):
        target = row["learning_id"] or row["incident_id"]
        items[row["id"]] = RelatedItem(
            kind=row["kind"],
            object_id=target,
            title=row["title"],
            url=object_url(row["kind"], target),
            reference=f"INC-{target}" if row["kind"] == SearchKind.INCIDENT else "",
            team_name=row["team__name"] or "",
            occurred_at=row["occurred_at"],
        )
    for entry_id, name, value in facet_rows:
        item = items.get(entry_id)
        if item is None:
            continue
        if name == SearchFacetName.MODEL:
            item.score += MODEL_SCORE
            item.reasons.append(f"Same model: {model_names.get(int(value), 'model')}")
        else:
            item.score += CATEGORY_SCORE
            item.reasons.append(f"Same failure category: {FactorCategory(value).label}")
    for entry_id, rank in text_ranks.items():
        if entry_id in items:
            items[entry_id].score += TEXT_SCORE + min(rank, 1.0)
            items[entry_id].reasons.append("Similar words")
    ranked = sorted(items.values(), key=lambda item: (-item.score, -item.occurred_at.timestamp()))
    learnings = [item for item in ranked if item.kind == SearchKind.LEARNING][:limit]
    incidents = [item for item in ranked if item.kind == SearchKind.INCIDENT][:limit]
    return learnings, incidents


def _signals(incident: Incident, postmortem: Postmortem | None) -> tuple[set[int], set[str]]:
    model_ids = {incident.model_id} if incident.model_id else set()
    model_ids |= set(incident.model_versions.values_list("model_id", flat=True))
    categories: set[str] = set()
    if postmortem is not None:
        for category, version_model_id in ContributingFactor.objects.filter(postmortem=postmortem).values_list(
            "category", "model_version__model_id"
        ):
            categories.add(category)
            if version_model_id:
                model_ids.add(version_model_id)
    return model_ids, categories


def _postmortem_of(incident: Incident) -> Postmortem | None:
    return Postmortem.objects.filter(incident=incident).first()


def related_for_incident(*, incident: Incident, user, limit: int = 5) -> Related:
    """Return learnings and other incidents related to the incident, best first, each with its reasons.

    Learnings that came from the incident's own post-mortem are returned apart, in ``own_learnings``.
    """
    postmortem = _postmortem_of(incident)
    return _related_to(incident=incident, postmortem=postmortem, user=user, limit=limit)


def related_for_postmortem(*, postmortem: Postmortem, user, limit: int = 5) -> Related:
    """Return learnings and incidents related to the post-mortem's incident, as related_for_incident does."""
    return _related_to(incident=postmortem.incident, postmortem=postmortem, user=user, limit=limit)


def _related_to(*, incident: Incident, postmortem: Postmortem | None, user, limit: int) -> Related:
    model_ids, categories = _signals(incident, postmortem)
    own = list(postmortem.learnings.order_by("-created_at")) if postmortem is not None else []
    text = f"{incident.title} {postmortem.title if postmortem else ''}"
    learnings, incidents = _related(
        user=user,
        model_ids=model_ids,
        categories=categories,
        text=text,
        exclude_incident_id=incident.pk,
        exclude_learning_ids={learning.pk for learning in own},
        limit=limit,
    )
    return Related(learnings=learnings, incidents=incidents, own_learnings=own)
