"""Forms of the incident pages. They validate input; the services apply the change."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.validation import DateTimeFormField, IdFormField
from config.widgets import IsoDateTimeInput
from incidents.models import IncidentKind, LinkRole, RegisteredModel, Severity
from incidents.services.incidents import (
    MILESTONE_IN_FUTURE,
    MILESTONE_ORDER,
    NOTE_MAX_LENGTH,
    tag_names_clean,
)

MODEL_NOT_IN_TEAM = "{model} belongs to {team}; choose one of this team's models or none."
NO_TEAM = "Join a team before declaring an incident: incidents belong to a team."


class TagsField(forms.CharField):
    """Comma-separated tags, cleaned into a list of slugs."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("help_text", "Comma-separated, e.g. data-drift, feature-store.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def clean(self, value):
        value = super().clean(value)
        try:
            return tag_names_clean(value.split(",")) if value else []
        except ValidationError as error:
            raise ValidationError(error.message_dict["tags"]) from error


def _user_label(user) -> str:
    return f"{user.get_full_name()} ({user.username})" if user.get_full_name() else user.username


class IncidentDeclareForm(forms.Form):
    team = forms.ModelChoiceField(queryset=None, empty_label=None)
    title = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"placeholder": "What is broken, for whom"}))
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.SEV3, widget=forms.RadioSelect)
    kind = forms.ChoiceField(choices=IncidentKind.choices, initial=IncidentKind.OTHER)
    model = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="No model / not sure yet", help_text="The model affected, if any."
    )
    environment = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"list": "environments"})
    )
    started_at = DateTimeFormField(
        required=False,
        widget=IsoDateTimeInput(),
        label="Started",
        help_text="When the impact began (UTC). Leave empty if it began when detected.",
    )
    detected_at = DateTimeFormField(
        required=False, widget=IsoDateTimeInput(), label="Detected", help_text="UTC. Leave empty for now."
    )
    summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown. What do we know so far?"
    )
    impact = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown. Who or what is affected?"
    )
    tags = TagsField()
    restricted = forms.BooleanField(required=False, help_text="Only the team and staff can see a restricted incident.")
    lead = forms.BooleanField(required=False, initial=True, label="I will lead this incident")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from teams.models import Team

        teams = Team.objects.order_by("name")
        if not user.is_staff:
            teams = teams.filter(memberships__user=user)
        self.fields["team"].queryset = teams
        self.fields["model"].queryset = RegisteredModel.objects.filter(team__in=teams).select_related("team")
        self.fields["model"].label_from_instance = lambda model: f"{model.name} ({model.team.name})"

    def clean(self):
        data = super().clean()
        team, model = data.get("team"), data.get("model")
        if team and model and model.team_id != team.pk:
            self.add_error("model", MODEL_NOT_IN_TEAM.format(model=model.name, team=model.team.name))
        now = timezone.now()
        for name in ("started_at", "detected_at"):
            if data.get(name) and data[name] > now:
                self.add_error(name, MILESTONE_IN_FUTURE.format(name=self.fields[name].label))
        started, detected = data.get("started_at"), data.get("detected_at") or now
        if started and "started_at" not in self.errors and started > detected:
            self.add_error(
                "detected_at", MILESTONE_ORDER.format(name="Detected", earlier="started", earlier_at=started)
            )
        return data


class IncidentEditForm(forms.Form):
    title = forms.CharField(max_length=300)
    kind = forms.ChoiceField(choices=IncidentKind.choices)
    environment = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"list": "environments"})
    )
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), help_text="Markdown.")
    impact = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown.")
    tags = TagsField()
    restricted = forms.BooleanField(required=False, help_text="Only the team and staff can see a restricted incident.")

    @classmethod
    def initial_from(cls, incident) -> dict:
        return {
            "title": incident.title,
            "kind": incident.kind,
            "environment": incident.environment,
            "summary": incident.summary,
            "impact": incident.impact,
            "tags": [tag.name for tag in incident.tags.all()],
            "restricted": incident.restricted,
        }


class MilestonesForm(forms.Form):
    started_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Started")
    detected_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Detected")
    acknowledged_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Acknowledged", required=False)
    mitigated_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Mitigated", required=False)
    resolved_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Resolved", required=False)

    @classmethod
    def initial_from(cls, incident) -> dict:
        return {name: getattr(incident, name) for name in cls.base_fields}


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    note = forms.CharField(required=False, max_length=500, label="Why (optional)")


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Nobody")

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, memberships__team_id=incident.team_id)
            .order_by("first_name", "last_name", "username")
        )
        self.fields["owner"].label_from_instance = _user_label


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        label="Add a note",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What did you see, try, or decide? Markdown works."}),
    )


class LinkDeploymentForm(forms.Form):
    deployment = IdFormField()
    role = forms.ChoiceField(choices=LinkRole.choices)


class LinkModelVersionForm(forms.Form):
    model_version = IdFormField()
    role = forms.ChoiceField(choices=LinkRole.choices)


class RelateForm(forms.Form):
    reference = forms.CharField(max_length=30, label="Related incident", help_text="e.g. INC-12")


class StarForm(forms.Form):
    starred = forms.TypedChoiceField(choices=[("1", "star"), ("0", "unstar")], coerce=lambda value: value == "1")
