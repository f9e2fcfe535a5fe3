"""Forms of the post-mortem pages. Sections are read by ``editor.py``; everything else is here."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format

from config.validation import IdFormField, IdModelMultipleChoiceField
from incidents.models import Deployment, IncidentKind, ModelVersion
from postmortems.document import MAX_FACTORS
from postmortems.models import FACTOR_CATEGORY_GROUPS, PostmortemStatus, SectionKind, SectionPrefill, Template
from teams.models import Team

User = get_user_model()

UNKNOWN_USERNAMES = "No one is called {names}."
LINKED_DEPLOYMENTS = "Linked to this incident"
OTHER_RECENT_DEPLOYMENTS = "Other recent deployments of the team"
# Enough to reach back over the weeks before an incident without making the list a scroll.
OTHER_DEPLOYMENTS = 30


def _person_label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


class PostmortemFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="All teams")
    status = forms.ChoiceField(choices=[("", "Any status"), *PostmortemStatus.choices], required=False)
    reviewing = forms.BooleanField(required=False, label="Waiting for my review")


class StartForm(forms.Form):
    template = forms.ModelChoiceField(queryset=Template.objects.none(), widget=forms.RadioSelect, empty_label=None)

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates


class FactorForm(forms.Form):
    id = IdFormField(required=False, widget=forms.HiddenInput)
    category = forms.ChoiceField(choices=[("", "Choose a category…"), *FACTOR_CATEGORY_GROUPS], required=False)
    description = forms.CharField(
        required=False,
        max_length=10_000,
        # data-coach-input: the coach's "Use this rewrite" looks for the sentence in this field too.
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "A condition of the system, not a person", "data-coach-input": ""}
        ),
    )
    model_version = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Model version")
    deployment = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, model_versions=(), deployments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].choices = [("", "—"), *model_versions]
        self.fields["deployment"].choices = [("", "—"), *deployments]


FactorFormSet = forms.formset_factory(
    FactorForm, extra=1, can_delete=True, max_num=MAX_FACTORS, validate_max=True, absolute_max=MAX_FACTORS + 10
)


def factor_link_choices(incident) -> tuple[list, list]:
    """Return the model versions and deployments a factor of the incident may link to: its team's, linked first.

    Deployments come in two groups, those linked to the incident and the team's other recent ones,
    each newest first, in a fixed number of queries whatever their number.
    """
    linked_versions = set(incident.model_version_links.values_list("model_version_id", flat=True))
    linked_deployments = set(incident.deployment_links.values_list("deployment_id", flat=True))
    version_filter = {"model__team_id": incident.team_id}
    if incident.model_id:
        version_filter = {"model_id": incident.model_id}
    versions = list(ModelVersion.objects.filter(**version_filter).select_related("model")[:200])
    versions += list(ModelVersion.objects.filter(pk__in=linked_versions).exclude(pk__in=[v.pk for v in versions]))
    versions.sort(key=lambda version: (version.pk not in linked_versions, str(version)))
    recent = Deployment.objects.select_related("model_version__model").order_by("-last_event_at", "-pk")
    linked = list(recent.filter(pk__in=linked_deployments))
    others = list(recent.filter(team_id=incident.team_id).exclude(pk__in=linked_deployments)[:OTHER_DEPLOYMENTS])
    deployment_groups = [
        (label, [(deployment.pk, deployment_label(deployment)) for deployment in group])
        for label, group in ((LINKED_DEPLOYMENTS, linked), (OTHER_RECENT_DEPLOYMENTS, others))
        if group
    ]
    return [(version.pk, str(version)) for version in versions], deployment_groups


def deployment_label(deployment: Deployment) -> str:
    """Return the words that tell one deployment from another: model and version, environment, outcome, when.

    The time is there because a team often deploys the same version to the same place twice in a day.
    """
    what = str(deployment.model_version) if deployment.model_version_id else (deployment.sha[:8] or deployment.pipeline)
    moment = timezone.localtime(deployment.last_event_at)
    parts = [what, deployment.environment or "unknown environment", deployment.get_status_display().lower()]
    return " · ".join([*parts, date_format(moment, "j M Y H:i")])


class SubmitForm(forms.Form):
    reviewers = IdModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Reviewers from the team",
    )
    invite = forms.CharField(
        required=False,
        max_length=500,
        label="Invite others",
        help_text="User names, separated by commas: anyone in the organisation can review.",
    )

    def __init__(self, *args, team, exclude_user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reviewers"]
        field.queryset = (
            User.objects.filter(memberships__team=team, is_active=True).exclude(pk=exclude_user.pk).order_by("username")
        )
        field.label_from_instance = _person_label

    def clean_invite(self) -> list:
        names = [name.strip().lstrip("@") for name in self.cleaned_data["invite"].split(",") if name.strip()]
        users = list(User.objects.filter(username__in=names, is_active=True))
        missing = sorted(set(names) - {user.username for user in users})
        if missing:
            raise forms.ValidationError(UNKNOWN_USERNAMES.format(names=", ".join(missing)))
        return users

    def people(self) -> list:
        return [*self.cleaned_data["reviewers"], *self.cleaned_data["invite"]]


class InviteReviewerForm(forms.Form):
    username = forms.CharField(max_length=150, label="Invite a reviewer", help_text="Their user name.")

    def clean_username(self):
        name = self.cleaned_data["username"].strip().lstrip("@")
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(UNKNOWN_USERNAMES.format(names=name))
        return user


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("request_changes", "Request changes"), ("comment", "Comment")]
    )
    comment = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class ReopenForm(forms.Form):
    reason = forms.CharField(required=False, max_length=300, label="Why reopen?")


class NotNeededForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. Duplicate of INC-12; covered by its post-mortem."}
        ),
        label="Why is no post-mortem needed?",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class TemplateCreateForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    name = forms.CharField(max_length=120)
    copy_from = forms.ModelChoiceField(
        queryset=Template.objects.none(), required=False, empty_label="Start empty", label="Start from"
    )

    def __init__(self, *args, teams, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["copy_from"].queryset = templates


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    incident_kinds = forms.MultipleChoiceField(
        choices=IncidentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Default for incidents of kind",
    )


class SectionForm(forms.Form):
    title = forms.CharField(max_length=120)
    prompt = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    help_text = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Help")
    kind = forms.ChoiceField(choices=SectionKind.choices, initial=SectionKind.MARKDOWN, label="Input")
    prefill = forms.ChoiceField(choices=SectionPrefill.choices, required=False, label="Pre-fill with")
    required = forms.BooleanField(required=False)


class CoachCheckForm(forms.Form):
    text = forms.CharField(max_length=100_000, widget=forms.Textarea(attrs={"rows": 6}), label="Text to check")
