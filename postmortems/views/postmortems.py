"""Pages of post-mortems: list, start, read, write (with preview, autosave and merge), history, export."""

import itertools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.api import json_error
from config.confirmation import Confirmation, confirmation_page, is_confirmed
from config.validation import VersionFormField
from incidents.selectors.incidents import incident_get_visible
from postmortems.diff import diff_text, diff_versions
from postmortems.document import to_markdown
from postmortems.editor import (
    CONFLICT,
    FACTORS_PREFIX,
    MINE,
    build_blocks,
    factor_inputs,
    merge_sections,
    parse_sections,
    shown_keys,
)
from postmortems.forms import (
    FactorFormSet,
    InviteReviewerForm,
    PostmortemFilterForm,
    ReopenForm,
    ReviewForm,
    StartForm,
    SubmitForm,
    factor_link_choices,
)
from postmortems.models import (
    PostmortemAutosave,
    PostmortemReviewer,
    PostmortemStatus,
    ReviewDecision,
    SectionKind,
)
from postmortems.selectors.coach import document_findings, organisation_coach, postmortem_findings
from postmortems.selectors.facts import incident_facts
from postmortems.selectors.postmortems import (
    factor_snapshot,
    postmortem_authors,
    postmortem_current_approvals,
    postmortem_for_incident,
    postmortem_lessons,
    postmortem_list,
    postmortem_reader_copy,
    postmortem_stale_approvals,
    postmortem_status_counts,
    postmortem_version,
    postmortem_versions,
    user_can_edit_postmortem,
    user_is_reviewer,
    user_sees_working_copy,
)
from postmortems.selectors.templates import template_for_incident, template_list
from postmortems.services.postmortems import (
    EditConflict,
    PostmortemError,
    PostmortemPermissionError,
    PublishBlocked,
    missing_required_sections,
    postmortem_autosave,
    postmortem_autosave_discard,
    postmortem_publish,
    postmortem_reopen,
    postmortem_review,
    postmortem_reviewer_add,
    postmortem_reviewer_remove,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from postmortems.views.common import detail_url, incident_url, postmortem_for_request
from teams.selectors import user_is_team_member, user_team_ids

PAGE_SIZE = 25
BAD_VERSION = "The form did not say which version it edits; reload the page and try again."
NO_FIELDS = "Nothing to save: the form sent no section."
FIX_ERRORS = "Some fields need attention; nothing was saved."
DISCARD_DETAIL = (
    "The text restored from your last autosave is thrown away; the post-mortem goes back to its last saved version."
)
REVIEWER_REMOVE_DETAIL = (
    "They are no longer asked to review, and the invitation is withdrawn; the reviews they already gave stay."
)


# List ---------------------------------------------------------------------------------


@require_GET
def postmortem_index(request):
    form = PostmortemFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    postmortems = postmortem_list(
        user=request.user,
        team_id=filters["team"].pk if filters.get("team") else None,
        status=filters.get("status") or None,
        query=filters.get("q") or "",
        reviewing=bool(filters.get("reviewing")),
    )
    page = Paginator(postmortems, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "postmortems": page.object_list,
        "counts": postmortem_status_counts(user=request.user),
        "query": query.urlencode(),
        "statuses": PostmortemStatus,
    }
    return render(request, "postmortems/list.html", context, status=200 if form.is_valid() or not request.GET else 400)


# Start --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def postmortem_start_view(request, incident_pk):
    # A restricted incident answers outsiders as a missing one would, before anything else is said of it.
    incident = incident_get_visible(user=request.user, pk=incident_pk)
    if incident is None:
        raise Http404("No such incident.")
    existing = postmortem_for_incident(incident)
    if existing is not None:
        return redirect(existing)
    if not user_is_team_member(user=request.user, team=incident.team):
        raise PermissionDenied(f"Only members of {incident.team} can start this incident's post-mortem.")
    templates = template_list(team_ids=[incident.team_id]).prefetch_related("sections")
    suggested = template_for_incident(incident=incident)
    form = StartForm(request.POST or None, templates=templates, initial={"template": suggested.pk})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                postmortem = postmortem_start(
                    incident=incident, actor=request.user, template=form.cleaned_data["template"]
                )
            except PostmortemError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Post-mortem started: the incident's facts are filled in. Write away.")
                return redirect("postmortems:edit", pk=postmortem.pk)
        status = 400
    context = {
        "incident": incident,
        "incident_url": incident_url(incident),
        "form": form,
        "templates": templates,
        "suggested": suggested,
        "selected": form.data.get("template") or str(suggested.pk),
        "facts": incident_facts(incident=incident),
    }
    return render(request, "postmortems/start.html", context, status=status)


# Read ---------------------------------------------------------------------------------


def _reader_copy(request, postmortem) -> dict:
    """Return what the user reads (``postmortem_reader_copy``); 404 when there is nothing yet."""
    copy = postmortem_reader_copy(user=request.user, postmortem=postmortem)
    if copy is None:
        raise Http404("No such post-mortem.")
    return copy


def _review_state(postmortem) -> list[dict]:
    """Return each invited reviewer with their latest decision on the current revision."""
    latest = {}
    for review in postmortem.reviews.all():
        if review.revision == postmortem.revision and review.decision != ReviewDecision.COMMENT:
            latest[review.reviewer_id] = review
    return [{"reviewer": reviewer, "review": latest.get(reviewer.user_id)} for reviewer in postmortem.reviewers.all()]


@require_GET
def postmortem_detail_view(request, pk):
    postmortem = postmortem_for_request(request, pk)
    user = request.user
    can_edit = user_can_edit_postmortem(user=user, postmortem=postmortem)
    is_reviewer = user_is_reviewer(user=user, postmortem=postmortem)
    copy = _reader_copy(request, postmortem)
    working = copy["working"]
    coach = organisation_coach()
    blocks = build_blocks(
        sections=postmortem.sections,
        content=copy["content"],
        coach=coach,
        factor_count=len(copy["factors"]),
        blank_steps=False,
    )
    findings = postmortem_findings(postmortem=postmortem, coach=coach) if working else []
    lessons = postmortem_lessons(postmortem=postmortem, content=copy["content"])
    if lessons:
        # The lessons lead the page as key learnings; they are not repeated further down.
        blocks = [block for block in blocks if block.section["kind"] != SectionKind.LESSONS]
    status = postmortem.status
    approvals = postmortem_current_approvals(postmortem=postmortem)
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "incident_url": incident_url(postmortem.incident),
        "copy": copy,
        "blocks": blocks,
        "working": working,
        "can_edit": can_edit,
        "is_reviewer": is_reviewer,
        "findings": findings,
        "open_findings": [item for item in findings if not item.acknowledged],
        "lessons": lessons,
        "authors": postmortem_authors(postmortem=postmortem, up_to=copy["version"]),
        "approved_by": list(
            dict.fromkeys(
                review.reviewer
                for review in postmortem.reviews.all()
                if review.decision == ReviewDecision.APPROVE and review.version == copy["version"] and review.reviewer
            )
        ),
        "reviewers": _review_state(postmortem),
        "comments": [review for review in postmortem.reviews.all() if review.comment],
        "approvals": approvals,
        # Offered "Approve version N" only while this reader has not approved version N.
        "approved_by_you": any(review.reviewer_id == user.pk for review in approvals),
        "stale_approvals": postmortem_stale_approvals(postmortem=postmortem),
        "missing": missing_required_sections(postmortem) if can_edit and status == PostmortemStatus.DRAFT else [],
        "submit_form": SubmitForm(team=postmortem.incident.team, exclude_user=user)
        if can_edit and status == PostmortemStatus.DRAFT
        else None,
        "invite_form": InviteReviewerForm() if can_edit and status != PostmortemStatus.PUBLISHED else None,
        "review_form": ReviewForm() if (is_reviewer or can_edit) and status != PostmortemStatus.PUBLISHED else None,
        "can_decide": is_reviewer and status == PostmortemStatus.IN_REVIEW and postmortem.submitted_by_id != user.pk,
        "reopen_form": ReopenForm() if can_edit and status == PostmortemStatus.PUBLISHED else None,
        "reading_published": not working or status == PostmortemStatus.PUBLISHED,
        "newer_revision_in_progress": not working and status != PostmortemStatus.PUBLISHED,
    }
    return render(request, "postmortems/detail.html", context)


