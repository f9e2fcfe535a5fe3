"""The blameless coach's data: rules an organisation adds, and findings people acknowledged."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class CoachRuleKind(models.TextChoices):
    PHRASES = "phrases", "Words or phrases"
    PATTERN = "pattern", "Regular expression"
    PERSON_VERBS = "person_verbs", "Verbs that blame when a person is their subject"


class CoachRule(models.Model):
    """A rule an organisation adds to the built-in ones (postmortems/coach_rules.json).

    A rule with the ``rule_id`` of a built-in one and ``is_active`` false turns the built-in off.
    """

    rule_id = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=CoachRuleKind.choices, default=CoachRuleKind.PHRASES)
    terms = models.TextField(blank=True, help_text="One word or phrase per line (phrases and person verbs).")
    pattern = models.TextField(blank=True, help_text="A Python regular expression, matched case-insensitively.")
    explanation = models.TextField(help_text="Why this language gets in the way of learning.")
    reframing = models.TextField(help_text="A question that reframes the sentence around the system.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule_id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=CoachRuleKind.values), name="coach_rule_kind_valid")]

    def __str__(self) -> str:
        return self.rule_id

    def clean(self) -> None:
        if not self.is_active:
            return
        if self.kind == CoachRuleKind.PATTERN:
            try:
                re.compile(self.pattern, re.IGNORECASE)
            except re.error as error:
                raise ValidationError({"pattern": f"Not a valid regular expression: {error}."}) from error
            if not self.pattern.strip():
                raise ValidationError({"pattern": "Give the regular expression the rule looks for."})
        elif not [line for line in self.terms.splitlines() if line.strip()]:
            raise ValidationError({"terms": "Give at least one word or phrase, one per line."})


class CoachAcknowledgement(models.Model):
    """A person's explicit decision to publish with one open finding of the coach.

    ``fingerprint`` names the finding independently of where it sits in the text:
    section, rule, the words matched and which occurrence of them it is.
    """

    postmortem = models.ForeignKey(
        "postmortems.Postmortem", on_delete=models.CASCADE, related_name="coach_acknowledgements"
    )
    fingerprint = models.CharField(max_length=300)
    section_key = models.CharField(max_length=60)
    rule_id = models.CharField(max_length=60)
    quote = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["postmortem", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "fingerprint"], name="coach_acknowledgement_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} acknowledged on {self.postmortem_id}"
