"""Pages of the learnings library: the list, one learning, writing and editing, and proposed lessons."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.confirmation import Confirmation, confirmation_page, is_confirmed
from postmortems.learnings_forms import CATEGORY_LABELS, LearningFilterForm, LearningForm
from postmortems.models import Learning, LearningProposal
from postmortems.selectors.learnings import (
    learning_detail,
    learning_from_the_archive,
    learning_list,
    learning_proposal_count,
    learning_proposal_defaults,
    learning_proposals_open,
    learning_tag_names,
    user_can_decide_proposal,
    user_can_edit_learning,
)
from postmortems.services.learnings import (
    LearningError,
    LearningPermissionError,
    learning_create,
    learning_proposal_accept,
    learning_proposal_dismiss,
    learning_update,
)

PER_PAGE = 20


def _form_error(form, error: LearningError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_GET
def learning_index(request):
    filters = LearningFilterForm(request.GET or None)
    status = 200
    if filters.is_bound and not filters.is_valid():
        learnings = Learning.objects.none()
        status = 400
    else:
        cleaned = filters.cleaned_data if filters.is_bound else {}
        learnings = learning_list(
            team=cleaned.get("team"),
            tag=cleaned.get("tag"),
            category=cleaned.get("category"),
            model=cleaned.get("model"),
            since=cleaned.get("since"),
            until=cleaned.get("until"),
        )
    page = Paginator(learnings, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "filtered": filters.is_bound,
        "archive": learning_from_the_archive(today=timezone.localdate()),
        "proposal_count": learning_proposal_count(user=request.user),
        "tags": learning_tag_names()[:40],
        "category_labels": CATEGORY_LABELS,
    }
    return render(request, "postmortems/learnings/list.html", context, status=status)


@require_GET
def learning_page(request, pk):
    learning = learning_detail(pk=pk, user=request.user)
    if learning is None:
        raise Http404("No such learning.")
    context = {
        "learning": learning,
        "can_edit": user_can_edit_learning(user=request.user, learning=learning),
        "category_labels": CATEGORY_LABELS,
    }
    return render(request, "postmortems/learnings/detail.html", context)


def _learning_fields(form) -> dict:
    data = form.cleaned_data
    return {
        "title": data["title"],
        "body": data["body"],
        "team": data["team"],
        "tags": data["tags"],
        "registered_models": list(data["registered_models"]),
        "categories": data["categories"],
    }


@require_http_methods(["GET", "POST"])
def learning_new(request):
    if request.method == "POST":
        form = LearningForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                learning = learning_create(author=request.user, **_learning_fields(form))
            except LearningError as error:
                _form_error(form, error)
            else:
                messages.success(request, "Learning added to the library.")
                return redirect(learning)
        return render(request, "postmortems/learnings/form.html", {"form": form}, status=400)
    return render(request, "postmortems/learnings/form.html", {"form": LearningForm(user=request.user)})


@require_http_methods(["GET", "POST"])
def learning_edit(request, pk):
    learning = learning_detail(pk=pk, user=request.user)
    if learning is None:
        raise Http404("No such learning.")
    if not user_can_edit_learning(user=request.user, learning=learning):
        raise PermissionDenied("Only the author, members of the learning's team and admins can change it.")
    if request.method == "POST":
        form = LearningForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                learning_update(learning=learning, actor=request.user, **_learning_fields(form))
            except LearningError as error:
                _form_error(form, error)
            else:
                messages.success(request, "Learning saved.")
                return redirect(learning)
        return render(request, "postmortems/learnings/form.html", {"form": form, "learning": learning}, status=400)
    form = LearningForm(
        user=request.user,
        initial={
            "title": learning.title,
            "body": learning.body,
            "team": learning.team_id,
            "tags": ", ".join(tag.name for tag in learning.tags.all()),
            "registered_models": [model.pk for model in learning.registered_models.all()],
            "categories": [row.category for row in learning.categories.all()],
        },
    )
    return render(request, "postmortems/learnings/form.html", {"form": form, "learning": learning})


@require_GET
def proposal_index(request):
    proposals = learning_proposals_open(user=request.user)
    page = Paginator(proposals, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "postmortems/learnings/proposals.html", {"page": page})


def _decidable_proposal(request, pk) -> LearningProposal:
    # Proposed lessons are the team's inbox: to anyone else they answer as missing ones do.
    proposal = get_object_or_404(LearningProposal.objects.select_related("postmortem__incident__team"), pk=pk)
    if not user_can_decide_proposal(user=request.user, proposal=proposal):
        raise Http404("No such lesson.")
    return proposal


@require_http_methods(["GET", "POST"])
def proposal_accept(request, pk):
    proposal = _decidable_proposal(request, pk)
    if proposal.status != "proposed":
        messages.info(request, f"This lesson was already {proposal.get_status_display().lower()}.")
        return redirect("postmortems:learning-proposals")
    if request.method == "POST":
        form = LearningForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                learning = learning_proposal_accept(proposal=proposal, actor=request.user, **_learning_fields(form))
            except LearningPermissionError as error:
                raise PermissionDenied(error.message) from error
            except LearningError as error:
                _form_error(form, error)
            else:
                messages.success(request, "Lesson accepted into the library.")
                return redirect(learning)
        status = 400
    else:
        initial = learning_proposal_defaults(proposal=proposal)
        initial["team"] = initial["team"].pk
        initial["registered_models"] = [model.pk for model in initial["registered_models"]]
        form = LearningForm(user=request.user, initial=initial)
        status = 200
    context = {"form": form, "proposal": proposal}
    return render(request, "postmortems/learnings/accept.html", context, status=status)


@require_POST
def proposal_dismiss(request, pk):
    proposal = _decidable_proposal(request, pk)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question="Dismiss this lesson?",
                detail=f"“{proposal.text}” stays in the post-mortem but does not join the library.",
                button="Dismiss",
                back_url=reverse("postmortems:learning-proposals"),
            ),
        )
    try:
        learning_proposal_dismiss(proposal=proposal, actor=request.user)
    except LearningError as error:
        messages.info(request, error.message)
    else:
        messages.success(request, "Lesson dismissed; it stays in the post-mortem.")
    return redirect(reverse("postmortems:learning-proposals"))
