"""Forms of the source pages. Rules live in the services; these only shape input."""

from django import forms
from django.core.exceptions import ValidationError

from incidents.models import Delivery, Severity, SourceKind
from incidents.models.sources import ModelPatternField
from incidents.selectors.sources import source_default_model_choices
from incidents.services.sources import ANY_ENVIRONMENT, GRACE_PERIODS, MAX_RATE_LIMIT_PER_MINUTE
from teams.models import Team

SEVERITY_ROW_NEEDS_SEVERITY = "Choose a severity for this environment."
SEVERITY_ROW_NEEDS_ENVIRONMENT = "Name the environment, or clear the severity."
SEVERITY_ROWS_DUPLICATE = "Environment {environment!r} is listed twice."
NOT_A_TEAM_OF_YOURS = "Choose one of your teams."
MAX_EVENT_LENGTH = Delivery._meta.get_field("event").max_length

PATTERN_HELP = (
    "Optional. A regular expression with named groups <code>(?P&lt;model&gt;…)</code> and "
    "<code>(?P&lt;version&gt;…)</code>, tried when the payload names no model. "
    "Example: <code>deploy (?P&lt;model&gt;[a-z-]+) v(?P&lt;version&gt;\\d+)</code>"
)


class SeverityRowForm(forms.Form):
    environment = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. canary"})
    )
    # Short labels: the rows sit in a narrow column; the severities are explained where incidents are.
    severity = forms.ChoiceField(choices=[("", "—"), *((value, value) for value in Severity.values)], required=False)

    def clean(self):
        cleaned = super().clean()
        environment = (cleaned.get("environment") or "").strip()
        severity = cleaned.get("severity") or ""
        if environment and not severity and "severity" not in self.errors:
            self.add_error("severity", SEVERITY_ROW_NEEDS_SEVERITY)
        if severity and not environment and "environment" not in self.errors:
            self.add_error("environment", SEVERITY_ROW_NEEDS_ENVIRONMENT)
        cleaned["environment"] = environment
        return cleaned


class BaseSeverityFormSet(forms.BaseFormSet):
    """Rows of environment → severity; blank rows are dropped, names are unique regardless of case."""

    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            environment = form.cleaned_data.get("environment")
            if not environment:
                continue
            if environment.casefold() in seen:
                raise ValidationError(SEVERITY_ROWS_DUPLICATE.format(environment=environment))
            seen.add(environment.casefold())

    def mapping(self) -> dict[str, str]:
        """Return the rows as the source's environment_severity map (valid formsets only)."""
        return {
            form.cleaned_data["environment"]: form.cleaned_data["severity"]
            for form in self.forms
            if form.cleaned_data.get("environment")
        }


SeverityFormSet = forms.formset_factory(
    SeverityRowForm, formset=BaseSeverityFormSet, extra=2, max_num=40, validate_max=True, absolute_max=60
)


def severity_items(mapping: dict | None) -> list[tuple[str, str]]:
    """Return the map's (environment, severity) pairs by name, with ``*`` (any other environment) last."""
    mapping = mapping or {}
    names = sorted((name for name in mapping if name != ANY_ENVIRONMENT), key=str.casefold)
    if ANY_ENVIRONMENT in mapping:
        names.append(ANY_ENVIRONMENT)
    return [(name, mapping[name]) for name in names]


def severity_formset(mapping: dict | None = None, data=None) -> BaseSeverityFormSet:
    """Return the severity rows for a map, or bound to posted data."""
    if data is not None:
        return SeverityFormSet(data, prefix="severity")
    return SeverityFormSet(
        initial=[{"environment": name, "severity": severity} for name, severity in severity_items(mapping)],
        prefix="severity",
    )


class SourceOptionsFields(forms.Form):
    """What a source's options look like on a page (shared by creation and editing)."""

    model_pattern = forms.CharField(
        max_length=300, required=False, label="Model pattern", help_text=PATTERN_HELP, strip=False
    )
    model_pattern_field = forms.ChoiceField(
        choices=ModelPatternField.choices, initial=ModelPatternField.ANY, label="Match the pattern against"
    )


class SourceCreateForm(SourceOptionsFields):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    name = forms.CharField(
        max_length=120, help_text="How people will recognise it, e.g. “fraud-detector CI” or “MLflow prod”."
    )
    kind = forms.ChoiceField(choices=SourceKind.choices, widget=forms.RadioSelect)
    field_order = ["team", "name", "kind", "model_pattern", "model_pattern_field"]

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].error_messages["invalid_choice"] = NOT_A_TEAM_OF_YOURS
        self.fields["name"].widget.attrs["autocomplete"] = "off"


class SourceEditForm(SourceOptionsFields):
    name = forms.CharField(max_length=120)
    is_active = forms.BooleanField(
        required=False, label="Active", help_text="An inactive source's webhook answers 404 and stores nothing."
    )
    default_model = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No default model",
        help_text="Used when neither the payload nor the pattern names a model.",
    )
    rate_limit_per_minute = forms.IntegerField(
        min_value=1, max_value=MAX_RATE_LIMIT_PER_MINUTE, label="Rate limit (deliveries per minute)"
    )
    field_order = ["name", "is_active", "model_pattern", "model_pattern_field", "default_model"]

    def __init__(self, *args, source, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": source.name,
                "is_active": source.is_active,
                "model_pattern": source.model_pattern,
                "model_pattern_field": source.model_pattern_field,
                "default_model": source.default_model_id,
                "rate_limit_per_minute": source.rate_limit_per_minute,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["default_model"].queryset = source_default_model_choices(team=source.team)


class RotateSecretForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(
        choices=GRACE_PERIODS,
        coerce=int,
        initial=86400,
        label="Old secret keeps working for",
        help_text="Time to paste the new secret into the sender before the old one stops working.",
    )


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *Delivery.Status.choices], required=False)
    event = forms.ChoiceField(choices=[("", "Any event")], required=False)

    def __init__(self, *args, events: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        # Offered: the sender's events and recent ones. Any other event name a delivery can
        # carry is accepted too (older deliveries may have it), and shown as chosen.
        asked = self.data.get("event") if self.is_bound else None
        if isinstance(asked, str) and asked and len(asked) <= MAX_EVENT_LENGTH and asked not in events:
            events = sorted([*events, asked])
        self.fields["event"].choices = [("", "Any event"), *((event, event) for event in events)]
