"""Pages of post-mortem templates: the built-in ones to read and copy, a team's own to edit."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.confirmation import Confirmation, confirmation_page, is_confirmed
from postmortems.forms import SectionForm, TemplateCreateForm, TemplateForm
from postmortems.models import Template, TemplateSection
from postmortems.selectors.templates import template_get_visible, template_list
from postmortems.services.templates import (
    TemplateError,
    template_archive,
    template_create,
    template_section_add,
    template_section_delete,
    template_section_move,
    template_section_update,
    template_update,
)
from teams.models import Team
from teams.selectors import user_is_team_member, user_team_ids

NOT_YOUR_TEMPLATE = "Only members of {team} can change its templates."
SECTION_REMOVE_DETAIL = (
    "New post-mortems written with {template} no longer have this section; post-mortems already written keep it."
)
ARCHIVE_DETAIL = (
    "New post-mortems can no longer start from it; those written with it keep their sections. Restore undoes it."
)


def _my_teams(user):
    if user.is_staff:
        return Team.objects.order_by("name")
    return Team.objects.filter(id__in=user_team_ids(user=user)).order_by("name")


def _editable_template(request, pk) -> Template:
    template = template_get_visible(user=request.user, pk=pk)
    if template is None:
        raise Http404("No such template.")
    if template.is_builtin or not user_is_team_member(user=request.user, team=template.team):
        raise PermissionDenied(NOT_YOUR_TEMPLATE.format(team=template.team or "a team"))
    return template


@require_http_methods(["GET", "POST"])
def template_index(request):
    teams = _my_teams(request.user)
    team_ids = None if request.user.is_staff else user_team_ids(user=request.user)
    templates = list(template_list(team_ids=team_ids, include_inactive=True))
    form = TemplateCreateForm(
        request.POST or None,
        teams=teams,
        # Each choice is labelled with its team: read them with the templates, not one query per choice.
        templates=Template.objects.filter(pk__in=[template.pk for template in templates]).select_related("team"),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                template = template_create(
                    team=data["team"], name=data["name"], copy_from=data["copy_from"], actor=request.user
                )
            except TemplateError as error:
                form.add_error("name", str(error))
            else:
                messages.success(request, f"Template {template.name!r} created. Shape its sections below.")
                return redirect("postmortems:template-detail", pk=template.pk)
        status = 400
    context = {
        "builtin": [template for template in templates if template.is_builtin],
        "team_templates": [template for template in templates if not template.is_builtin],
        "form": form if teams else None,
    }
    return render(request, "postmortems/templates/list.html", context, status=status)


def _detail_context(request, template, **extra) -> dict:
    can_edit = not template.is_builtin and user_is_team_member(user=request.user, team=template.team)
    sections = list(template.sections.all())
    return {
        "template": template,
        "sections": sections,
        "can_edit": can_edit,
        "template_form": TemplateForm(
            initial={
                "name": template.name,
                "description": template.description,
                "incident_kinds": template.incident_kinds,
            }
        )
        if can_edit
        else None,
        "section_forms": [
            (
                section,
                SectionForm(
                    prefix=f"s{section.pk}",
                    initial={
                        "title": section.title,
                        "prompt": section.prompt,
                        "help_text": section.help_text,
                        "kind": section.kind,
                        "prefill": section.prefill,
                        "required": section.required,
                    },
                ),
            )
            for section in sections
        ]
        if can_edit
        else [(section, None) for section in sections],
        "add_form": SectionForm(prefix="new") if can_edit else None,
        "copy_form": TemplateCreateForm(
            teams=_my_teams(request.user),
            templates=Template.objects.filter(pk=template.pk),
            initial={"copy_from": template.pk, "name": f"{template.name} (our version)"},
        ),
        **extra,
    }


@require_GET
def template_detail(request, pk):
    template = template_get_visible(user=request.user, pk=pk)
    if template is None:
        raise Http404("No such template.")
    return render(request, "postmortems/templates/detail.html", _detail_context(request, template))


@require_POST
def template_edit(request, pk):
    template = _editable_template(request, pk)
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            template_update(template=template, **form.cleaned_data)
        except TemplateError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, "Template saved.")
            return redirect("postmortems:template-detail", pk=template.pk)
    context = _detail_context(request, template, template_form=form)
    return render(request, "postmortems/templates/detail.html", context, status=400)


@require_POST
def template_archive_view(request, pk):
    template = _editable_template(request, pk)
    active = request.POST.get("active") == "1"
    if not active and not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Archive the template {template.name}?",
                detail=ARCHIVE_DETAIL,
                button="Archive",
                back_url=reverse("postmortems:template-detail", args=[template.pk]),
            ),
        )
    template_archive(template=template, active=active)
    messages.success(request, "Template restored." if active else "Template archived: new post-mortems cannot use it.")
    return redirect("postmortems:template-detail", pk=template.pk)


@require_POST
def template_section_add_view(request, pk):
    template = _editable_template(request, pk)
    form = SectionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            template_section_add(template=template, **form.cleaned_data)
        except TemplateError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Section added.")
            return redirect("postmortems:template-detail", pk=template.pk)
    context = _detail_context(request, template, add_form=form)
    return render(request, "postmortems/templates/detail.html", context, status=400)


@require_POST
def template_section_edit_view(request, pk, section_pk):
    template = _editable_template(request, pk)
    section = get_object_or_404(TemplateSection, pk=section_pk, template=template)
    form = SectionForm(request.POST, prefix=f"s{section.pk}")
    if form.is_valid():
        try:
            template_section_update(section=section, **form.cleaned_data)
        except TemplateError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Section {section.title!r} saved.")
            url = reverse("postmortems:template-detail", kwargs={"pk": template.pk})
            return redirect(f"{url}#section-{section.pk}")
    context = _detail_context(request, template)
    context["section_forms"] = [
        (item, form if item.pk == section.pk else bound) for item, bound in context["section_forms"]
    ]
    context["open_section"] = section.pk
    return render(request, "postmortems/templates/detail.html", context, status=400)


@require_POST
def template_section_move_view(request, pk, section_pk):
    template = _editable_template(request, pk)
    section = get_object_or_404(TemplateSection, pk=section_pk, template=template)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "Move a section up or down.")
    else:
        template_section_move(section=section, offset=-1 if direction == "up" else 1)
    return redirect("postmortems:template-detail", pk=template.pk)


@require_POST
def template_section_delete_view(request, pk, section_pk):
    template = _editable_template(request, pk)
    section = get_object_or_404(TemplateSection, pk=section_pk, template=template)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Remove the section {section.title} from {template.name}?",
                detail=SECTION_REMOVE_DETAIL.format(template=template.name),
                button="Remove the section",
                back_url=reverse("postmortems:template-detail", args=[template.pk]),
            ),
        )
    try:
        template_section_delete(section=section)
    except TemplateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Section {section.title!r} removed. Post-mortems written with it keep it.")
    return redirect("postmortems:template-detail", pk=template.pk)
