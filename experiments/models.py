"""Experiments (a candidate model version rolled out beside a control) and game days (failures a team chose)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

# A traffic share is kept to hundredths of a percent: 0.5 % and 2.5 % canaries are common.
SHARE_PLACES = Decimal("0.01")


def share_field(**options) -> models.DecimalField:
    """Return the column of a traffic share: a percent from 0 to 100 in hundredths."""
    return models.DecimalField(max_digits=5, decimal_places=2, **options)


def share_check(field: str, *, name: str) -> models.CheckConstraint:
    """Return the constraint that keeps a share column (when set) from 0 to 100."""
    within = Q(**{f"{field}__gte": 0, f"{field}__lte": 100})
    return models.CheckConstraint(condition=Q(**{f"{field}__isnull": True}) | within, name=name)


def share_number(share: Decimal | None) -> int | float | None:
    """Return a stored share as JSON writes it: 10 for 10.00, 2.5 for 2.50, None for None."""
    if share is None:
        return None
    return int(share) if share == share.to_integral_value() else float(share)


def share_label(share: Decimal | None) -> str:
    """Return a share as people write it, without its percent sign: "10", "2.5", "0.25"; "" for None."""
    return "" if share is None else str(share_number(share))


class ExperimentKind(models.TextChoices):
    AB_TEST = "ab_test", "A/B test"
    CANARY = "canary", "Canary"
    SHADOW = "shadow", "Shadow"
    BLUE_GREEN = "blue_green", "Blue-green"


class ExperimentOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    PROMOTED = "promoted", "Promoted"
    ROLLED_BACK = "rolled_back", "Rolled back"
    ABORTED = "aborted", "Aborted"


class Arm(models.TextChoices):
    """The side of an experiment a deployment or an incident hit."""

    CONTROL = "control", "Control"
    CANDIDATE = "candidate", "Candidate"


class Experiment(models.Model):
    """A rollout of a candidate model version beside a control in one environment.

    Created running; ends promoted, rolled back or aborted. An experiment fed by
    a pipeline has a source and the rollout's name there (``external_id``), which
    later deliveries of the same rollout join on.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="experiments")
    model = models.ForeignKey("incidents.RegisteredModel", on_delete=models.PROTECT, related_name="experiments")
    environment = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ExperimentKind.choices, default=ExperimentKind.CANARY)
    control_version = models.ForeignKey(
        "incidents.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="control_experiments"
    )
    candidate_version = models.ForeignKey(
        "incidents.ModelVersion", on_delete=models.PROTECT, related_name="candidate_experiments"
    )
    hypothesis = models.TextField(blank=True, help_text="Markdown: what the candidate should do better.")
    deciding_metric = models.CharField(max_length=200, blank=True, help_text="The metric that decides the outcome.")
    outcome = models.CharField(max_length=16, choices=ExperimentOutcome.choices, default=ExperimentOutcome.RUNNING)
    outcome_reason = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    restricted = models.BooleanField(default=False, help_text="Visible to the team and staff only.")
    source = models.ForeignKey(
        "incidents.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="experiments"
    )
    external_id = models.CharField(max_length=300, blank=True, help_text="The rollout's name at its source.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ExperimentKind.values), name="experiment_kind_valid"),
            models.CheckConstraint(condition=Q(outcome__in=ExperimentOutcome.values), name="experiment_outcome_valid"),
            models.CheckConstraint(
                condition=Q(outcome="running", ended_at__isnull=True)
                | (~Q(outcome="running") & Q(ended_at__isnull=False)),
                name="experiment_ended_iff_concluded",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="experiment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(control_version__isnull=True) | ~Q(control_version=F("candidate_version")),
                name="experiment_arms_differ",
            ),
            # Failures are attached to an arm by model and environment: one running rollout there at a time.
            models.UniqueConstraint(
                fields=["model", "environment"],
                condition=Q(outcome="running"),
                name="experiment_one_running_per_model_environment",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(source__isnull=False) & ~Q(external_id="") & Q(outcome="running"),
                name="experiment_one_running_per_source_rollout",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "-started_at"], name="experiment_team_recent"),
            models.Index(fields=["model", "environment", "outcome"], name="experiment_model_env_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.candidate_label} in {self.environment}"

    def get_absolute_url(self) -> str:
        return reverse("experiments:experiment-detail", kwargs={"pk": self.pk})

    @property
    def reference(self) -> str:
        return f"EXP-{self.pk}"

    @property
    def candidate_label(self) -> str:
        return f"{self.model.name} v{self.candidate_version.version}"

    @property
    def is_running(self) -> bool:
        return self.outcome == ExperimentOutcome.RUNNING


class TrafficStep(models.Model):
    """The candidate's share of traffic from ``at`` until the next step."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="steps")
    percent = share_field()
    step_index = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The rollout's step number.")
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    delivery = models.ForeignKey(
        "incidents.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="traffic_steps"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            share_check("percent", name="traffic_step_percent_valid"),
            # Reprocessing a delivery adds no second step.
            models.UniqueConstraint(
                fields=["experiment", "delivery"],
                condition=Q(delivery__isnull=False),
                name="traffic_step_once_per_delivery",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.share} % at {self.at:%Y-%m-%d %H:%M}"

    @property
    def share(self) -> str:
        return share_label(self.percent)


class ArmAttachment(models.Model):
    """What attaching a failure to an experiment records: the arm it hit and the candidate's share of traffic then.

    Two kinds of failure are attached (incidents and deployments); each subclass
    names its experiment link and what it attaches, unique per experiment.
    """

    arm = models.CharField(max_length=16, choices=Arm.choices)
    # The candidate's share when the failure was attached, kept because later steps change it.
    traffic_percent = share_field(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(arm__in=Arm.values), name="%(class)s_arm_valid"),
            share_check("traffic_percent", name="%(class)s_share_valid"),
        ]

    @property
    def traffic_share(self) -> str:
        return share_label(self.traffic_percent)


class ExperimentIncident(ArmAttachment):
    """An incident that happened while an experiment ran, on the arm it hit."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="incident_links")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="experiment_links")

    class Meta(ArmAttachment.Meta):
        constraints = [
            *ArmAttachment.Meta.constraints,
            models.UniqueConstraint(fields=["experiment", "incident"], name="experiment_incident_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} on the {self.arm} of experiment {self.experiment_id}"


class ExperimentDeployment(ArmAttachment):
    """A deployment of one of the experiment's versions to its environment while it ran."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="deployment_links")
    deployment = models.ForeignKey("incidents.Deployment", on_delete=models.CASCADE, related_name="experiment_links")

    class Meta(ArmAttachment.Meta):
        constraints = [
            *ArmAttachment.Meta.constraints,
            models.UniqueConstraint(fields=["experiment", "deployment"], name="experiment_deployment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} on the {self.arm} of experiment {self.experiment_id}"


class InjectionKind(models.TextChoices):
    STALE_FEATURES = "stale_features", "Stale or missing features"
    MODEL_SERVER_KILLED = "model_server_killed", "Model server killed"
    LATENCY = "latency", "Added latency"
    BAD_MODEL_VERSION = "bad_model_version", "Bad model version"
    DATA_DRIFT = "data_drift", "Data drift"
    DEPENDENCY_DOWN = "dependency_down", "Dependency down"
    OTHER = "other", "Other"


class GameDayState(models.TextChoices):
    PLANNED = "planned", "Planned"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    ABORTED = "aborted", "Aborted"


class GameDay(models.Model):
    """A planned failure injection: a hypothesis, a target, safeguards and the people who run it.

    Starting it opens its drill incident (kind game day); finishing it records
    whether the hypothesis held and starts the post-mortem of that incident.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="game_days")
    title = models.CharField(max_length=200)
    hypothesis = models.TextField(help_text="Markdown: what the system should do while the failure is injected.")
    model = models.ForeignKey(
        "incidents.RegisteredModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="game_days"
    )
    environment = models.CharField(max_length=100, blank=True)
    component = models.CharField(max_length=200, blank=True, help_text="The part of the system the failure hits.")
    injection_kind = models.CharField(max_length=24, choices=InjectionKind.choices, default=InjectionKind.OTHER)
    injection = models.TextField(blank=True, help_text="Markdown: what exactly is injected, how and for how long.")
    blast_radius = models.TextField(blank=True, help_text="Who and what may be affected.")
    abort_conditions = models.TextField(blank=True, help_text="When to stop at once.")
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=60)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilitated_game_days"
    )
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="game_days")
    state = models.CharField(max_length=16, choices=GameDayState.choices, default=GameDayState.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    hypothesis_held = models.BooleanField(null=True, blank=True)
    observations = models.TextField(blank=True, help_text="Markdown: what was observed.")
    abort_reason = models.TextField(blank=True)
    incident = models.OneToOneField(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="game_day"
    )
    restricted = models.BooleanField(default=False, help_text="Visible to the team and staff only.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=GameDayState.values), name="game_day_state_valid"),
            models.CheckConstraint(
                condition=Q(injection_kind__in=InjectionKind.values), name="game_day_injection_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state="planned") | Q(started_at__isnull=False) | Q(state="aborted"),
                name="game_day_started_when_run",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["planned", "running"], ended_at__isnull=True)
                | Q(state__in=["finished", "aborted"], ended_at__isnull=False),
                name="game_day_ended_iff_over",
            ),
            models.CheckConstraint(
                condition=~Q(state="finished") | Q(hypothesis_held__isnull=False),
                name="game_day_finished_says_if_held",
            ),
        ]
        indexes = [models.Index(fields=["team", "state", "scheduled_at"], name="game_day_team_state_time")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("experiments:game-day-detail", kwargs={"pk": self.pk})

    @property
    def reference(self) -> str:
        return f"GD-{self.pk}"


class GameDayReminder(models.Model):
    """A reminder sent to one person before a game day: at most one each for each time it is scheduled at."""

    game_day = models.ForeignKey(GameDay, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The start it announced: moving the game day to another time reminds people again.
    scheduled_for = models.DateTimeField()
    email = models.EmailField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game_day", "user", "scheduled_for"], name="game_day_reminder_once")
        ]

    def __str__(self) -> str:
        return f"Reminder of game day {self.game_day_id} to {self.user_id}"
