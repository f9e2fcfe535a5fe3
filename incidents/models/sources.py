"""Sources (pipelines and registries that call Kintsugi) and their raw deliveries."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse


def new_public_id() -> str:
    """Return an unguessable identifier for a source's webhook URL (192 random bits)."""
    return secrets.token_urlsafe(24)


class SourceKind(models.TextChoices):
    GITHUB = "github", "GitHub Actions"
    GITLAB = "gitlab", "GitLab CI"
    JENKINS = "jenkins", "Jenkins"
    ARGOCD = "argocd", "Argo CD"
    ARGO_ROLLOUTS = "argo_rollouts", "Argo Rollouts"
    CIRCLECI = "circleci", "CircleCI"
    MLFLOW = "mlflow", "MLflow model registry"
    GENERIC = "generic", "Generic webhook"


class ModelPatternField(models.TextChoices):
    ANY = "any", "Run title, then ref, then environment"
    TITLE = "title", "Run title"
    REF = "ref", "Git ref"
    ENVIRONMENT = "environment", "Environment"


def default_environment_severity() -> dict:
    """Return the rules a new source starts with: common production and staging names, then anything else.

    ``*`` in a name stands for any characters, so ``ml-serving-prod``, ``prod-eu`` and ``production-us``
    are production while ``preprod`` is not. The team sees and edits these rows on the source's page.
    """
    production = ["production", "prod", "prod-*", "*-prod", "*-prod-*", "production-*", "*-production"]
    staging = ["staging", "stage", "staging-*", "*-staging", "stg-*", "*-stg"]
    return {**dict.fromkeys(production, "SEV2"), **dict.fromkeys(staging, "SEV3"), "*": "SEV4"}


class Source(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    public_id = models.CharField(max_length=64, unique=True, default=new_public_id, editable=False)
    is_active = models.BooleanField(default=True)
    environment_severity = models.JSONField(
        default=default_environment_severity,
        blank=True,
        help_text='Severity of an incident opened from a failure in each environment; "*" for any other.',
    )
    model_pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="Regular expression with named groups (?P<model>…) and (?P<version>…) to find the model.",
    )
    model_pattern_field = models.CharField(max_length=16, choices=ModelPatternField.choices, default="any")
    default_model = models.ForeignKey(
        "incidents.RegisteredModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    # Counts the changes of what the webhook edge reads (options, secrets): web
    # processes keep a source in memory, and a delivery is stored only while the
    # version it was checked against is still the source's.
    edge_version = models.PositiveBigIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="source_unique_team_name"),
            models.CheckConstraint(condition=models.Q(kind__in=SourceKind.values), name="source_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def get_absolute_url(self) -> str:
        return reverse("incidents:source-detail", kwargs={"pk": self.pk})

    @property
    def webhook_path(self) -> str:
        return reverse("ingest:receive", kwargs={"public_id": self.public_id})

    @property
    def webhook_url(self) -> str:
        return f"{settings.SITE_URL}{self.webhook_path}"


class SourceSecret(models.Model):
    """One secret of a source. Rotation adds a new one and gives the old an expiry."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="secrets")
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"secret of {self.source} created {self.created_at:%Y-%m-%d}"

    @staticmethod
    def verifies_at(expires_at, now) -> bool:
        """Return whether a secret that expires at ``expires_at`` verifies deliveries at ``now`` (None: never expires).

        The one rule of which secrets are valid: every reader of secrets applies it.
        """
        return expires_at is None or expires_at > now


class Delivery(models.Model):
    """One HTTP call a source made, stored raw before Kintsugi answers."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        REPLAYED = "replayed", "Replayed"

    # Indexed first in the unique (source, delivery_id) and the (source, -received_at) indexes.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    delivery_id = models.CharField(max_length=200)
    event = models.CharField(max_length=120, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField()
    received_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    replay_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the next processing attempt is due while the delivery waits (received or replayed);
    # the sweeper queues deliveries overdue by a while, respecting retry backoff.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    normalized = models.JSONField(null=True, blank=True)
    model_found = models.CharField(max_length=240, blank=True)
    # Sent by Kintsugi itself ("Send test delivery"): read like any other, applied to nothing.
    is_test = models.BooleanField(default=False)
    # Indexed where set only (see Meta): a delivery is stored without one.
    deployment = models.ForeignKey(
        "incidents.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="delivery_unique_source_delivery_id"),
            models.CheckConstraint(
                condition=models.Q(status__in=["received", "processed", "ignored", "failed", "replayed"]),
                name="delivery_status_valid",
            ),
        ]
        # Every index is written on each delivery stored, on the webhook's path: partial where a
        # column is mostly empty, or a query only reads some statuses.
        indexes = [
            models.Index(fields=["status", "received_at"], name="delivery_status_received"),
            models.Index(fields=["source", "-received_at"], name="delivery_source_recent"),
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status__in=["received", "replayed"]),
                name="delivery_waiting_due",
            ),
            models.Index(
                fields=["deployment"], condition=models.Q(deployment__isnull=False), name="delivery_deployment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event or 'delivery'} {self.delivery_id}"


class SourceRateWindow(models.Model):
    """Requests a source made in one minute, when no shared cache counts them (the embedded default)."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    # Minutes since the Unix epoch: one row per source and minute, incremented atomically.
    minute = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "minute"], name="source_rate_window_unique")]

    def __str__(self) -> str:
        return f"{self.source_id} minute {self.minute}: {self.count}"
