"""Forms of the team pages: adding a member, the team's settings."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from teams.models import Membership, Team, operations_budget_default
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
        fields = ["name", "description", "timezone", "digest_weekday", "digest_hour", "operations_budget_hours"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        members = self.instance.memberships.count() if self.instance.pk else 0
        hours, share = settings.INSIGHTS_WORKING_HOURS_PER_WEEK, settings.INSIGHTS_OPERATIONS_SHARE
        self.fields["operations_budget_hours"].help_text = (
            "Hours per week the team may spend on incidents and operational follow-ups. Empty: "
            f"{share:.0%} of each member's {hours:g}-hour week, now {members} members: "
            f"{operations_budget_default(members=members):g} h."
        )
