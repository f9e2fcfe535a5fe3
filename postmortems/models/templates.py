"""Post-mortem templates: built-in and team-made, each an ordered list of sections."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class SectionKind(models.TextChoices):
    MARKDOWN = "markdown", "Markdown text"
    TIMELINE = "timeline", "Timeline"
    WHY_CHAIN = "why_chain", "Chain of whys"
    CONTRIBUTING_FACTORS = "contributing_factors", "Contributing factors"
    LESSONS = "lessons", "Lessons learned"


class SectionPrefill(models.TextChoices):
    """Facts of the incident written into a section when a post-mortem starts."""

    NONE = "", "Nothing"
    SUMMARY = "summary", "Incident summary"
    IMPACT = "impact", "Impact and durations"
    DURATIONS = "durations", "Durations"
    DEPLOYMENTS = "deployments", "Linked deployments"
    MODEL_VERSIONS = "model_versions", "Linked model versions"
    CHANGE = "change", "Linked deployments and model versions"
    TIMELINE = "timeline", "Incident timeline"
    HYPOTHESIS = "hypothesis", "Game day hypothesis"
    INJECTION = "injection", "Game day injection, target and safeguards"
    OBSERVATIONS = "observations", "Game day outcome and observations"
    ROLLOUT = "rollout", "Experiment: arms, traffic, how far the rollout got, what stopped it"


class Template(models.Model):
    """A list of sections a post-mortem is written in.

    Built-in templates have a ``builtin_key`` and no team; a team's own templates
    have a team. Post-mortems copy the sections when they start, so editing a
    template never alters a post-mortem already written from it.
    """

    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="postmortem_templates"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Incident kinds (IncidentKind values) this template is the default for.
    incident_kinds = models.JSONField(default=list, blank=True)
    builtin_key = models.SlugField(max_length=60, null=True, blank=True, unique=True)
    builtin_revision = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(builtin_key__isnull=True, team__isnull=False)
                | Q(builtin_key__isnull=False, team__isnull=True),
                name="template_builtin_xor_team",
            ),
            models.UniqueConstraint(fields=["team", "name"], name="template_unique_team_name"),
        ]

    def __str__(self) -> str:
        return self.name if self.team_id is None else f"{self.name} ({self.team})"

    @property
    def is_builtin(self) -> bool:
        return self.builtin_key is not None


class TemplateSection(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="sections")
    key = models.SlugField(max_length=60, help_text="Stable identifier of the section inside its template.")
    title = models.CharField(max_length=120)
    prompt = models.TextField(help_text="The question the section answers.")
    help_text = models.TextField(blank=True, help_text="What a good answer looks like, framed blamelessly.")
    kind = models.CharField(max_length=24, choices=SectionKind.choices, default=SectionKind.MARKDOWN)
    required = models.BooleanField(default=False)
    prefill = models.CharField(max_length=24, choices=SectionPrefill.choices, default=SectionPrefill.NONE, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["template", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="template_section_unique_key"),
            models.CheckConstraint(condition=Q(kind__in=SectionKind.values), name="template_section_kind_valid"),
            models.CheckConstraint(
                condition=Q(prefill__in=SectionPrefill.values), name="template_section_prefill_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.name}: {self.title}"

    def snapshot(self) -> dict:
        """Return the section as the plain dict a post-mortem keeps."""
        return {
            "key": self.key,
            "title": self.title,
            "prompt": self.prompt,
            "help": self.help_text,
            "kind": self.kind,
            "required": self.required,
        }
