"""The library of learnings: short reusable lessons, and the ones post-mortems propose."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from postmortems.models.postmortems import FactorCategory


class Learning(models.Model):
    """A short, reusable lesson, searchable across the organisation.

    A learning without a team belongs to the whole organisation. Its failure
    categories (the contributing-factor taxonomy) are rows of LearningCategory.
    """

    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="learnings")
    tags = models.ManyToManyField("incidents.Tag", blank=True, related_name="learnings")
    registered_models = models.ManyToManyField("incidents.RegisteredModel", blank=True, related_name="learnings")
    source_postmortems = models.ManyToManyField("postmortems.Postmortem", blank=True, related_name="learnings")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="learning_has_title"),
            models.CheckConstraint(condition=~Q(body=""), name="learning_has_body"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="learning_recent"),
            models.Index(fields=["team", "-created_at"], name="learning_team_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:learning-detail", kwargs={"pk": self.pk})


class LearningCategory(models.Model):
    """One failure category of a learning."""

    learning = models.ForeignKey(Learning, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(max_length=32, choices=FactorCategory.choices)

    class Meta:
        ordering = ["learning", "category"]
        verbose_name_plural = "learning categories"
        constraints = [
            models.UniqueConstraint(fields=["learning", "category"], name="learning_category_unique"),
            models.CheckConstraint(condition=Q(category__in=FactorCategory.values), name="learning_category_valid"),
        ]
        indexes = [models.Index(fields=["category", "learning"], name="learning_category_lookup")]

    def __str__(self) -> str:
        return self.get_category_display()


class LearningProposalStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class LearningProposal(models.Model):
    """A lesson a published post-mortem proposes for the library, until someone decides on it.

    ``fingerprint`` identifies the lesson's text, so publishing a post-mortem
    again proposes only lessons that are new.
    """

    postmortem = models.ForeignKey(
        "postmortems.Postmortem", on_delete=models.CASCADE, related_name="learning_proposals"
    )
    text = models.TextField()
    fingerprint = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=LearningProposalStatus.choices, default=LearningProposalStatus.PROPOSED
    )
    learning = models.ForeignKey(Learning, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "fingerprint"], name="learning_proposal_unique_text"),
            models.CheckConstraint(
                condition=Q(status__in=LearningProposalStatus.values), name="learning_proposal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=LearningProposalStatus.PROPOSED, decided_at__isnull=True)
                | (~Q(status=LearningProposalStatus.PROPOSED) & Q(decided_at__isnull=False)),
                name="learning_proposal_decided_at_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["status", "postmortem"], name="learning_proposal_open")]

    def __str__(self) -> str:
        return self.text[:80]
