"""What a reader of insights chooses: team, model, environment, period, and comparison with the period before.

One form reads the query string of the page, the CSV downloads and the API alike,
so a link carries the same view everywhere.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.http import urlencode

from config.validation import BooleanFormField, DateFormField, IdFormField
from incidents.models import RegisteredModel
from teams.models import Team

# DORA's four keys describe what reaches users: without an environment chosen they count production.
DORA_DEFAULT_ENVIRONMENT = "production"
MAX_PERIOD_DAYS = 3 * 366

CUSTOM_PERIOD_NEEDS_DATES = "A custom period needs a start and an end date."
PERIOD_ENDS_BEFORE_START = "The period ends before it starts."
PERIOD_TOO_LONG = f"Choose a period of at most {MAX_PERIOD_DAYS} days."
UNKNOWN_TEAM = "No team has that slug."
UNKNOWN_MODEL = "No model has that id."


class Period(models.TextChoices):
    FOUR_WEEKS = "4w", "Last 4 weeks"
    QUARTER = "quarter", "Last quarter (13 weeks)"
    YEAR = "year", "Last year (52 weeks)"
    CUSTOM = "custom", "Custom"


PERIOD_WEEKS = {Period.FOUR_WEEKS: 4, Period.QUARTER: 13, Period.YEAR: 52}
DEFAULT_PERIOD = Period.QUARTER


@dataclass(frozen=True)
class InsightsFilters:
    """A chosen view: ``start`` and ``end`` are dates, both included."""

    start: date
    end: date
    period: str = DEFAULT_PERIOD
    team: Team | None = None
    model: RegisteredModel | None = None
    environment: str = ""
    compare: bool = False

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def dora_environment(self) -> str:
        return self.environment or DORA_DEFAULT_ENVIRONMENT

    def previous(self) -> "InsightsFilters":
        """Return the same view over the period of equal length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def week_starts(self) -> list[date]:
        """Return the Monday of every week the period touches, oldest first."""
        first = self.start - timedelta(days=self.start.weekday())
        return [first + timedelta(weeks=index) for index in range((self.end - first).days // 7 + 1)]

    def query(self, **changes) -> str:
        """Return the query string of this view (with ``changes``), for links that keep the filters."""
        values = {
            "period": self.period,
            "team": self.team.slug if self.team else "",
            "model": self.model.pk if self.model else "",
            "environment": self.environment,
        }
        if self.period == Period.CUSTOM:
            values |= {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.compare:
            values["compare"] = "1"
        values |= changes
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})


def period_dates(period: str, today: date) -> tuple[date, date]:
    """Return the first and last day of a preset period: whole weeks up to and including today's."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=PERIOD_WEEKS[period] - 1), today


class InsightsFilterForm(forms.Form):
    team = forms.SlugField(required=False, max_length=100)
    model = IdFormField(required=False)
    environment = forms.CharField(required=False, max_length=100)
    period = forms.ChoiceField(choices=Period.choices, required=False)
    start = DateFormField(required=False)
    end = DateFormField(required=False)
    compare = BooleanFormField()

    def clean_team(self):
        slug = self.cleaned_data["team"]
        if not slug:
            return None
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise forms.ValidationError(UNKNOWN_TEAM)
        return team

    def clean_model(self):
        pk = self.cleaned_data["model"]
        if pk is None:
            return None
        model = RegisteredModel.objects.select_related("team").filter(pk=pk).first()
        if model is None:
            raise forms.ValidationError(UNKNOWN_MODEL)
        return model

    def clean(self):
        data = super().clean()
        period = data.get("period") or DEFAULT_PERIOD
        data["period"] = period
        start, end = data.get("start"), data.get("end")
        if period == Period.CUSTOM:
            if start is None or end is None:
                if not self.errors:
                    raise forms.ValidationError(CUSTOM_PERIOD_NEEDS_DATES)
                return data
            if end < start:
                raise forms.ValidationError(PERIOD_ENDS_BEFORE_START)
            if (end - start).days + 1 > MAX_PERIOD_DAYS:
                raise forms.ValidationError(PERIOD_TOO_LONG)
        else:
            data["start"], data["end"] = period_dates(period, timezone.localdate())
        return data

    def filters(self) -> InsightsFilters:
        """Return the chosen view; call only once the form is valid."""
        data = self.cleaned_data
        return InsightsFilters(
            start=data["start"],
            end=data["end"],
            period=data["period"],
            team=data["team"],
            model=data["model"],
            environment=data["environment"].strip(),
            compare=data["compare"],
        )


def insights_filters_default() -> InsightsFilters:
    """Return the view shown before anything is chosen: every team and model over the default period."""
    start, end = period_dates(DEFAULT_PERIOD, timezone.localdate())
    return InsightsFilters(start=start, end=end)
