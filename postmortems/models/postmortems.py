"""Post-mortems, every version saved of them, and their contributing factors."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class FactorCategory(models.TextChoices):
    # ML
    DATA_DRIFT = "data_drift", "Data drift"
    TRAINING_SERVING_SKEW = "training_serving_skew", "Training/serving skew"
    FEATURE_PIPELINE_CHANGE = "feature_pipeline_change", "Feature pipeline or schema change"
    UPSTREAM_DATA = "upstream_data", "Upstream data late or missing"
    LABEL_ISSUE = "label_issue", "Label issue"
    EVALUATION_GAP = "evaluation_gap", "Evaluation gap"
    THRESHOLD_CONFIG = "threshold_config", "Threshold or config error"
    DEPENDENCY_UPGRADE = "dependency_upgrade", "Dependency upgrade"
    SERVING_INFRASTRUCTURE = "serving_infrastructure", "Serving/infrastructure"
    PROMPT_CHANGE = "prompt_change", "Prompt change"
    # General
    PROCESS = "process", "Process"
    TOOLING = "tooling", "Tooling"
    COMMUNICATION = "communication", "Communication"
    DOCUMENTATION = "documentation", "Documentation"
    CAPACITY = "capacity", "Capacity"


ML_FACTOR_CATEGORIES = (
    FactorCategory.DATA_DRIFT,
    FactorCategory.TRAINING_SERVING_SKEW,
    FactorCategory.FEATURE_PIPELINE_CHANGE,
    FactorCategory.UPSTREAM_DATA,
    FactorCategory.LABEL_ISSUE,
    FactorCategory.EVALUATION_GAP,
    FactorCategory.THRESHOLD_CONFIG,
    FactorCategory.DEPENDENCY_UPGRADE,
    FactorCategory.SERVING_INFRASTRUCTURE,
    FactorCategory.PROMPT_CHANGE,
)
GENERAL_FACTOR_CATEGORIES = tuple(c for c in FactorCategory if c not in ML_FACTOR_CATEGORIES)
FACTOR_CATEGORY_GROUPS = (
    ("Machine learning", [(c.value, c.label) for c in ML_FACTOR_CATEGORIES]),
    ("General", [(c.value, c.label) for c in GENERAL_FACTOR_CATEGORIES]),
)


class Postmortem(models.Model):
    """The blameless written review of one incident.

    ``sections`` is the copy of the template's sections taken when it started;
    ``content`` maps each section key to its text (a list of ``{"why", "because"}``
    steps for a chain of whys) and always equals the newest PostmortemVersion.
    ``version`` counts saves; ``revision`` counts publications reopened.
    """

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="postmortem")
    template = models.ForeignKey(
        "postmortems.Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="postmortems"
    )
    template_name = models.CharField(max_length=120)
    sections = models.JSONField(default=list)
    title = models.CharField(max_length=300)
    content = models.JSONField(default=dict)
    # Facts of the incident when the post-mortem started: durations, deployments, model versions.
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    revision = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The version readers see: the newest published one, kept while a reopened revision is written.
    published_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PostmortemStatus.values), name="postmortem_status_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="postmortem_version_positive"),
            models.CheckConstraint(condition=Q(revision__gte=1), name="postmortem_revision_positive"),
            models.CheckConstraint(
                condition=~Q(status=PostmortemStatus.PUBLISHED)
                | Q(published_at__isnull=False, published_version__isnull=False),
                name="postmortem_published_has_time_and_version",
            ),
        ]
        indexes = [models.Index(fields=["status", "-updated_at"], name="postmortem_status_recent")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:detail", kwargs={"pk": self.pk})

    @property
    def is_published(self) -> bool:
        return self.status == PostmortemStatus.PUBLISHED


class PostmortemVersion(models.Model):
    """One saved state of a post-mortem: the full text, by whom and when. Never changed."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    revision = models.PositiveIntegerField()
    based_on = models.PositiveIntegerField(null=True, blank=True, help_text="The version the author edited.")
    title = models.CharField(max_length=300)
    content = models.JSONField(default=dict)
    factors = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="What changed, in the author's words.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["postmortem", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="postmortem_version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="postmortem_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.postmortem} v{self.number}"


class ContributingFactor(models.Model):
    """A condition that made the incident possible or worse; never a person."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="factors")
    category = models.CharField(max_length=32, choices=FactorCategory.choices)
    description = models.TextField()
    model_version = models.ForeignKey(
        "incidents.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="contributing_factors"
    )
    deployment = models.ForeignKey(
        "incidents.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="contributing_factors"
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["postmortem", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=FactorCategory.values), name="factor_category_valid"),
            models.CheckConstraint(condition=~Q(description=""), name="factor_description_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.description[:60]}"


class PostmortemNotNeeded(models.Model):
    """The team's decision that an incident needs no post-mortem, and why."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="postmortem_not_needed"
    )
    reason = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField()

    class Meta:
        verbose_name = "post-mortem not needed"
        verbose_name_plural = "post-mortems not needed"
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="postmortem_not_needed_has_reason")]

    def __str__(self) -> str:
        return f"No post-mortem for incident {self.incident_id}: {self.reason[:60]}"


class PostmortemAutosave(models.Model):
    """One person's unsaved edits of a post-mortem, kept until they save or discard them.

    Autosaving never creates a version: versions are what people chose to save.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="autosaves")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    based_on = models.PositiveIntegerField()
    title = models.CharField(max_length=300, blank=True)
    content = models.JSONField(default=dict)
    factors = models.JSONField(default=list, blank=True)
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["postmortem", "user"], name="postmortem_autosave_unique")]

    def __str__(self) -> str:
        return f"Autosave of {self.postmortem_id} by {self.user_id}"
