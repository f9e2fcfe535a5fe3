"""Pages of experiments and game days: lists, details, and the game-day plan, start, finish and abort forms.

A restricted experiment or game day does not exist (404) for people outside
its team; members of the team change them (403 for the others).
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from experiments.forms import (
    ConcludeForm,
    ExperimentFilterForm,
    GameDayAbortForm,
    GameDayFinishForm,
    GameDayPlanForm,
    TrafficStepForm,
)
from experiments.models import GameDayState, share_label
from experiments.selectors import (
    experiment_get_visible,
    experiment_list,
    experiment_page,
    game_day_get_visible,
    game_day_list,
)
from experiments.services import experiments as experiment_services
from experiments.services import game_days as services
from experiments.services.game_days import user_can_run_game_day
from experiments.services.transitions import InvalidTransition
from incidents.pagination import CappedPaginator
from teams.selectors import user_is_team_member

PAGE_SIZE = 25
# What the services refuse with: a move the lifecycle forbids, or values they do not take. Both are a 400.
REFUSALS = (InvalidTransition, ValidationError)
NO_TEAM = "You need to belong to a team to plan a game day. Ask a team lead to add you."
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 180, 28


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


def _refusal(error: Exception) -> str:
    """Return the words of a service's refusal, for the page's message."""
    return str(error) if isinstance(error, InvalidTransition) else " ".join(error.messages)


def experiment_index(request):
    """List the experiments the user sees, filtered by team, model, environment and outcome."""
    queryset = experiment_list(user=request.user)
    environments = list(
        queryset.exclude(environment="").order_by("environment").values_list("environment", flat=True).distinct()[:100]
    )
    form = ExperimentFilterForm(request.GET or None, environments=environments)
    status = 200
    if form.is_bound and not form.is_valid():
        queryset, status = queryset.none(), 400
    elif form.is_bound:
        filters = form.cleaned_data
        if filters["team"]:
            queryset = queryset.filter(team__slug=filters["team"])
        if filters["model"]:
            queryset = queryset.filter(model__name=filters["model"])
        if filters["environment"]:
            queryset = queryset.filter(environment__iexact=filters["environment"])
        if filters["outcome"]:
            queryset = queryset.filter(outcome=filters["outcome"])
    page = CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    if form.is_bound and form.is_valid():
        filters = form.cleaned_data
    else:
        filters = {name: form[name].value() or "" for name in form.fields}
    return render(
        request, "experiments/experiment_list.html", {"page": page, "form": form, "filters": filters}, status=status
    )


@dataclass
class ChartPoint:
    x: float
    y: float


def _traffic_chart(page) -> dict:
    """Return the geometry of the traffic step chart: a step line, and a marker per incident."""
    experiment = page.experiment
    start = experiment.started_at
    end = experiment.ended_at or timezone.now()
    span = max((end - start).total_seconds(), 1)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x_of(moment) -> float:
        return round(CHART_PAD + inner_w * min(max((moment - start).total_seconds() / span, 0), 1), 1)

    def y_of(percent) -> float:
        return round(CHART_PAD + inner_h * (1 - float(percent) / 100), 1)

    points = [ChartPoint(x_of(start), y_of(0))]
    current = 0
    for step in page.steps:
        points.append(ChartPoint(x_of(step.at), y_of(current)))
        points.append(ChartPoint(x_of(step.at), y_of(step.percent)))
        current = step.percent
    points.append(ChartPoint(x_of(end), y_of(current)))
    markers = []
    for arm in page.arms:
        for link in arm.incidents:
            if getattr(link, "visible", False):
                markers.append(
                    {
                        "x": x_of(link.incident.started_at),
                        "y": y_of(link.traffic_percent or 0),
                        "arm": link.arm,
                        "label": f"{link.incident.reference} on the {link.arm}",
                    }
                )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "points": " ".join(f"{point.x},{point.y}" for point in points),
        "markers": markers,
        "gridlines": [{"y": y_of(percent), "label": f"{percent} %"} for percent in (0, 50, 100)],
        "left": CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "bottom": CHART_HEIGHT - CHART_PAD + 16,
        "start_label": start,
        "end_label": end,
    }


def _visible_experiment(request, pk):
    experiment = experiment_get_visible(user=request.user, pk=pk)
    if experiment is None:
        raise Http404("No such experiment.")
    return experiment


def _experiment_context(request, experiment, **forms) -> dict:
    page = experiment_page(user=request.user, experiment=experiment)
    return {
        "experiment": experiment,
        "page": page,
        "chart": _traffic_chart(page),
        "can_change": user_is_team_member(user=request.user, team=experiment.team),
        "step_form": forms.get("step_form") or TrafficStepForm(),
        "conclude_form": forms.get("conclude_form") or ConcludeForm(),
    }


def experiment_detail(request, pk):
    """Show the experiment: traffic over time, each arm's deployments, failures and incidents, the outcome."""
    experiment = _visible_experiment(request, pk)
    return render(request, "experiments/experiment_detail.html", _experiment_context(request, experiment))


