"""Digest preferences of a person, and the record of each weekly digest sent to them."""

from django.conf import settings
from django.db import models
from django.db.models import Q

# An ISO 8601 week: 2026-W49; week 53 exists in long years.
ISO_WEEK_PATTERN = r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"


class DigestPreference(models.Model):
    """Whether a person wants the weekly digest, and the teams they follow beyond their own.

    A person without a row gets the digest about their own teams: the row is
    written the first time they change something, or unsubscribe.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_preference")
    enabled = models.BooleanField(default=True)
    followed_teams = models.ManyToManyField("teams.Team", blank=True, related_name="digest_followers")
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Unsubscribed means off: the time is kept only while the digest stays off.
            models.CheckConstraint(
                condition=Q(unsubscribed_at__isnull=True) | Q(enabled=False), name="digest_unsubscribed_is_off"
            )
        ]

    def __str__(self) -> str:
        return f"Digest of {self.user}: {'on' if self.enabled else 'off'}"


class DigestSendStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DigestSend(models.Model):
    """The claim on one person's digest of one ISO week, taken before the email is sent.

    At most one row per (recipient, week): whoever inserts it sends; a second
    run, a retried task or a doubled beat finds it and sends nothing. A failed
    send is kept with its error and claimed again by its retry.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_sends")
    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W49.")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="digest_sends"
    )
    email = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=DigestSendStatus.choices, default=DigestSendStatus.SENDING)
    attempts = models.PositiveSmallIntegerField(default=1)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "week"], name="digest_send_once_per_week"),
            models.CheckConstraint(condition=Q(week__regex=ISO_WEEK_PATTERN), name="digest_send_week_iso"),
            models.CheckConstraint(condition=Q(status__in=DigestSendStatus.values), name="digest_send_status_valid"),
            models.CheckConstraint(
                condition=Q(status=DigestSendStatus.SENT, sent_at__isnull=False)
                | (~Q(status=DigestSendStatus.SENT) & Q(sent_at__isnull=True)),
                name="digest_send_sent_at_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["week", "status"], name="digest_send_week_status")]

    def __str__(self) -> str:
        return f"Digest {self.week} to {self.email}: {self.status}"
