"""Writes of the search index: one SearchEntry per learning, post-mortem and incident.

The services that write learnings and post-mortems call ``search_entry_sync_*``
after their change; the incident services reach ``search_entries_sync_incidents``
through ``incidents.hooks`` (this app registers it in ``apps.py``), since
incidents must not import the apps built on them. ``search_index_refresh`` (a
periodic task) catches whatever changed elsewhere, and ``search_index_rebuild``
starts over. On PostgreSQL each entry's ``vector``
is computed in the database from its title (weight A), body (B) and keywords (C).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import F, Prefetch, Q

from incidents.models import Incident
from postmortems.models import (
    ContributingFactor,
    FactorCategory,
    Learning,
    Postmortem,
    PostmortemStatus,
    PostmortemVersion,
)
from search.models import SearchEntry, SearchFacet, SearchFacetName, SearchKind
from search.text import clean_text, join_text, plain_text, postmortem_text

BATCH_SIZE = 500


@dataclass
class Document:
    """What the index holds for one thing, before it is stored."""

    kind: str
    target_field: str
    target_id: int
    team_id: int | None
    team_only: bool
    title: str
    body: str
    keywords: str
    occurred_at: datetime
    source_updated_at: datetime
    facets: set[tuple[str, str]] = field(default_factory=set)


def _vector():
    config = settings.SEARCH_CONFIG
    return (
        SearchVector("title", weight="A", config=config)
        + SearchVector("body", weight="B", config=config)
        + SearchVector("keywords", weight="C", config=config)
    )


def _uses_vectors() -> bool:
    return connection.vendor == "postgresql"


def _model_facets(model_ids: Iterable[int | None]) -> set[tuple[str, str]]:
    return {(SearchFacetName.MODEL, str(model_id)) for model_id in model_ids if model_id}


def _category_facets(categories: Iterable[str]) -> set[tuple[str, str]]:
    return {(SearchFacetName.CATEGORY, category) for category in categories}


def _tag_facets(tags: Iterable[str]) -> set[tuple[str, str]]:
    return {(SearchFacetName.TAG, tag[:100]) for tag in tags}


# Documents ---------------------------------------------------------------------------------------


def _learnings_for_documents():
    return Learning.objects.prefetch_related("tags", "registered_models", "categories")


def learning_document(learning: Learning) -> Document:
    """Return the index document of a learning (prefetch tags, registered_models and categories)."""
    tags = [tag.name for tag in learning.tags.all()]
    models = list(learning.registered_models.all())
    categories = [row.category for row in learning.categories.all()]
    return Document(
        kind=SearchKind.LEARNING,
        target_field="learning",
        target_id=learning.pk,
        team_id=learning.team_id,
        team_only=False,
        title=clean_text(learning.title),
        body=join_text(plain_text(learning.body)),
        keywords=join_text(
            " ".join(model.name for model in models),
            " ".join(FactorCategory(category).label for category in categories),
            " ".join(tags),
        ),
        occurred_at=learning.created_at,
        source_updated_at=learning.updated_at,
        facets=_model_facets(model.pk for model in models) | _category_facets(categories) | _tag_facets(tags),
    )


def _incidents_for_documents():
    return Incident.objects.select_related("model").prefetch_related(
        "tags",
        "model_versions",
        Prefetch("postmortem__factors", queryset=ContributingFactor.objects.select_related("model_version")),
    )


def _incident_model_ids(incident: Incident) -> set[int]:
    return {incident.model_id} | {version.model_id for version in incident.model_versions.all()}


def _postmortem_of(incident: Incident) -> Postmortem | None:
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        return None


def incident_document(incident: Incident) -> Document:
    """Return the index document of an incident; its post-mortem's factors give it failure categories."""
    tags = [tag.name for tag in incident.tags.all()]
    postmortem = _postmortem_of(incident)
    factors = list(postmortem.factors.all()) if postmortem else []
    model_ids = _incident_model_ids(incident) | {f.model_version.model_id for f in factors if f.model_version_id}
    return Document(
        kind=SearchKind.INCIDENT,
        target_field="incident",
        target_id=incident.pk,
        team_id=incident.team_id,
        team_only=incident.restricted,
        title=clean_text(incident.title),
        body=join_text(plain_text(incident.summary), plain_text(incident.impact)),
        keywords=join_text(
            incident.reference,
            incident.model.name if incident.model_id else "",
            incident.environment,
            " ".join(FactorCategory(f.category).label for f in factors),
            " ".join(tags),
        ),
        occurred_at=incident.detected_at,
        source_updated_at=incident.updated_at,
        facets=_model_facets(model_ids) | _category_facets(f.category for f in factors) | _tag_facets(tags),
    )