def _changeable_experiment(request, pk):
    experiment = _visible_experiment(request, pk)
    if not user_is_team_member(user=request.user, team=experiment.team):
        raise PermissionDenied(experiment_services.NOT_A_TEAM_MEMBER.format(team=experiment.team))
    return experiment


def _experiment_refused(request, experiment, message: str, **forms):
    messages.error(request, message)
    context = _experiment_context(request, experiment, **forms)
    return render(request, "experiments/experiment_detail.html", context, status=400)


@require_POST
def experiment_step_page(request, pk):
    """Record the candidate's new traffic share, now."""
    experiment = _changeable_experiment(request, pk)
    form = TrafficStepForm(request.POST)
    if not form.is_valid():
        return _experiment_refused(request, experiment, experiment_services.STEP_PERCENT_RANGE, step_form=form)
    try:
        experiment_services.traffic_step_add(experiment=experiment, actor=request.user, **form.cleaned_data)
    except REFUSALS as error:
        return _experiment_refused(request, experiment, _refusal(error), step_form=form)
    share = share_label(form.cleaned_data["percent"])
    messages.success(request, f"The candidate now serves {share} % of traffic.")
    return redirect(experiment)


@require_POST
def experiment_conclude_page(request, pk):
    """Promote, roll back or abort the experiment, with the reason."""
    experiment = _changeable_experiment(request, pk)
    form = ConcludeForm(request.POST)
    if not form.is_valid():
        return _experiment_refused(request, experiment, experiment_services.REASON_REQUIRED, conclude_form=form)
    try:
        experiment_services.experiment_conclude(experiment=experiment, actor=request.user, **form.cleaned_data)
    except REFUSALS as error:
        return _experiment_refused(request, experiment, _refusal(error), conclude_form=form)
    messages.success(request, "Experiment concluded.")
    return redirect(experiment)


def game_day_index(request):
    """List the game days the user sees: running and planned first, then past ones."""
    queryset = game_day_list(user=request.user)
    state = request.GET.get("state", "").strip()
    if state in GameDayState.values:
        queryset = queryset.filter(state=state)
    page = CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "states": GameDayState.choices, "state": state}
    return render(request, "experiments/game_day_list.html", context)


def _visible_game_day(request, pk):
    game_day = game_day_get_visible(user=request.user, pk=pk)
    if game_day is None:
        raise Http404("No such game day.")
    return game_day


def _changeable_game_day(request, pk):
    game_day = _visible_game_day(request, pk)
    if not user_is_team_member(user=request.user, team=game_day.team):
        raise PermissionDenied(services.NOT_A_TEAM_MEMBER.format(team=game_day.team))
    return game_day


def _plan_values(data: dict) -> dict:
    values = dict(data)
    values.pop("team", None)
    values["participants"] = list(values.get("participants") or [])
    return values


def game_day_plan_page(request):
    """Plan a game day: members of a team (or staff) only."""
    from teams.models import Team

    team = Team.objects.filter(slug=request.GET.get("team", "")).first()
    form = GameDayPlanForm(request.POST or None, user=request.user, initial={"team": team.pk if team else None})
    if not form.fields["team"].queryset.exists():
        raise PermissionDenied(NO_TEAM)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = _plan_values(form.cleaned_data)
            values["facilitator"] = values["facilitator"] or request.user
            try:
                game_day = services.game_day_plan(team=form.cleaned_data["team"], actor=request.user, **values)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, f"{game_day.reference} planned. Participants are reminded the day before.")
                return redirect(game_day)
        status = 400
    return render(request, "experiments/game_day_form.html", {"form": form, "game_day": None}, status=status)


