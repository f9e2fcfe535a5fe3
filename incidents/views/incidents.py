"""Incident pages: the list, the detail with its actions, declare and edit."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from config.confirmation import Confirmation, confirmation_page, is_confirmed
from experiments.forms import IncidentExperimentForm
from experiments.selectors import game_day_of_drill, incident_experiment_candidates, incident_rollouts
from experiments.services.experiments import experiment_incident_attach
from incidents.filters import IncidentFilterSet
from incidents.forms import (
    NO_TEAM,
    IncidentDeclareForm,
    IncidentEditForm,
    LinkDeploymentForm,
    LinkModelVersionForm,
    MilestonesForm,
    NoteForm,
    OwnerForm,
    RelateForm,
    SeverityForm,
    StarForm,
)
from incidents.models import (
    Deployment,
    IncidentKind,
    IncidentStatus,
    LinkRole,
    ModelVersion,
    RegisteredModel,
    Severity,
    TimelineEntry,
)
from incidents.pagination import CappedPaginator
from incidents.selectors.incidents import (
    incident_deployment_candidates,
    incident_deployment_links,
    incident_durations,
    incident_find_by_reference,
    incident_get_visible,
    incident_linked_model_ids,
    incident_list,
    incident_model_version_candidates,
    incident_model_version_links,
    incident_open_counts,
    incident_related_visible,
    incident_timeline,
    user_can_change_incident,
)
from incidents.services import incidents as services
from incidents.services.incidents import NOT_A_TEAM_MEMBER, IncidentRuleError, InvalidTransition

PAGE_SIZE = 25
INCIDENT_NOT_FOUND = "No incident {reference} that you can see."
UNLINK_DETAIL = (
    "Its role on {reference} (cause, suspect or related) is forgotten; the {thing} itself and the timeline stay "
    "as they are. You can link it again from the incident's page."
)
UNRELATE_DETAIL = "Neither incident changes otherwise; you can relate them again by reference."
COMMON_ENVIRONMENTS = ["production", "staging", "canary", "shadow", "development"]

# Status actions on the detail page: the verb, the service, and the statuses it starts from.
STATUS_ACTIONS = {
    "mitigate": (services.incident_mitigate, "Mitigated: the impact has stopped."),
    "resolve": (services.incident_resolve, "Resolved. Time to learn from it."),
    "close": (services.incident_close, "Closed."),
    "reopen": (services.incident_reopen, "Reopened."),
}


def _visible_incident(request, pk):
    """Return the incident or raise 404: a restricted incident does not exist for outsiders."""
    incident = incident_get_visible(user=request.user, pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _changeable_incident(request, pk):
    """Return the incident when the user may change it; 404 when hidden, 403 when only readable."""
    incident = _visible_incident(request, pk)
    if not user_can_change_incident(user=request.user, incident=incident):
        raise PermissionDenied(NOT_A_TEAM_MEMBER.format(team=incident.team))
    return incident


def incident_index(request):
    """List the incidents the user sees, with filters, search, sorting and open counts."""
    filterset = IncidentFilterSet(request.GET or None, queryset=incident_list(user=request.user))
    if filterset.is_bound and not filterset.is_valid():
        queryset = incident_list(user=request.user).none()
        status = 400
    else:
        queryset = filterset.qs
        status = 200
    page = CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    from teams.models import Team

    context = {
        "filterset": filterset,
        "page": page,
        "open_counts": incident_open_counts(user=request.user),
        "teams": Team.objects.order_by("name").only("id", "name", "slug"),
        # Models are organisation-wide; the filter matches a name across teams, so each name is offered once.
        "models": RegisteredModel.objects.order_by("name").values_list("name", flat=True).distinct(),
        "statuses": IncidentStatus.choices,
        "severities": Severity.choices,
        "kinds": IncidentKind.choices,
        "selected": {key: request.GET.getlist(key) for key in ("status", "severity")},
        "environments": COMMON_ENVIRONMENTS,
    }
    return render(request, "incidents/incident_list.html", context, status=status)


def _postmortem_start_url(incident) -> str:
    try:
        return reverse("postmortems:start", kwargs={"pk": incident.pk})
    except NoReverseMatch:
        try:
            return reverse("postmortems:start", args=[incident.pk])
        except NoReverseMatch:
            return ""


def _detail_context(request, incident, **forms) -> dict:
    can_change = user_can_change_incident(user=request.user, incident=incident)
    version_links = incident_model_version_links(incident=incident)
    model_ids = incident_linked_model_ids(incident=incident, version_links=version_links)
    status = incident.status
    timeline = incident_timeline(incident=incident, model_ids=model_ids)
    first_entry = next((item.entry for item in timeline if item.entry is not None), None)
    context = {
        "incident": incident,
        "opened_by": first_entry.source_label if first_entry else "",
        "can_change": can_change,
        "tags": list(incident.tags.all()),
        "durations": incident_durations(incident=incident),
        "timeline": timeline,
        "deployment_links": incident_deployment_links(incident=incident),
        "version_links": version_links,
        "related": incident_related_visible(incident=incident, user=request.user),
        "roles": LinkRole.choices,
        "severities": Severity.choices,
        "can_acknowledge": incident.acknowledged_at is None and status in services.ACKNOWLEDGEABLE_STATUSES,
        "status_actions": [
            action
            for action, target in (
                ("mitigate", "mitigated"),
                ("resolve", "resolved"),
                ("close", "closed"),
                ("reopen", "open"),
            )
            if target in services.ALLOWED_TRANSITIONS[status]
        ],
        "postmortem_start_url": _postmortem_start_url(incident),
        "is_over": status in ("resolved", "closed"),
        "rollouts": incident_rollouts(incident=incident, user=request.user),
        "game_day": game_day_of_drill(incident=incident, user=request.user),
    }
    if can_change:
        context.update(
            {
                "note_form": forms.get("note_form") or NoteForm(),
                "severity_form": forms.get("severity_form") or SeverityForm(initial={"severity": incident.severity}),
                "owner_form": forms.get("owner_form")
                or OwnerForm(incident=incident, initial={"owner": incident.owner_id}),
                "milestones_form": forms.get("milestones_form")
                or MilestonesForm(initial=MilestonesForm.initial_from(incident)),
                "relate_form": forms.get("relate_form") or RelateForm(),
                "experiment_form": forms.get("experiment_form")
                or IncidentExperimentForm(experiments=incident_experiment_candidates(incident=incident)),
                "deployment_candidates": incident_deployment_candidates(incident=incident),
                "version_candidates": incident_model_version_candidates(incident=incident),
                "open_panel": forms.get("open_panel", ""),
            }
        )
    return context


def incident_detail(request, pk):
    incident = _visible_incident(request, pk)
    return render(request, "incidents/incident_detail.html", _detail_context(request, incident))


def _refused(request, incident, error_message: str, **forms):
    """Re-render the detail page with the error, answering 400."""
    messages.error(request, error_message)
    incident = _visible_incident(request, incident.pk)
    return render(request, "incidents/incident_detail.html", _detail_context(request, incident, **forms), status=400)


@require_POST
def incident_acknowledge(request, pk):
    incident = _changeable_incident(request, pk)
    try:
        services.incident_acknowledge(incident=incident, actor=request.user)
    except IncidentRuleError as error:
        return _refused(request, incident, str(error))
    messages.success(request, "Acknowledged. Thank you for picking it up.")
    return redirect(incident)


@require_POST
def incident_status_action(request, pk, action):
    if action not in STATUS_ACTIONS:
        raise Http404("Unknown action.")
    incident = _changeable_incident(request, pk)
    service, done = STATUS_ACTIONS[action]
    try:
        service(incident=incident, actor=request.user, note=request.POST.get("note", "").strip()[:500])
    except InvalidTransition as error:
        return _refused(request, incident, str(error))
    messages.success(request, done)
    return redirect(incident)


@require_POST
def incident_severity(request, pk):
    incident = _changeable_incident(request, pk)
    form = SeverityForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Choose a severity.", severity_form=form, open_panel="severity")
    try:
        services.incident_change_severity(
            incident=incident,
            severity=form.cleaned_data["severity"],
            actor=request.user,
            note=form.cleaned_data["note"],
        )
    except IncidentRuleError as error:
        return _refused(request, incident, str(error), severity_form=form, open_panel="severity")
    messages.success(request, f"Severity is now {form.cleaned_data['severity']}.")
    return redirect(incident)


@require_POST
def incident_owner(request, pk):
    incident = _changeable_incident(request, pk)
    form = OwnerForm(request.POST, incident=incident)
    if not form.is_valid():
        return _refused(request, incident, "Choose a member of the team as owner.", owner_form=form, open_panel="owner")
    try:
        services.incident_assign_owner(incident=incident, owner=form.cleaned_data["owner"], actor=request.user)
    except IncidentRuleError as error:
        return _refused(request, incident, str(error), owner_form=form, open_panel="owner")
    messages.success(request, "Owner updated.")
    return redirect(incident)


@require_POST
def incident_milestones(request, pk):
    incident = _changeable_incident(request, pk)
    form = MilestonesForm(request.POST)
    if form.is_valid():
        try:
            services.incident_update_milestones(incident=incident, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Milestones saved.")
            return redirect(incident)
    return _refused(
        request,
        incident,
        "The milestones were not saved: see the marked fields.",
        milestones_form=form,
        open_panel="milestones",
    )


@require_POST
def incident_note(request, pk):
    incident = _changeable_incident(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            entry = services.timeline_note_add(incident=incident, author=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(f"{incident.get_absolute_url()}#entry-{entry.pk}")
    return _refused(request, incident, "The note was not added: " + _form_errors(form), note_form=form)


def _form_errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@require_POST
def incident_star(request, pk, entry_id):
    incident = _changeable_incident(request, pk)
    entry = get_object_or_404(TimelineEntry, pk=entry_id, incident=incident)
    form = StarForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Say whether to star or unstar the entry.")
    services.timeline_entry_star(entry=entry, starred=form.cleaned_data["starred"], actor=request.user)
    return redirect(f"{incident.get_absolute_url()}#entry-{entry.pk}")


def _change_links(request, incident, change, *, done: str):
    """Make a change to the incident's links; on a broken rule re-render the page with it (400), else go back."""
    try:
        change()
    except IncidentRuleError as error:
        return _refused(request, incident, str(error))
    messages.success(request, done)
    return redirect(f"{incident.get_absolute_url()}#links")


