"""Deployments: one attempt to put a model version (or a commit) into an environment."""

from django.db import models


class DeploymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    IN_PROGRESS = "in_progress", "In progress"


class Deployment(models.Model):
    """One attempt to put a model version (or a commit) into an environment."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="deployments")
    source = models.ForeignKey(
        "incidents.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    # Identity of the run across the events a sender emits for it (queued, started, completed…).
    external_id = models.CharField(max_length=300)
    model_version = models.ForeignKey(
        "incidents.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    environment = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=DeploymentStatus.choices)
    pipeline = models.CharField(max_length=200, blank=True)
    run_id = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    run_url = models.URLField(max_length=500, blank=True)
    failing_step = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the deployed commit was made, where the sender says: the start of the lead time for changes.
    committed_at = models.DateTimeField(null=True, blank=True)
    # Time of the newest event applied: an older event arriving later never overrides it.
    last_event_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_event_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="deployment_unique_source_external_id"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeploymentStatus.values), name="deployment_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["model_version", "environment", "-last_event_at"], name="deployment_version_env"),
            models.Index(fields=["team", "-last_event_at"], name="deployment_team_recent"),
            models.Index(fields=["status", "-last_event_at"], name="deployment_status_recent"),
        ]

    def __str__(self) -> str:
        what = str(self.model_version) if self.model_version_id else (self.sha[:8] or self.pipeline)
        return f"{what} to {self.environment or 'unknown environment'}: {self.status}"
