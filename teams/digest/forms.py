"""The digest preferences form: on or off, and which teams to follow beyond one's own."""

from django import forms

from config.validation import IdModelMultipleChoiceField
from teams.models import Team


class DigestPreferencesForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, label="Send me the weekly digest", help_text="One email a week; nothing when there is nothing."
    )
    followed_teams = IdModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also follow",
        help_text="Their published post-mortems come first in your digest, beside your own teams'.",
    )

    def __init__(self, *args, own_team_ids: set[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["followed_teams"].queryset = Team.objects.exclude(pk__in=own_team_ids).order_by("name")