@require_POST
def incident_link_deployment(request, pk):
    incident = _changeable_incident(request, pk)
    form = LinkDeploymentForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Choose a deployment and a role: " + _form_errors(form))
    deployment = (
        Deployment.objects.select_related("model_version__model").filter(pk=form.cleaned_data["deployment"]).first()
    )
    if deployment is None:
        return _refused(request, incident, "That deployment does not exist.")
    role = form.cleaned_data["role"]
    return _change_links(
        request,
        incident,
        lambda: services.incident_set_deployment_role(
            incident=incident, deployment=deployment, role=role, actor=request.user
        ),
        done="Deployment link saved.",
    )


def _deployment_name(deployment) -> str:
    what = deployment.model_version or deployment.sha[:8] or deployment.pipeline
    return f"the deployment of {what} to {deployment.environment or 'an unknown environment'}"


def _confirm_unlink(request, incident, name: str, thing: str):
    """Ask before unlinking a deployment or model version from the incident."""
    return confirmation_page(
        request,
        Confirmation(
            question=f"Unlink {name} from {incident.reference}?",
            detail=UNLINK_DETAIL.format(reference=incident.reference, thing=thing),
            button="Unlink",
            back_url=f"{incident.get_absolute_url()}#links",
        ),
    )


@require_POST
def incident_unlink_deployment(request, pk, deployment_id):
    incident = _changeable_incident(request, pk)
    deployment = get_object_or_404(Deployment.objects.select_related("model_version__model"), pk=deployment_id)
    if not is_confirmed(request):
        return _confirm_unlink(request, incident, _deployment_name(deployment), "deployment")
    return _change_links(
        request,
        incident,
        lambda: services.incident_unlink_deployment(incident=incident, deployment=deployment, actor=request.user),
        done="Deployment unlinked.",
    )


