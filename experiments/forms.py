"""Forms of the game-day pages. They check shapes; the services check the rules."""

from django import forms
from django.contrib.auth import get_user_model

from config.validation import DateTimeFormField, DecimalFormField, IdModelMultipleChoiceField
from config.widgets import IsoDateTimeInput
from experiments.models import Arm, ExperimentOutcome, InjectionKind
from experiments.services.game_days import MAX_DURATION_MINUTES
from incidents.models import RegisteredModel
from teams.models import Team

User = get_user_model()

UNKNOWN_TEAM = "No team has that slug. Pick one from the list."
UNKNOWN_MODEL = "No model has that name. Pick one from the list."
UNKNOWN_ENVIRONMENT = "No experiment you can see ran in that environment. Pick one from the list."
UNKNOWN_OUTCOME = "That is not an outcome. Pick one from the list."

HELD_CHOICES = [("yes", "It held"), ("no", "It did not hold")]


def _person_label(user) -> str:
    return f"{user.get_full_name()} (@{user.username})" if user.get_full_name() else user.username


class GameDayPlanForm(forms.Form):
    team = forms.ModelChoiceField(queryset=None, empty_label=None)
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "Stale features in scoring"}))
    hypothesis = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown. A falsifiable statement: if X fails, the system does Y and we notice within Z.",
    )
    injection_kind = forms.ChoiceField(choices=InjectionKind.choices, label="What is injected")
    injection = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="How",
        help_text="Markdown. Exactly what you will do, and for how long.",
    )
    model = forms.ModelChoiceField(queryset=None, required=False, empty_label="No model")
    environment = forms.CharField(max_length=100, required=False)
    component = forms.CharField(max_length=200, required=False, help_text="The part of the system the failure hits.")
    blast_radius = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    abort_conditions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="When anyone stops it at once."
    )
    scheduled_at = DateTimeFormField(widget=IsoDateTimeInput(), label="Starts at", help_text="UTC.")
    duration_minutes = forms.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES, initial=60, label="Minutes")
    facilitator = forms.ModelChoiceField(queryset=None, required=False, empty_label="Me")
    participants = IdModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, help_text="Reminded the day before."
    )
    restricted = forms.BooleanField(required=False, help_text="Only the team and staff can see a restricted game day.")

    def __init__(self, *args, user, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        from teams.models import Team

        teams = Team.objects.order_by("name")
        if not user.is_staff:
            teams = teams.filter(memberships__user=user)
        if team is not None:
            teams = teams.filter(pk=team.pk)
        self.fields["team"].queryset = teams
        self.fields["model"].queryset = RegisteredModel.objects.filter(team__in=teams).select_related("team")
        self.fields["model"].label_from_instance = lambda model: f"{model.name} ({model.team.name})"
        people = User.objects.filter(is_active=True, memberships__team__in=teams).distinct().order_by("username")
        self.fields["facilitator"].queryset = people
        self.fields["facilitator"].label_from_instance = _person_label
        self.fields["participants"].queryset = people
        self.fields["participants"].label_from_instance = _person_label

    @classmethod
    def initial_from(cls, game_day) -> dict:
        return {
            "team": game_day.team_id,
            "title": game_day.title,
            "hypothesis": game_day.hypothesis,
            "injection_kind": game_day.injection_kind,
            "injection": game_day.injection,
            "model": game_day.model_id,
            "environment": game_day.environment,
            "component": game_day.component,
            "blast_radius": game_day.blast_radius,
            "abort_conditions": game_day.abort_conditions,
            "scheduled_at": game_day.scheduled_at,
            "duration_minutes": game_day.duration_minutes,
            "facilitator": game_day.facilitator_id,
            "participants": [person.pk for person in game_day.participants.all()],
            "restricted": game_day.restricted,
        }


class GameDayFinishForm(forms.Form):
    held = forms.ChoiceField(choices=HELD_CHOICES, widget=forms.RadioSelect, label="Did the hypothesis hold?")
    observations = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown. What happened, what the signals showed, what surprised you.",
    )


class GameDayAbortForm(forms.Form):
    reason = forms.CharField(
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Which abort condition was met, or what changed.",
    )


class TrafficStepForm(forms.Form):
    percent = DecimalFormField(
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        label="Candidate traffic (%)",
        help_text="0.5 for half a percent.",
    )
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"placeholder": "Why now"}))


OUTCOME_CHOICES = [("promoted", "Promote the candidate"), ("rolled_back", "Roll back"), ("aborted", "Abort")]


class ConcludeForm(forms.Form):
    outcome = forms.ChoiceField(choices=OUTCOME_CHOICES, widget=forms.RadioSelect, label="Outcome")
    reason = forms.CharField(
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown. What decided it: the deciding metric, a failure, a change of plan.",
    )


class IncidentExperimentForm(forms.Form):
    """Attach an incident to the arm of an experiment it happened in (on the incident's page)."""

    experiment = forms.ModelChoiceField(queryset=None, empty_label=None, label="Experiment")
    arm = forms.ChoiceField(
        choices=Arm.choices, initial=Arm.CANDIDATE, widget=forms.RadioSelect, label="The arm it hit"
    )

    def __init__(self, *args, experiments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["experiment"].queryset = experiments
        # Short enough for the incident page's dropdown: the reference and the candidate say which.
        self.fields["experiment"].label_from_instance = lambda experiment: (
            f"{experiment.reference} · {experiment.candidate_label} ({experiment.get_kind_display().lower()})"
        )


class ExperimentFilterForm(forms.Form):
    """Filter the experiments list by the team's slug, the model's name, the environment and the outcome.

    The query parameters are the ones links have always used; the page offers each as a list. Teams and
    models are organisation-wide, so every one is offered; environments come from the experiments the
    person sees, so a restricted experiment's environment is neither offered nor confirmed.
    """

    team = forms.CharField(required=False, max_length=100, error_messages={"max_length": UNKNOWN_TEAM})
    model = forms.CharField(required=False, max_length=200, error_messages={"max_length": UNKNOWN_MODEL})
    environment = forms.CharField(required=False, max_length=100, error_messages={"max_length": UNKNOWN_ENVIRONMENT})
    outcome = forms.CharField(required=False, max_length=20, error_messages={"max_length": UNKNOWN_OUTCOME})

    def __init__(self, *args, environments: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = list(Team.objects.order_by("name").values_list("slug", "name"))
        self.models = list(RegisteredModel.objects.order_by("name").values_list("name", flat=True).distinct())
        self.environments = environments
        self.outcomes = ExperimentOutcome.choices

    def clean_team(self) -> str:
        slug = self.cleaned_data["team"]
        if slug and slug not in {value for value, _ in self.teams}:
            raise forms.ValidationError(UNKNOWN_TEAM)
        return slug

    def clean_model(self) -> str:
        name = self.cleaned_data["model"]
        if name and name not in self.models:
            raise forms.ValidationError(UNKNOWN_MODEL)
        return name

    def clean_environment(self) -> str:
        environment = self.cleaned_data["environment"]
        if not environment:
            return ""
        # Links written by hand matched the environment whatever its case; keep answering them.
        known = {value.lower(): value for value in self.environments}
        if environment.lower() not in known:
            raise forms.ValidationError(UNKNOWN_ENVIRONMENT)
        return known[environment.lower()]

    def clean_outcome(self) -> str:
        outcome = self.cleaned_data["outcome"]
        if outcome and outcome not in ExperimentOutcome.values:
            raise forms.ValidationError(UNKNOWN_OUTCOME)
        return outcome