# Write --------------------------------------------------------------------------------


def _factor_initial(factors: list[dict]) -> list[dict]:
    return [
        {
            "id": factor.get("id"),
            "category": factor.get("category", ""),
            "description": factor.get("description", ""),
            "model_version": factor.get("model_version_id"),
            "deployment": factor.get("deployment_id"),
        }
        for factor in factors
    ]


def _factor_formset(postmortem, *, data=None, initial=None):
    versions, deployments = factor_link_choices(postmortem.incident)
    return FactorFormSet(
        data,
        prefix=FACTORS_PREFIX,
        initial=initial,
        form_kwargs={"model_versions": versions, "deployments": deployments},
    )


def _mode(request) -> tuple[str, str | None]:
    source = request.POST if request.method == "POST" else request.GET
    mode = "guided" if source.get("mode") == "guided" else "all"
    return mode, source.get("step")


def _step_keys(postmortem, mode: str, step: str | None) -> tuple[list[str], str | None]:
    keys = [section["key"] for section in postmortem.sections]
    if mode != "guided":
        return keys, None
    current = step if step in keys else keys[0]
    return [current], current


def _editor_context(
    request, postmortem, *, title, content, factor_formset, based_on, keys, mode, step, errors=None, note="", **extra
) -> dict:
    coach = organisation_coach()
    sections = postmortem.sections
    factor_count = postmortem.factors.count()
    if factor_formset is not None and factor_formset.is_bound and factor_formset.is_valid():
        factor_count = sum(1 for item in factor_inputs(factor_formset) if not item.delete and not item.is_blank)
    blocks = build_blocks(
        sections=sections, content=content, coach=coach, factor_count=factor_count, keys=keys, errors=errors
    )
    factor_texts = [{"key": factor.pk, "description": factor.description} for factor in postmortem.factors.all()]
    summary = document_findings(sections=sections, content=content, title=title, factors=factor_texts, coach=coach)
    all_blocks = build_blocks(sections=sections, content=content, coach=coach, factor_count=factor_count)
    steps = []
    ordered = [section["key"] for section in sections]
    for block in all_blocks:
        steps.append(
            {
                "key": block.key,
                "title": block.section["title"],
                "required": block.section["required"],
                "filled": block.filled,
                "findings": len(block.findings),
                "current": block.key == step,
            }
        )
    position = ordered.index(step) if step in ordered else None
    return {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "incident_url": incident_url(postmortem.incident),
        "title_value": title,
        "blocks": blocks,
        "factor_formset": factor_formset,
        "shows_factors": any(block.section["kind"] == SectionKind.CONTRIBUTING_FACTORS for block in blocks),
        "based_on": based_on,
        "keys": ",".join(keys),
        "mode": mode,
        "step": step,
        "steps": steps,
        "previous_step": ordered[position - 1] if position else None,
        "next_step": ordered[position + 1] if position is not None and position + 1 < len(ordered) else None,
        "summary": summary,
        "errors": errors or {},
        "note": note,
        **extra,
    }