@require_POST
def incident_link_model_version(request, pk):
    incident = _changeable_incident(request, pk)
    form = LinkModelVersionForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Choose a model version and a role: " + _form_errors(form))
    version = ModelVersion.objects.select_related("model").filter(pk=form.cleaned_data["model_version"]).first()
    if version is None:
        return _refused(request, incident, "That model version does not exist.")
    role = form.cleaned_data["role"]
    return _change_links(
        request,
        incident,
        lambda: services.incident_set_model_version_role(
            incident=incident, model_version=version, role=role, actor=request.user
        ),
        done=f"{version} is linked as {role}.",
    )


@require_POST
def incident_unlink_model_version(request, pk, version_id):
    incident = _changeable_incident(request, pk)
    version = get_object_or_404(ModelVersion.objects.select_related("model"), pk=version_id)
    if not is_confirmed(request):
        return _confirm_unlink(request, incident, str(version), "model version")
    return _change_links(
        request,
        incident,
        lambda: services.incident_unlink_model_version(incident=incident, model_version=version, actor=request.user),
        done=f"{version} unlinked.",
    )


@require_POST
def incident_relate(request, pk):
    incident = _changeable_incident(request, pk)
    form = RelateForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Give the related incident's reference, e.g. INC-12.", relate_form=form)
    other = incident_find_by_reference(reference=form.cleaned_data["reference"], user=request.user)
    if other is None:
        form.add_error("reference", INCIDENT_NOT_FOUND.format(reference=form.cleaned_data["reference"]))
        return _refused(request, incident, _form_errors(form), relate_form=form)
    try:
        services.incident_relate(incident=incident, other=other, actor=request.user)
    except IncidentRuleError as error:
        return _refused(request, incident, str(error), relate_form=form)
    messages.success(request, f"Related to {other.reference}.")
    return redirect(f"{incident.get_absolute_url()}#related")