def _postmortems_for_documents():
    return Postmortem.objects.select_related("incident__model").prefetch_related(
        "incident__tags",
        "incident__model_versions",
        Prefetch("factors", queryset=ContributingFactor.objects.select_related("model_version")),
    )


def _postmortem_updated_at(postmortem: Postmortem) -> datetime:
    # The incident's change counts too: restricting it changes who may find its post-mortem.
    stamps = (postmortem.updated_at, postmortem.published_at, postmortem.incident.updated_at)
    return max(stamp for stamp in stamps if stamp is not None)


def postmortem_document(postmortem: Postmortem) -> Document:
    """Return the index document of a post-mortem.

    Everyone signed in finds a post-mortem once published (of an unrestricted
    incident); while a published one is reopened, the published text is what
    is indexed, so search shows nobody a draft.
    """
    incident = postmortem.incident
    title, content = postmortem.title, postmortem.content
    factors = list(postmortem.factors.all())
    factor_texts = [f"{factor.get_category_display()}: {factor.description}" for factor in factors]
    if postmortem.status != PostmortemStatus.PUBLISHED and postmortem.published_version:
        published = PostmortemVersion.objects.filter(postmortem=postmortem, number=postmortem.published_version).first()
        if published is not None:
            title, content = published.title, published.content
            factor_texts = [
                f"{factor.get('category', '')}: {factor.get('description', '')}" for factor in published.factors
            ]
    tags = [tag.name for tag in incident.tags.all()]
    model_ids = _incident_model_ids(incident) | {f.model_version.model_id for f in factors if f.model_version_id}
    return Document(
        kind=SearchKind.POSTMORTEM,
        target_field="postmortem",
        target_id=postmortem.pk,
        team_id=incident.team_id,
        team_only=incident.restricted or postmortem.published_version is None,
        title=clean_text(title),
        body=postmortem_text(sections=postmortem.sections, content=content, factors=factor_texts),
        keywords=join_text(
            incident.reference,
            incident.model.name if incident.model_id else "",
            incident.environment,
            " ".join(tags),
        ),
        occurred_at=incident.detected_at,
        source_updated_at=_postmortem_updated_at(postmortem),
        facets=_model_facets(model_ids) | _category_facets(f.category for f in factors) | _tag_facets(tags),
    )


# Storing -----------------------------------------------------------------------------------------


def _entry_fields(document: Document) -> dict:
    return {
        "kind": document.kind,
        "team_id": document.team_id,
        "team_only": document.team_only,
        "title": document.title[:300],
        "body": document.body,
        "keywords": document.keywords,
        "occurred_at": document.occurred_at,
        "source_updated_at": document.source_updated_at,
    }


@transaction.atomic
def _store(document: Document) -> SearchEntry:
    entry, _ = SearchEntry.objects.update_or_create(
        **{f"{document.target_field}_id": document.target_id}, defaults=_entry_fields(document)
    )
    stored = set(entry.facets.values_list("name", "value"))
    for name, value in stored - document.facets:
        entry.facets.filter(name=name, value=value).delete()
    SearchFacet.objects.bulk_create(
        [SearchFacet(entry=entry, name=name, value=value) for name, value in sorted(document.facets - stored)]
    )
    if _uses_vectors():
        SearchEntry.objects.filter(pk=entry.pk).update(vector=_vector())
    return entry


def search_entry_sync_learning(*, learning: Learning) -> SearchEntry:
    """Write the learning's search entry (creating it when missing) and return it."""
    return _store(learning_document(_learnings_for_documents().get(pk=learning.pk)))


def search_entry_sync_incident(*, incident: Incident) -> SearchEntry:
    """Write the incident's search entry (creating it when missing) and return it."""
    return _store(incident_document(_incidents_for_documents().get(pk=incident.pk)))