@require_http_methods(["GET", "POST"])
def postmortem_edit(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        messages.info(request, "This post-mortem is published and read-only: reopen it to write a new revision.")
        return redirect(postmortem)
    mode, step = _mode(request)
    keys, step = _step_keys(postmortem, mode, step)
    if request.method == "POST":
        return _edit_post(request, postmortem, mode=mode, step=step)
    autosave = PostmortemAutosave.objects.filter(postmortem=postmortem, user=request.user).first()
    factor_initial = _factor_initial(factor_snapshot(postmortem.factors.all()))
    title, content, based_on = postmortem.title, postmortem.content, postmortem.version
    if autosave is not None:
        content = {**postmortem.content, **autosave.content}
        title = autosave.title or postmortem.title
        based_on = autosave.based_on
        factor_initial = autosave.factors or factor_initial
    context = _editor_context(
        request,
        postmortem,
        title=title,
        content=content,
        factor_formset=_factor_formset(postmortem, initial=factor_initial),
        based_on=based_on,
        keys=keys,
        mode=mode,
        step=step,
        autosave=autosave,
    )
    return render(request, "postmortems/edit.html", context)


def _edit_post(request, postmortem, *, mode, step):
    data = request.POST
    sections = postmortem.sections
    keys = shown_keys(data, sections)
    content, errors = parse_sections(data, sections, keys)
    title = data.get("title") if "title" in data else None
    note = data.get("note", "")
    shows_factors = any(s["kind"] == SectionKind.CONTRIBUTING_FACTORS and s["key"] in keys for s in sections)
    formset = (
        _factor_formset(postmortem, data=data) if shows_factors and f"{FACTORS_PREFIX}-TOTAL_FORMS" in data else None
    )
    if formset is not None and not formset.is_valid():
        errors["factors"] = "Check the contributing factors."
    try:
        based_on = int(data.get("based_on", ""))
    except ValueError:
        based_on = None
        errors["based_on"] = BAD_VERSION
    action = data.get("action", "save")

    def again(status: int, message: str = ""):
        if message:
            messages.error(request, message)
        context = _editor_context(
            request,
            postmortem,
            title=postmortem.title if title is None else title,
            content={**postmortem.content, **content},
            factor_formset=formset
            if formset is not None
            else _factor_formset(postmortem, initial=_factor_initial(factor_snapshot(postmortem.factors.all()))),
            based_on=based_on if based_on is not None else postmortem.version,
            keys=keys or [s["key"] for s in sections],
            mode=mode,
            step=step,
            errors=errors,
            note=note,
            previewing=action == "preview",
        )
        return render(request, "postmortems/edit.html", context, status=status)

    if errors:
        return again(400, errors.get("based_on") or FIX_ERRORS)
    if action == "preview":
        return again(200)
    if not keys and title is None:
        return again(400, NO_FIELDS)
    factors = factor_inputs(formset) if formset is not None else None
    try:
        saved, changed = postmortem_save(
            postmortem=postmortem,
            actor=request.user,
            based_on=based_on,
            title=title,
            content=content,
            factors=factors,
            note=note,
        )
    except EditConflict as conflict:
        return _merge_page(
            request, postmortem, conflict, title=title, content=content, keys=keys, formset=formset, note=note
        )
    except PostmortemError as error:
        return again(400, str(error))
    if changed:
        messages.success(request, f"Saved version {saved.version}.")
    else:
        messages.info(request, "Nothing had changed; no new version was made.")
    url = reverse("postmortems:edit", kwargs={"pk": saved.pk})
    if action == "save-close":
        return redirect(saved)
    if mode == "guided":
        ordered = [section["key"] for section in sections]
        target = step
        if action == "save-next" and step in ordered and ordered.index(step) + 1 < len(ordered):
            target = ordered[ordered.index(step) + 1]
        if action == "save-previous" and step in ordered and ordered.index(step) > 0:
            target = ordered[ordered.index(step) - 1]
        return redirect(f"{url}?mode=guided&step={target}")
    return redirect(url)


def _factors_touched(formset, postmortem) -> bool:
    """Return whether the submitted factors differ from the ones saved now."""
    if formset is None or not formset.is_valid():
        return formset is not None
    saved = {factor.pk: factor for factor in postmortem.factors.all()}
    for item in factor_inputs(formset):
        if item.is_blank:
            continue
        row = saved.get(item.id)
        if item.delete or row is None:
            return True
        if (row.category, row.description, row.model_version_id, row.deployment_id) != (
            item.category,
            item.description.strip(),
            item.model_version_id,
            item.deployment_id,
        ):
            return True
    return False


def _merge_page(request, postmortem, conflict: EditConflict, *, title, content, keys, formset, note):
    """Answer 409 with both texts of every section both sides changed, and a form to save the merge."""
    current = conflict.postmortem
    base = postmortem_version(postmortem=postmortem, number=conflict.based_on)
    base_content = base.content if base else {}
    items = merge_sections(
        sections=current.sections, base=base_content, theirs=current.content, mine=content, keys=keys
    )
    for item in items:
        item.rows = min(max(len(item.text("mine").splitlines()), len(item.text("theirs").splitlines())) + 2, 24)
        if item.status == CONFLICT:
            lines = diff_text(item.text("theirs"), item.text("mine"), context=10**6)
            item.theirs_lines = [line for line in lines if line.kind != "added"]
            item.mine_lines = [line for line in lines if line.kind != "removed"]
    title_item = None
    base_title = base.title if base else current.title
    if title is not None and title != current.title and title != base_title:
        if current.title == base_title:
            title_item = {"status": MINE, "value": title}
        else:
            title_item = {"status": CONFLICT, "value": title, "theirs": current.title}
    context = {
        "postmortem": current,
        "incident": current.incident,
        "incident_url": incident_url(current.incident),
        "conflict": conflict,
        "items": items,
        "conflicts": [item for item in items if item.status == CONFLICT],
        "carried": [item for item in items if item.status == MINE],
        "taken": [item for item in items if item.status == "theirs"],
        "shown": ",".join(item.key for item in items if item.status in (CONFLICT, MINE)),
        "title_item": title_item,
        "factor_formset": formset if _factors_touched(formset, current) else None,
        "current_factors": factor_snapshot(current.factors.all()),
        "note": note or f"Merged with version {current.version}.",
        "theirs_author": current.updated_by,
    }
    return render(request, "postmortems/merge.html", context, status=409)


def _factors_to_coach(request, postmortem) -> list[dict]:
    """Return the factors the editor sent, as the coach reads them; the saved ones when it sent none or bad ones."""
    if f"{FACTORS_PREFIX}-TOTAL_FORMS" in request.POST:
        formset = _factor_formset(postmortem, data=request.POST)
        if formset.is_valid():
            return [
                # A factor not saved yet has no id: its row number keeps its findings apart from the others'.
                {"key": item.id or f"new-{index}", "description": item.description}
                for index, item in enumerate(factor_inputs(formset))
                if not item.is_blank and not item.delete
            ]
    return [{"key": factor.pk, "description": factor.description} for factor in postmortem.factors.all()]


@require_POST
def postmortem_preview(request, pk):
    """Answer the highlighted preview and coach findings of the submitted sections, as JSON."""
    postmortem = postmortem_for_request(request, pk, edit=True)
    sections = postmortem.sections
    keys = shown_keys(request.POST, sections)
    content, errors = parse_sections(request.POST, sections, keys)
    if errors:
        return json_error(400, next(iter(errors.values())), errors=errors)
    coach = organisation_coach()
    merged = {**postmortem.content, **content}
    title = request.POST.get("title", postmortem.title)[:300]
    blocks = build_blocks(sections=sections, content=merged, coach=coach, keys=keys, blank_steps=False)
    summary = document_findings(
        sections=sections, content=merged, title=title, factors=_factors_to_coach(request, postmortem), coach=coach
    )
    return JsonResponse(
        {
            "sections": {
                block.key: {
                    "html": block.html,
                    "steps": [
                        {"why_html": step.get("why_html", ""), "because_html": step.get("because_html", "")}
                        for step in block.steps
                    ],
                    "findings": [finding.as_dict() for finding in block.findings],
                    "filled": block.filled,
                }
                for block in blocks
            },
            "summary": [item.as_dict() for item in summary],
            "count": len(summary),
        }
    )


@require_POST
def postmortem_autosave_view(request, pk):
    """Keep the editor's unsaved text for this person; answer when it was kept, as JSON."""
    postmortem = postmortem_for_request(request, pk, edit=True)
    sections = postmortem.sections
    keys = shown_keys(request.POST, sections)
    content, errors = parse_sections(request.POST, sections, keys)
    if errors:
        return json_error(400, next(iter(errors.values())), errors=errors)
    try:
        based_on = VersionFormField().clean(request.POST.get("based_on"))
    except ValidationError:
        return json_error(400, BAD_VERSION)
    factors = None
    if f"{FACTORS_PREFIX}-TOTAL_FORMS" in request.POST:
        formset = _factor_formset(postmortem, data=request.POST)
        if formset.is_valid():
            factors = [
                {
                    "id": item.id,
                    "category": item.category,
                    "description": item.description,
                    "model_version_id": item.model_version_id,
                    "deployment_id": item.deployment_id,
                }
                for item in factor_inputs(formset)
                if not item.is_blank and not item.delete
            ]
    try:
        autosave = postmortem_autosave(
            postmortem=postmortem,
            actor=request.user,
            based_on=based_on,
            title=request.POST.get("title", postmortem.title),
            content=content,
            factors=factors,
        )
    except PostmortemError as error:
        return json_error(400, str(error))
    stamp = timezone.localtime(autosave.saved_at)
    return JsonResponse(
        {
            "saved_at": autosave.saved_at.isoformat(),
            "message": f"Draft autosaved at {stamp:%H:%M:%S}.",
            "newer_version": postmortem.version if postmortem.version != based_on else None,
        }
    )


@require_POST
def postmortem_autosave_discard_view(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question="Discard your unsaved changes?",
                detail=DISCARD_DETAIL,
                button="Discard them",
                back_url=reverse("postmortems:edit", args=[postmortem.pk]),
                back_label="Keep them",
            ),
        )
    postmortem_autosave_discard(postmortem=postmortem, actor=request.user)
    messages.info(request, "Your unsaved changes were discarded.")
    return redirect("postmortems:edit", pk=postmortem.pk)


