"""Forms of the team pages: adding a member, the team's settings."""

from django import forms
from django.contrib.auth import get_user_model

from teams.models import Membership, Team
from teams.selectors import users_not_in_team

User = get_user_model()


class MembershipAddForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Person")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users_not_in_team(team=team)
        self.fields["user"].label_from_instance = lambda user: (
            f"{user.get_full_name()} ({user.username})" if user.get_full_name() else user.username
        )


class TeamSettingsForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "description", "timezone", "digest_weekday", "digest_hour"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
