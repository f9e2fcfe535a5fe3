"""Incidents, what they are linked to, and their timelines."""

import re

from django.conf import settings
from django.db import models
from django.urls import reverse


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1 · Critical"
    SEV2 = "SEV2", "SEV2 · Major"
    SEV3 = "SEV3", "SEV3 · Minor"
    SEV4 = "SEV4", "SEV4 · Low"


SEVERITY_DESCRIPTIONS = {
    Severity.SEV1: "Customer-facing outage or wrong predictions at scale; money, safety or trust at stake. All hands.",
    Severity.SEV2: "Major degradation of a production model or pipeline; a workaround may exist. Urgent.",
    Severity.SEV3: "Minor or partial impact, or a production risk caught in staging. Fix this week.",
    Severity.SEV4: "No user impact: a near miss, a failed non-production deployment, or a game day finding.",
}


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class IncidentKind(models.TextChoices):
    FAILED_DEPLOYMENT = "failed_deployment", "Failed deployment"
    MODEL_REGRESSION = "model_regression", "Model quality regression"
    DATA_PIPELINE = "data_pipeline", "Data pipeline incident"
    SERVING = "serving", "Serving / infrastructure"
    GAME_DAY = "game_day", "Planned failure injection / game day"
    OTHER = "other", "Other"


class LinkRole(models.TextChoices):
    RELATED = "related", "Related"
    SUSPECT = "suspect", "Suspect"
    CAUSE = "cause", "Cause"


# A tag as people write it, once cleaned: lower-case letters and digits first, then also hyphens and underscores.
TAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def tag_name_from(raw: str) -> str | None:
    """Return the tag people mean by ``raw`` (lower case, no leading #, spaces as hyphens), or None if unusable."""
    name = "-".join(str(raw).strip().lower().lstrip("#").split())
    return name if TAG_NAME.match(name) else None


class Tag(models.Model):
    """A word that groups incidents and learnings (``tag_name_from`` says which words are tags)."""

    name = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IncidentQuerySet(models.QuerySet):
    def drills(self) -> "IncidentQuerySet":
        """Return the drills: incidents a game day opened on purpose."""
        return self.filter(kind=IncidentKind.GAME_DAY)

    def excluding_drills(self) -> "IncidentQuerySet":
        """Return the real incidents only, as DORA and MTTx figures count them."""
        return self.exclude(kind=IncidentKind.GAME_DAY)


class Incident(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="incidents")
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=32, choices=IncidentKind.choices, default=IncidentKind.OTHER)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_incidents"
    )
    environment = models.CharField(max_length=100, blank=True)
    # The model whose failures this incident gathers; with the environment it is
    # the key repeated pipeline failures join on.
    model = models.ForeignKey(
        "incidents.RegisteredModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    model_unknown = models.BooleanField(default=False, help_text="Opened by a pipeline event naming no model.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="incidents")
    summary = models.TextField(blank=True, help_text="Markdown.")
    impact = models.TextField(blank=True, help_text="Markdown.")
    restricted = models.BooleanField(default=False, help_text="Visible to the team and staff only.")
    started_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.ForeignKey(
        "incidents.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    deployments = models.ManyToManyField(
        "incidents.Deployment", through="IncidentDeployment", blank=True, related_name="incidents"
    )
    model_versions = models.ManyToManyField(
        "incidents.ModelVersion", through="IncidentModelVersion", blank=True, related_name="incidents"
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=IncidentStatus.values), name="incident_status_valid"),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="incident_severity_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=IncidentKind.values), name="incident_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(started_at__lte=models.F("detected_at")), name="incident_started_before_detected"
            ),
        ]
        indexes = [
            models.Index(fields=["-detected_at", "-id"], name="incident_recent"),
            models.Index(fields=["status", "-detected_at"], name="incident_status_recent"),
            # Covering severity and restricted, a team's filtered list counts from the index alone
            # (PostgreSQL; other databases ignore ``include``).
            models.Index(
                fields=["team", "status", "-detected_at"],
                include=["severity", "restricted"],
                name="incident_team_status_recent",
            ),
            models.Index(fields=["model", "environment", "status"], name="incident_model_env_status"),
            # The open counts by severity on every list: few rows, read from the index alone.
            models.Index(
                fields=["severity", "team", "restricted"],
                condition=models.Q(status="open"),
                name="incident_open_by_severity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", kwargs={"pk": self.pk})

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}"

    @property
    def is_drill(self) -> bool:
        """Whether a game day opened this incident on purpose: left out of DORA and MTTx figures."""
        return self.kind == IncidentKind.GAME_DAY


class IncidentDeployment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="deployment_links")
    deployment = models.ForeignKey("incidents.Deployment", on_delete=models.CASCADE, related_name="incident_links")
    role = models.CharField(max_length=16, choices=LinkRole.choices, default=LinkRole.RELATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "deployment"], name="incident_deployment_unique")]

    def __str__(self) -> str:
        return f"{self.deployment} ({self.role}) on incident {self.incident_id}"


class IncidentModelVersion(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="model_version_links")
    model_version = models.ForeignKey("incidents.ModelVersion", on_delete=models.CASCADE, related_name="incident_links")
    role = models.CharField(max_length=16, choices=LinkRole.choices, default=LinkRole.RELATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "model_version"], name="incident_model_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model_version} ({self.role}) on incident {self.incident_id}"


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        DEPLOYMENT = "deployment", "Deployment"
        STATUS = "status", "Status change"
        SEVERITY = "severity", "Severity change"
        OWNER = "owner", "Owner change"
        MILESTONE = "milestone", "Milestone"
        LINK = "link", "Link"
        ALIAS_MOVE = "alias_move", "Alias move"
        NOTE = "note", "Note"
        EDIT = "edit", "Details edited"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source_label = models.CharField(max_length=200, blank=True, help_text="Who said it when no person did.")
    text = models.TextField()
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    starred = models.BooleanField(default=False)
    deployment = models.ForeignKey(
        "incidents.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="timeline_entries"
    )
    delivery = models.ForeignKey(
        "incidents.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="timeline_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "occurred_at"], name="timeline_incident_time")]
        constraints = [
            # A delivery adds at most one entry to an incident: reprocessing is harmless.
            models.UniqueConstraint(
                fields=["incident", "delivery"],
                condition=models.Q(delivery__isnull=False),
                name="timeline_once_per_delivery",
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.text[:60]}"