# Review and publish --------------------------------------------------------------------


def _fail(request, postmortem, error: PostmortemError, anchor: str = ""):
    messages.error(request, str(error))
    if isinstance(error, PostmortemPermissionError):
        raise PermissionDenied(str(error))
    return redirect(detail_url(postmortem, anchor))


@require_POST
def postmortem_submit_view(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    form = SubmitForm(request.POST, team=postmortem.incident.team, exclude_user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect(detail_url(postmortem, "review"))
    try:
        postmortem_submit(postmortem=postmortem, actor=request.user, reviewers=form.people())
    except PostmortemError as error:
        return _fail(request, postmortem, error, "review")
    messages.success(request, "Sent for review. Reviewers can approve or ask for changes on this page.")
    return redirect(detail_url(postmortem, "review"))


@require_POST
def postmortem_reviewer_add_view(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    form = InviteReviewerForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["username"]))
        return redirect(detail_url(postmortem, "review"))
    try:
        reviewer = postmortem_reviewer_add(
            postmortem=postmortem, user=form.cleaned_data["username"], actor=request.user
        )
    except PostmortemError as error:
        return _fail(request, postmortem, error, "review")
    messages.success(request, f"{reviewer.user.get_full_name() or reviewer.user.username} is invited to review.")
    return redirect(detail_url(postmortem, "review"))


@require_POST
def postmortem_reviewer_remove_view(request, pk, reviewer_pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    reviewer = get_object_or_404(PostmortemReviewer, pk=reviewer_pk, postmortem=postmortem)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Remove {reviewer.user.username} as a reviewer?",
                detail=REVIEWER_REMOVE_DETAIL,
                button=f"Remove {reviewer.user.username}",
                back_url=detail_url(postmortem, "review"),
            ),
        )
    postmortem_reviewer_remove(reviewer=reviewer, actor=request.user)
    messages.success(request, f"{reviewer.user.username} is no longer a reviewer.")
    return redirect(detail_url(postmortem, "review"))


