"""Follow-up action items of incidents and post-mortems, and the reminders sent about them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class ActionItemKind(models.TextChoices):
    PREVENT = "prevent", "Prevent"
    DETECT = "detect", "Detect"
    MITIGATE = "mitigate", "Mitigate"
    PROCESS = "process", "Process"
    # Controls specific to machine learning systems.
    EVALUATION_SLICE = "evaluation_slice", "Add an evaluation slice"
    DRIFT_MONITOR = "drift_monitor", "Add a drift or data-quality monitor"
    DATA_VALIDATION = "data_validation", "Add a data validation check"
    CANARY_SHADOW = "canary_shadow", "Canary or shadow deployment"
    ROLLBACK_RUNBOOK = "rollback_runbook", "Rollback runbook"
    RETRAIN_BACKFILL = "retrain_backfill", "Retrain or backfill"


ML_ACTION_KINDS = (
    ActionItemKind.EVALUATION_SLICE,
    ActionItemKind.DRIFT_MONITOR,
    ActionItemKind.DATA_VALIDATION,
    ActionItemKind.CANARY_SHADOW,
    ActionItemKind.ROLLBACK_RUNBOOK,
    ActionItemKind.RETRAIN_BACKFILL,
)
ACTION_KIND_GROUPS = (
    ("General", [(kind.value, kind.label) for kind in ActionItemKind if kind not in ML_ACTION_KINDS]),
    ("Machine learning controls", [(kind.value, kind.label) for kind in ML_ACTION_KINDS]),
)


class ActionItemPriority(models.TextChoices):
    P1 = "P1", "P1 · Urgent"
    P2 = "P2", "P2 · High"
    P3 = "P3", "P3 · Normal"
    P4 = "P4", "P4 · Low"


class ActionItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


UNRESOLVED_STATUSES = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)
RESOLVED_STATUSES = (ActionItemStatus.DONE, ActionItemStatus.WONT_DO)


class ActionItem(models.Model):
    """A follow-up with one owner, a due date, and how "done" will be verified.

    It belongs to an incident, and to the incident's post-mortem when it came
    from one. ``resolved_at`` is set exactly while the item is done or won't do.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="action_items")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="action_items")
    postmortem = models.ForeignKey(
        "postmortems.Postmortem", null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    kind = models.CharField(max_length=24, choices=ActionItemKind.choices, default=ActionItemKind.PREVENT)
    priority = models.CharField(max_length=2, choices=ActionItemPriority.choices, default=ActionItemPriority.P3)
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    wont_do_reason = models.TextField(blank=True)
    verification = models.TextField(help_text="How everyone will know it is done: a test, a dashboard, a drill.")
    tracker_url = models.URLField(max_length=500, blank=True, help_text="The issue in an external tracker.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActionItemKind.values), name="action_item_kind_valid"),
            models.CheckConstraint(
                condition=Q(priority__in=ActionItemPriority.values), name="action_item_priority_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=ActionItemStatus.values), name="action_item_status_valid"),
            models.CheckConstraint(condition=~Q(title=""), name="action_item_has_title"),
            models.CheckConstraint(condition=~Q(verification=""), name="action_item_has_verification"),
            # Won't do always says why, and only a won't-do carries a reason.
            models.CheckConstraint(
                condition=Q(status=ActionItemStatus.WONT_DO, wont_do_reason__gt="")
                | (~Q(status=ActionItemStatus.WONT_DO) & Q(wont_do_reason="")),
                name="action_item_wont_do_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RESOLVED_STATUSES, resolved_at__isnull=False)
                | Q(status__in=UNRESOLVED_STATUSES, resolved_at__isnull=True),
                name="action_item_resolved_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_date"], name="action_item_owner_status_due"),
            models.Index(fields=["team", "status", "due_date"], name="action_item_team_status_due"),
            models.Index(fields=["status", "due_date"], name="action_item_status_due"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action-detail", kwargs={"pk": self.pk})

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES

    def is_overdue(self, today=None) -> bool:
        """Return whether the item is unresolved past its due date (``today`` defaults to the current date)."""
        return not self.is_resolved and self.due_date < (today or timezone.localdate())

    @property
    def is_ml_control(self) -> bool:
        return self.kind in ML_ACTION_KINDS

    @property
    def done_on_time(self) -> bool | None:
        if self.status != ActionItemStatus.DONE:
            return None
        return timezone.localdate(self.resolved_at) <= self.due_date


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"


class ReminderSend(models.Model):
    """One reminder email sent to an item's owner: at most one per item, kind and period.

    ``period`` is the first day of the period the reminder covers: for "due soon",
    the day the due-soon window opened; for "overdue", the first day of the week
    of lateness (the day after the due date, then every seven days).
    """

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    period = models.DateField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["item", "-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind", "period"], name="reminder_send_once_per_period"),
            models.CheckConstraint(condition=Q(kind__in=ReminderKind.values), name="reminder_send_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} reminder for {self.item_id} ({self.period})"