@require_POST
def incident_attach_experiment(request, pk):
    """Attach the incident to the arm of an experiment it happened in (a rollout's failure declared by hand)."""
    incident = _changeable_incident(request, pk)
    form = IncidentExperimentForm(request.POST, experiments=incident_experiment_candidates(incident=incident))
    if not form.is_valid():
        return _refused(request, incident, _form_errors(form), experiment_form=form, open_panel="experiment")
    try:
        link = experiment_incident_attach(
            experiment=form.cleaned_data["experiment"],
            incident=incident,
            arm=form.cleaned_data["arm"],
            actor=request.user,
        )
    except ValidationError as error:
        return _refused(request, incident, " ".join(error.messages), experiment_form=form, open_panel="experiment")
    messages.success(request, f"{incident.reference} happened on the {link.get_arm_display().lower()} arm.")
    return redirect(incident)


@require_POST
def incident_unrelate(request, pk, other_id):
    incident = _changeable_incident(request, pk)
    other = incident_get_visible(user=request.user, pk=other_id)
    if other is None:
        raise Http404("No such incident.")
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Stop relating {incident.reference} and {other.reference}?",
                detail=UNRELATE_DETAIL,
                button="Remove the relation",
                back_url=f"{incident.get_absolute_url()}#related",
            ),
        )
    try:
        services.incident_unrelate(incident=incident, other=other, actor=request.user)
    except IncidentRuleError as error:
        return _refused(request, incident, str(error))
    messages.success(request, f"No longer related to {other.reference}.")
    return redirect(f"{incident.get_absolute_url()}#related")


def incident_declare(request):
    """Declare an incident by hand: members of a team (or staff) only."""
    form = IncidentDeclareForm(request.POST or None, user=request.user)
    if not form.fields["team"].queryset.exists():
        raise PermissionDenied(NO_TEAM)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            incident = services.incident_open(
                team=data["team"],
                title=data["title"],
                kind=data["kind"],
                severity=data["severity"],
                environment=data["environment"].strip(),
                model=data["model"],
                started_at=data["started_at"],
                detected_at=data["detected_at"],
                owner=request.user if data["lead"] else None,
                summary=data["summary"],
                impact=data["impact"],
                restricted=data["restricted"],
                tags=data["tags"],
                created_by=request.user,
            )
            messages.success(request, f"{incident.reference} declared. The timeline has started.")
            return redirect(incident)
        status = 400
    context = {"form": form, "environments": COMMON_ENVIRONMENTS}
    return render(request, "incidents/incident_declare.html", context, status=status)


def incident_edit(request, pk):
    incident = _changeable_incident(request, pk)
    if request.method == "POST":
        form = IncidentEditForm(request.POST)
        if form.is_valid():
            try:
                services.incident_update(incident=incident, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Incident updated.")
                return redirect(incident)
        status = 400
    else:
        form = IncidentEditForm(initial=IncidentEditForm.initial_from(incident))
        status = 200
    context = {"form": form, "incident": incident, "environments": COMMON_ENVIRONMENTS}
    return render(request, "incidents/incident_edit.html", context, status=status)
