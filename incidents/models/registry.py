"""The model registry: registered models, their versions and alias moves (MLflow's vocabulary)."""

from django.db import models
from django.urls import reverse


class RegisteredModel(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="registered_models")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="registered_model_unique_team_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incidents:model-lineage", kwargs={"pk": self.pk})


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    # Numeric versions sort as numbers ("10" after "9"); others sort after, by text.
    version_number = models.BigIntegerField(null=True, blank=True)
    run_id = models.CharField(max_length=128, blank=True)
    source_uri = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["model", "version_number", "version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="model_version_unique")]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"


class ModelAlias(models.Model):
    """Where an alias (champion, challenger…) points now. The history is in AliasMove."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="aliases")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="model_alias_unique")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias} -> v{self.version.version}"


class AliasMove(models.Model):
    class Kind(models.TextChoices):
        PROMOTION = "promotion", "Promotion"
        ROLLBACK = "rollback", "Rollback"
        REMOVAL = "removal", "Removal"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alias_moves")
    alias = models.CharField(max_length=100)
    from_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    moved_at = models.DateTimeField()
    delivery = models.ForeignKey(
        "incidents.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="alias_moves"
    )

    class Meta:
        ordering = ["-moved_at", "-id"]
        indexes = [models.Index(fields=["model", "moved_at"], name="alias_move_model_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery"], condition=models.Q(delivery__isnull=False), name="alias_move_once_per_delivery"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias}: {self.from_version} -> {self.to_version}"
