"""Teams, memberships and the roles people hold in them."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/London.")


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


# A budget above this is a typing error: 250 people's whole working week.
MAX_OPERATIONS_BUDGET_HOURS = 10_000


def operations_budget_default(*, members: int) -> float:
    """Return the SRE rule's operations budget in hours per week.

    The members times the working week times the operations share (settings), for a team that set none.
    """
    return round(members * settings.INSIGHTS_WORKING_HOURS_PER_WEEK * settings.INSIGHTS_OPERATIONS_SHARE, 2)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    digest_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    digest_hour = models.PositiveSmallIntegerField(
        default=9, validators=[MinValueValidator(0), MaxValueValidator(23)], help_text="Local hour (0-23)."
    )
    # Hours per week the team's people may spend on operational work (insights' operational load); empty
    # means the SRE rule's default, the members times the working week times the operations share.
    operations_budget_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_OPERATIONS_BUDGET_HOURS)],
        verbose_name="operations budget (hours per week)",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(digest_hour__lte=23), name="team_digest_hour_valid"),
            models.CheckConstraint(condition=models.Q(digest_weekday__lte=6), name="team_digest_weekday_valid"),
            models.CheckConstraint(
                condition=models.Q(operations_budget_hours__isnull=True)
                | models.Q(operations_budget_hours__gte=1, operations_budget_hours__lte=MAX_OPERATIONS_BUDGET_HOURS),
                name="team_operations_budget_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("teams:detail", kwargs={"slug": self.slug})


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Lead"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
            models.CheckConstraint(condition=models.Q(role__in=["member", "lead"]), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


# The weekly digest's records live in their own module; Django finds models through this one.
from teams.digest.models import DigestPreference, DigestSend, DigestSendStatus  # noqa: E402 - after Team, which they point to

__all__ = [
    "MAX_OPERATIONS_BUDGET_HOURS",
    "DigestPreference",
    "DigestSend",
    "DigestSendStatus",
    "Membership",
    "Team",
    "Weekday",
    "operations_budget_default",
    "validate_timezone",
]
