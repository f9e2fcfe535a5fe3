"""One search index over learnings, post-mortems and incidents.

Each searchable thing has one SearchEntry holding the text people search in,
its team and visibility, and (on PostgreSQL) a stored ``tsvector`` with a GIN
index. The services that write learnings, post-mortems and incidents keep the
entries current; a periodic refresh catches anything written elsewhere.

The index is derived data: ``search_reindex --all`` rebuilds it from the
things it indexes. Its tables were created while search lived in the
post-mortems app; migration 0002 gave them this app's names.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

# Migration 0001 names the index class here.
from config.indexes import GinIndexOnPostgres


class SearchKind(models.TextChoices):
    LEARNING = "learning", "Learning"
    POSTMORTEM = "postmortem", "Post-mortem"
    INCIDENT = "incident", "Incident"


class SearchEntry(models.Model):
    """What search finds for one learning, post-mortem or incident (exactly one of them)."""

    kind = models.CharField(max_length=16, choices=SearchKind.choices)
    learning = models.OneToOneField(
        "postmortems.Learning", null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    postmortem = models.OneToOneField(
        "postmortems.Postmortem", null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    incident = models.OneToOneField(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Only the team's members (and staff) may find it: restricted incidents, unpublished post-mortems.
    team_only = models.BooleanField(default=False)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # Searched but never shown: reference, model names, environment, tags, category labels.
    keywords = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    source_updated_at = models.DateTimeField()
    vector = SearchVectorField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "search entries"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SearchKind.values), name="search_entry_kind_valid"),
            models.CheckConstraint(
                condition=Q(
                    kind=SearchKind.LEARNING, learning__isnull=False, postmortem__isnull=True, incident__isnull=True
                )
                | Q(kind=SearchKind.POSTMORTEM, learning__isnull=True, postmortem__isnull=False, incident__isnull=True)
                | Q(kind=SearchKind.INCIDENT, learning__isnull=True, postmortem__isnull=True, incident__isnull=False),
                name="search_entry_one_target_of_its_kind",
            ),
        ]
        indexes = [
            GinIndexOnPostgres(fields=["vector"], name="search_entry_vector_gin"),
            models.Index(fields=["-occurred_at"], name="search_entry_recent"),
            models.Index(fields=["team", "-occurred_at"], name="search_entry_team_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class SearchFacetName(models.TextChoices):
    MODEL = "model", "Model"
    CATEGORY = "category", "Failure category"
    TAG = "tag", "Tag"


class SearchFacet(models.Model):
    """A value search results can be filtered by: a model id, a failure category, a tag name."""

    entry = models.ForeignKey(SearchEntry, on_delete=models.CASCADE, related_name="facets")
    name = models.CharField(max_length=16, choices=SearchFacetName.choices)
    value = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "name", "value"], name="search_facet_unique"),
            models.CheckConstraint(condition=Q(name__in=SearchFacetName.values), name="search_facet_name_valid"),
        ]
        indexes = [models.Index(fields=["name", "value", "entry"], name="search_facet_lookup")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
