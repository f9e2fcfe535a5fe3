"""Who reviews a post-mortem, and what each reviewer decided."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REQUEST_CHANGES = "request_changes", "Changes requested"
    COMMENT = "comment", "Commented"


class PostmortemReviewer(models.Model):
    """A person asked to review: a team member or anyone invited."""

    postmortem = models.ForeignKey("postmortems.Postmortem", on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="postmortem_reviews")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["postmortem", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["postmortem", "user"], name="postmortem_reviewer_unique")]

    def __str__(self) -> str:
        return f"{self.user} reviews {self.postmortem}"


class PostmortemReview(models.Model):
    """One decision of a reviewer on one version of a post-mortem, with a comment."""

    postmortem = models.ForeignKey("postmortems.Postmortem", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    revision = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["postmortem", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=ReviewDecision.values), name="review_decision_valid"),
            # Asking for changes without saying which is no help to the author.
            models.CheckConstraint(
                condition=~Q(decision=ReviewDecision.REQUEST_CHANGES) | ~Q(comment=""),
                name="review_changes_requested_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer} on v{self.version}"