def search_entries_sync_incidents(*, incident_ids: set[int]) -> None:
    """Write the entries of the incidents (the new ones together); skip incidents that no longer exist.

    The incident services call this through ``incidents.hooks.incident_changed``,
    once per incident or once per batch of deliveries.
    """
    _store_many([incident_document(incident) for incident in _incidents_for_documents().filter(pk__in=incident_ids)])
    # A post-mortem's entry follows its incident's restriction, references and tags.
    _store_many(
        [
            postmortem_document(postmortem)
            for postmortem in _postmortems_for_documents().filter(incident_id__in=incident_ids)
        ]
    )


def _store_many(documents: list[Document]) -> None:
    """Write the entries of many documents of one kind: the new ones together, the others one by one."""
    if not documents:
        return
    target = f"{documents[0].target_field}_id"
    ids = [document.target_id for document in documents]
    existing = set(SearchEntry.objects.filter(**{f"{target}__in": ids}).values_list(target, flat=True))
    for document in documents:
        if document.target_id in existing:
            _store(document)
    new = [document for document in documents if document.target_id not in existing]
    if new:
        with transaction.atomic():
            _bulk_store(new)
            if _uses_vectors():
                SearchEntry.objects.filter(**{f"{target}__in": [d.target_id for d in new]}).update(vector=_vector())


def search_entry_sync_postmortem(*, postmortem: Postmortem) -> SearchEntry:
    """Write the post-mortem's search entry and its incident's (whose categories come from it); return the first."""
    entry = _store(postmortem_document(_postmortems_for_documents().get(pk=postmortem.pk)))
    search_entry_sync_incident(incident=postmortem.incident)
    return entry


def search_index_refresh(*, limit: int = 2000) -> int:
    """Write the entries of up to ``limit`` things changed since they were indexed (or never indexed).

    Return how many were written. Safe to run at any time and more than once.
    """
    written = 0
    stale_incidents = Incident.objects.filter(
        Q(search_entry__isnull=True) | Q(updated_at__gt=F("search_entry__source_updated_at"))
    )
    stale_postmortems = Postmortem.objects.filter(
        Q(search_entry__isnull=True)
        | Q(updated_at__gt=F("search_entry__source_updated_at"))
        | Q(published_at__gt=F("search_entry__source_updated_at"))
        | Q(incident__updated_at__gt=F("search_entry__source_updated_at"))
    )
    stale_learnings = Learning.objects.filter(
        Q(search_entry__isnull=True) | Q(updated_at__gt=F("search_entry__source_updated_at"))
    )
    for queryset, build in (
        (_postmortems_for_documents().filter(pk__in=stale_postmortems.values("pk")), postmortem_document),
        (_incidents_for_documents().filter(pk__in=stale_incidents.values("pk")), incident_document),
        (_learnings_for_documents().filter(pk__in=stale_learnings.values("pk")), learning_document),
    ):
        for thing in queryset.order_by("pk")[: max(limit - written, 0)]:
            _store(build(thing))
            written += 1
    return written


def _bulk_store(documents: list[Document]) -> None:
    entries = SearchEntry.objects.bulk_create(
        [SearchEntry(**{f"{d.target_field}_id": d.target_id}, **_entry_fields(d)) for d in documents]
    )
    SearchFacet.objects.bulk_create(
        [
            SearchFacet(entry=entry, name=name, value=value)
            for entry, document in zip(entries, documents, strict=True)
            for name, value in sorted(document.facets)
        ],
        batch_size=2000,
    )


def search_index_rebuild(*, batch_size: int = BATCH_SIZE) -> int:
    """Replace every search entry with one built now; return how many were written.

    Work in batches; on PostgreSQL compute every vector in one statement at the end.
    """
    SearchEntry.objects.all().delete()
    written = 0
    for queryset, build in (
        (_learnings_for_documents(), learning_document),
        (_postmortems_for_documents(), postmortem_document),
        (_incidents_for_documents(), incident_document),
    ):
        last_pk = 0
        while True:
            batch = list(queryset.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                _bulk_store([build(thing) for thing in batch])
            written += len(batch)
            last_pk = batch[-1].pk
    if _uses_vectors():
        SearchEntry.objects.filter(vector__isnull=True).update(vector=_vector())
    return written