@require_POST
def postmortem_review_view(request, pk):
    postmortem = postmortem_for_request(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, request changes or comment.")
        return redirect(detail_url(postmortem, "review"))
    try:
        review = postmortem_review(
            postmortem=postmortem,
            reviewer=request.user,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
    except PostmortemError as error:
        return _fail(request, postmortem, error, "review")
    text = {
        ReviewDecision.APPROVE: f"You approved version {review.version}.",
        ReviewDecision.REQUEST_CHANGES: "You asked for changes: the post-mortem is back in draft.",
        ReviewDecision.COMMENT: "Comment added.",
    }[review.decision]
    messages.success(request, text)
    return redirect(detail_url(postmortem, "review"))


@require_POST
def postmortem_publish_view(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    acknowledgements = {
        fingerprint: request.POST.get(f"note-{fingerprint}", "")[:2000]
        for fingerprint in request.POST.getlist("acknowledge")[:500]
    }
    try:
        postmortem_publish(postmortem=postmortem, actor=request.user, acknowledgements=acknowledgements)
    except PublishBlocked as error:
        return _fail(request, postmortem, error, "publish")
    except PostmortemError as error:
        return _fail(request, postmortem, error, "publish")
    messages.success(request, "Published. Everyone in the organisation can read it now.")
    return redirect(postmortem)


@require_POST
def postmortem_reopen_view(request, pk):
    postmortem = postmortem_for_request(request, pk, edit=True)
    form = ReopenForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        postmortem = postmortem_reopen(postmortem=postmortem, actor=request.user, reason=reason)
    except PostmortemError as error:
        return _fail(request, postmortem, error)
    messages.success(
        request, f"Reopened as revision {postmortem.revision}. Readers see the published text until you publish again."
    )
    return redirect("postmortems:edit", pk=postmortem.pk)


# History -------------------------------------------------------------------------------


@require_GET
def postmortem_history(request, pk):
    postmortem = postmortem_for_request(request, pk)
    if not user_sees_working_copy(user=request.user, postmortem=postmortem):
        raise PermissionDenied("The history of a post-mortem is for its team and reviewers.")
    page = Paginator(postmortem_versions(postmortem=postmortem), 30).get_page(request.GET.get("page"))
    versions = list(page.object_list)
    # Each version is compared with the one before it, which may sit on the next page.
    previous = {}
    oldest = versions[-1].number if versions else 0
    if oldest > 1:
        before = postmortem_version(postmortem=postmortem, number=oldest - 1)
        if before:
            previous[oldest] = before
    for newer, older in itertools.pairwise(versions):
        previous[newer.number] = older
    rows = []
    titles = {section["key"]: section["title"] for section in postmortem.sections}
    for version in versions:
        older = previous.get(version.number)
        if older is None:
            changed = ["Started"]
        else:
            changed = [
                titles.get(key, key)
                for key in titles
                if (older.content.get(key) or "") != (version.content.get(key) or "")
            ]
            if older.title != version.title:
                changed.insert(0, "Title")
            if older.factors != version.factors:
                changed.append("Contributing factors")
        rows.append({"version": version, "changed": changed})
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "incident_url": incident_url(postmortem.incident),
        "rows": rows,
        "page": page,
    }
    return render(request, "postmortems/history.html", context)


@require_GET
def postmortem_diff(request, pk, number):
    postmortem = postmortem_for_request(request, pk)
    if not user_sees_working_copy(user=request.user, postmortem=postmortem):
        raise PermissionDenied("The history of a post-mortem is for its team and reviewers.")
    newer = postmortem_version(postmortem=postmortem, number=number)
    if newer is None:
        raise Http404("No such version.")
    try:
        against = VersionFormField(required=False).clean(request.GET.get("against")) or number - 1
    except ValidationError:
        against = number - 1
    older = postmortem_version(postmortem=postmortem, number=against) if against >= 1 else None
    diffs = diff_versions(
        sections=postmortem.sections,
        old_title=older.title if older else "",
        new_title=newer.title,
        old_content=older.content if older else {},
        new_content=newer.content,
        old_factors=older.factors if older else [],
        new_factors=newer.factors,
    )
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "incident_url": incident_url(postmortem.incident),
        "newer": newer,
        "older": older,
        "diffs": [diff for diff in diffs if diff.changed],
        "unchanged": [diff for diff in diffs if not diff.changed],
        "numbers": list(range(postmortem.version, 0, -1)),
    }
    return render(request, "postmortems/diff.html", context)


# Export --------------------------------------------------------------------------------


def _export_copy(request, postmortem) -> dict:
    return _reader_copy(request, postmortem)


@require_GET
def postmortem_markdown(request, pk):
    postmortem = postmortem_for_request(request, pk)
    copy = _export_copy(request, postmortem)
    incident = postmortem.incident
    header = [
        f"- **Incident:** {incident.reference} · {incident.title}",
        f"- **Severity:** {incident.severity} · **Status:** {postmortem.get_status_display()}",
        f"- **Template:** {postmortem.template_name} · **Revision** {postmortem.revision}, version {copy['version']}",
    ]
    durations = [f"{row['label']} {row['text']}" for row in postmortem.facts.get("durations", []) if row["seconds"]]
    if durations:
        header.append(f"- **Durations:** {' · '.join(durations)}")
    text = to_markdown(
        title=copy["title"],
        sections=postmortem.sections,
        content=copy["content"],
        factors=copy["factors"],
        header=header,
    )
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = f"{incident.reference.lower()}-{slugify(copy['title'])[:60] or 'post-mortem'}.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def postmortem_print(request, pk):
    postmortem = postmortem_for_request(request, pk)
    copy = _export_copy(request, postmortem)
    blocks = build_blocks(
        sections=postmortem.sections,
        content=copy["content"],
        coach=organisation_coach(),
        factor_count=len(copy["factors"]),
        blank_steps=False,
    )
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "copy": copy,
        "blocks": blocks,
        "lessons": postmortem_lessons(postmortem=postmortem, content=copy["content"]),
        "printed_at": timezone.now(),
        "user_team_ids": user_team_ids(user=request.user),
    }
    return render(request, "postmortems/print.html", context)
