"""Forms of the learnings library."""

from django import forms

from config.validation import DateFormField, IdModelMultipleChoiceField
from config.widgets import IsoDateInput
from incidents.models import RegisteredModel
from postmortems.models import FACTOR_CATEGORY_GROUPS, FactorCategory
from teams.models import Team

DATES_REVERSED = "The start date is after the end date."


class ModelChoiceField(IdModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.team})"


class LearningForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Evaluate on the newest slice, not only the holdout"}),
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown. What should a team that never saw the incident know and do?",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Whole organisation", help_text="Who owns it."
    )
    tags = forms.CharField(required=False, max_length=500, help_text="Comma-separated, e.g. drift, feature-store.")
    categories = forms.MultipleChoiceField(
        choices=FACTOR_CATEGORY_GROUPS,
        required=False,
        label="Failure categories",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks checks-grouped"}),
    )
    registered_models = ModelChoiceField(
        queryset=RegisteredModel.objects.none(),
        required=False,
        label="Models",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks checks-scroll"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all() if user.is_staff else Team.objects.filter(memberships__user=user)
        self.fields["team"].queryset = teams.order_by("name")
        self.fields["registered_models"].queryset = RegisteredModel.objects.select_related("team").order_by("name")


class LearningFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="All teams")
    category = forms.ChoiceField(choices=[("", "All categories"), *FACTOR_CATEGORY_GROUPS], required=False)
    model = forms.ModelChoiceField(
        queryset=RegisteredModel.objects.order_by("name"), required=False, empty_label="All models"
    )
    tag = forms.CharField(required=False, max_length=60)
    since = DateFormField(required=False, widget=IsoDateInput(), label="From")
    until = DateFormField(required=False, widget=IsoDateInput(), label="To")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(DATES_REVERSED)
        if cleaned.get("tag"):
            cleaned["tag"] = cleaned["tag"].strip().lower()
        return cleaned


CATEGORY_LABELS = dict(FactorCategory.choices)