def game_day_edit(request, pk):
    """Change the plan of a game day that is not over."""
    game_day = _changeable_game_day(request, pk)
    if game_day.state in (GameDayState.FINISHED, GameDayState.ABORTED):
        messages.error(request, services.NOT_EDITABLE_WHEN_OVER.format(state=game_day.get_state_display().lower()))
        return redirect(game_day)
    data = request.POST or None
    form = GameDayPlanForm(data, user=request.user, team=game_day.team, initial=GameDayPlanForm.initial_from(game_day))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = _plan_values(form.cleaned_data)
            values["facilitator"] = values["facilitator"] or game_day.facilitator or request.user
            try:
                services.game_day_update(game_day=game_day, actor=request.user, **values)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, "Game day updated.")
                return redirect(game_day)
        status = 400
    return render(request, "experiments/game_day_form.html", {"form": form, "game_day": game_day}, status=status)


def _detail_context(request, game_day, **extra) -> dict:
    is_member = user_is_team_member(user=request.user, team=game_day.team)
    incident = None
    if game_day.incident_id:
        from incidents.selectors.incidents import incident_get_visible

        incident = incident_get_visible(user=request.user, pk=game_day.incident_id)
    context = {
        "game_day": game_day,
        "participants": list(game_day.participants.all()),
        "incident": incident,
        "is_member": is_member,
        "can_run": is_member and user_can_run_game_day(user=request.user, game_day=game_day),
        "allowed": services.game_day_allowed_actions(game_day=game_day),
        "finish_form": GameDayFinishForm(),
        "abort_form": GameDayAbortForm(),
    }
    context.update(extra)
    return context


def game_day_detail(request, pk):
    """Show the game day's plan, its state, its drill incident and what it taught."""
    game_day = _visible_game_day(request, pk)
    return render(request, "experiments/game_day_detail.html", _detail_context(request, game_day))


def _refused(request, game_day, message: str, **forms):
    messages.error(request, message)
    return render(request, "experiments/game_day_detail.html", _detail_context(request, game_day, **forms), status=400)


@require_POST
def game_day_start_page(request, pk):
    game_day = _changeable_game_day(request, pk)
    try:
        game_day = services.game_day_start(game_day=game_day, actor=request.user)
    except REFUSALS as error:
        return _refused(request, game_day, _refusal(error))
    messages.success(request, f"Game day started: {game_day.incident.reference} is its drill incident.")
    return redirect(game_day)


@require_POST
def game_day_finish_page(request, pk):
    game_day = _changeable_game_day(request, pk)
    form = GameDayFinishForm(request.POST)
    if not form.is_valid():
        return _refused(request, game_day, "Say whether the hypothesis held.", finish_form=form)
    try:
        game_day = services.game_day_finish(
            game_day=game_day,
            actor=request.user,
            hypothesis_held=form.cleaned_data["held"] == "yes",
            observations=form.cleaned_data["observations"],
        )
    except REFUSALS as error:
        return _refused(request, game_day, _refusal(error), finish_form=form)
    messages.success(request, "Game day finished. Its post-mortem has started with the hypothesis and timeline.")
    if game_day.incident_id:
        from postmortems.models import Postmortem

        postmortem = Postmortem.objects.filter(incident_id=game_day.incident_id).first()
        if postmortem is not None:
            return redirect(postmortem)
    return redirect(game_day)


@require_POST
def game_day_abort_page(request, pk):
    game_day = _changeable_game_day(request, pk)
    form = GameDayAbortForm(request.POST)
    if not form.is_valid():
        return _refused(request, game_day, services.ABORT_REASON_REQUIRED, abort_form=form)
    try:
        services.game_day_abort(game_day=game_day, actor=request.user, reason=form.cleaned_data["reason"])
    except REFUSALS as error:
        return _refused(request, game_day, _refusal(error), abort_form=form)
    messages.success(request, "Game day aborted.")
    return redirect(game_day)
