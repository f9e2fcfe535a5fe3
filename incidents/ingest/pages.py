"""Pages of sources and their delivery logs. Visible to the source's team and staff only."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.confirmation import Confirmation, confirmation_page, is_confirmed
from config.markdown import render_markdown
from incidents.ingest.adapters import sender_for
from incidents.ingest.forms import (
    DeliveryFilterForm,
    RotateSecretForm,
    SourceCreateForm,
    SourceEditForm,
    severity_formset,
    severity_items,
)
from incidents.ingest.payload_preview import payload_preview
from incidents.ingest.views import delivery_reading, source_send_test_delivery
from incidents.models import Delivery, Source
from incidents.models.sources import default_environment_severity
from incidents.selectors.sources import (
    delivery_event_names,
    delivery_for_source,
    delivery_incidents,
    delivery_log,
    source_example_model,
    source_list_for_user,
    source_recent_figures,
    source_secret_list,
    source_visible_to,
)
from incidents.services.deliveries import delivery_replay
from incidents.services.sources import (
    GRACE_PERIODS,
    SourceRuleError,
    source_create,
    source_rotate_secret,
    source_update,
)
from teams.models import Team

NO_TEAM_TO_CREATE_FOR = "You need to belong to a team to add a source. Ask a team lead to add you."
SECRET_PLACEHOLDER = "YOUR_SECRET"
DELIVERIES_PER_PAGE = 25
SOURCES_PER_PAGE = 50
ROTATE_DETAIL = (
    "A new secret is issued and shown once. Deliveries signed with the old one are refused {when}: "
    "the sender needs the new secret by then."
)

# A secret is shown once: kept in the session between the POST that made it and the next page, then dropped.
_SECRET_SESSION_KEY = "source-secret-{pk}"


def _source_for(request, pk: int) -> Source:
    # Another team's source answers as a missing one: its name and team are not for outsiders.
    return get_object_or_404(source_visible_to(user=request.user).select_related("default_model"), pk=pk)


def _teams_for(user):
    if user.is_staff:
        return Team.objects.order_by("name")
    return Team.objects.filter(memberships__user=user).order_by("name")


def _all_valid(*forms) -> bool:
    # Validate every form (no short-circuit), so the page shows all errors at once.
    results = [form.is_valid() for form in forms]
    return all(results)


def _apply_service_errors(error: ValidationError, form) -> None:
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def _setup_html(source: Source, secret: str | None) -> str:
    model, version = source_example_model(source=source)
    text = sender_for(source.kind).instructions(
        webhook_url=source.webhook_url, secret=secret or SECRET_PLACEHOLDER, model=model, version=version
    )
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitised it


def _url_or_none(instance) -> str | None:
    try:
        return instance.get_absolute_url()
    except NoReverseMatch:  # the page of that object is not part of this deployment
        return None


def _web_url(url: str) -> str:
    # Run URLs come from payloads: only plain web links are ever turned into links.
    return url if url.lower().startswith(("https://", "http://")) else ""


@require_GET
def source_list(request):
    sources = Paginator(source_list_for_user(user=request.user), SOURCES_PER_PAGE).get_page(request.GET.get("page"))
    source_recent_figures(sources=sources.object_list)
    can_create = request.user.is_staff or _teams_for(request.user).exists()
    return render(request, "incidents/sources/list.html", {"page": sources, "can_create": can_create})


@require_http_methods(["GET", "POST"])
def source_new(request):
    teams = _teams_for(request.user)
    if not teams.exists():
        raise PermissionDenied(NO_TEAM_TO_CREATE_FOR)
    if request.method == "GET":
        form = SourceCreateForm(teams=teams, initial={"team": teams.first()})
        rows = severity_formset(default_environment_severity())
        return render(request, "incidents/sources/new.html", {"form": form, "severity_rows": rows})
    form = SourceCreateForm(request.POST, teams=teams)
    rows = severity_formset(data=request.POST)
    if _all_valid(form, rows):
        try:
            source, secret = source_create(
                team=form.cleaned_data["team"],
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                created_by=request.user,
                environment_severity=rows.mapping(),
                model_pattern=form.cleaned_data["model_pattern"],
                model_pattern_field=form.cleaned_data["model_pattern_field"],
            )
        except ValidationError as error:
            _apply_service_errors(error, form)
        else:
            request.session[_SECRET_SESSION_KEY.format(pk=source.pk)] = secret
            messages.success(request, f"Source {source.name} created.")
            return redirect(source)
    return render(request, "incidents/sources/new.html", {"form": form, "severity_rows": rows}, status=400)


def _detail_context(request, source: Source, **forms) -> dict:
    secret_once = request.session.pop(_SECRET_SESSION_KEY.format(pk=source.pk), None)
    events = delivery_event_names(source=source)
    filters = DeliveryFilterForm(request.GET or None, events=events)
    status = event = ""
    if filters.is_bound and filters.is_valid():
        status, event = filters.cleaned_data["status"], filters.cleaned_data["event"]
    deliveries = Paginator(delivery_log(source=source, status=status, event=event), DELIVERIES_PER_PAGE)
    page = deliveries.get_page(request.GET.get("page"))
    return {
        "source": source,
        "secret_once": secret_once,
        "setup_html": _setup_html(source, secret_once),
        "secret_placeholder": SECRET_PLACEHOLDER,
        "secrets": source_secret_list(source=source),
        "filters": filters,
        "filtered": bool(status or event),
        "page": page,
        "edit_form": forms.get("edit_form") or SourceEditForm(source=source),
        "severity_rows": forms.get("severity_rows") or severity_formset(source.environment_severity),
        "severity_map": severity_items(source.environment_severity),
        "rotate_form": forms.get("rotate_form") or RotateSecretForm(),
        "now": timezone.now(),
    }


@require_GET
def source_detail(request, pk: int):
    source = _source_for(request, pk)
    context = _detail_context(request, source)
    status = 400 if context["filters"].is_bound and not context["filters"].is_valid() else 200
    return render(request, "incidents/sources/detail.html", context, status=status)


@require_POST
def source_edit(request, pk: int):
    source = _source_for(request, pk)
    form = SourceEditForm(request.POST, source=source)
    rows = severity_formset(data=request.POST)
    if _all_valid(form, rows):
        try:
            source_update(source=source, environment_severity=rows.mapping(), **form.cleaned_data)
        except ValidationError as error:
            _apply_service_errors(error, form)
        else:
            messages.success(request, "Options saved.")
            return redirect(f"{source.get_absolute_url()}#options")
    context = _detail_context(request, source, edit_form=form, severity_rows=rows)
    context["options_open"] = True
    return render(request, "incidents/sources/detail.html", context, status=400)


@require_POST
def source_rotate(request, pk: int):
    source = _source_for(request, pk)
    form = RotateSecretForm(request.POST)
    if not form.is_valid():
        return render(
            request, "incidents/sources/detail.html", _detail_context(request, source, rotate_form=form), status=400
        )
    label = dict(GRACE_PERIODS)[form.cleaned_data["grace_seconds"]]
    if not is_confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Rotate the secret of {source.name}?",
                detail=ROTATE_DETAIL.format(when=f"after {label}" if form.cleaned_data["grace_seconds"] else "at once"),
                button="Rotate secret",
                back_url=f"{source.get_absolute_url()}#rotate",
            ),
        )
    now = timezone.now()
    grace = timedelta(seconds=form.cleaned_data["grace_seconds"])
    secret = source_rotate_secret(source=source, grace=grace, now=now)
    request.session[_SECRET_SESSION_KEY.format(pk=source.pk)] = secret
    if grace:
        messages.success(request, f"New secret issued. The previous one keeps working for {label}.")
    else:
        messages.success(request, "New secret issued. The previous one no longer works.")
    return redirect(source)


TEST_RECORDS_NOTHING = "As a test, it recorded no model, deployment or incident."


@require_POST
def source_test_delivery(request, pk: int):
    source = _source_for(request, pk)
    try:
        result = source_send_test_delivery(source=source)
    except SourceRuleError as error:
        messages.error(request, str(error))
        return redirect(source)
    detail = f" {result.message}" if result.message else ""
    if result.accepted:
        outcome = f" {result.outcome}" if result.outcome else ""
        messages.success(
            request,
            f"Test delivery sent: the webhook answered {result.status_code}.{detail}{outcome} {TEST_RECORDS_NOTHING}",
        )
    else:
        messages.error(request, f"Test delivery refused: the webhook answered {result.status_code}.{detail}")
    if result.delivery is not None:
        return redirect("incidents:delivery-detail", pk=source.pk, delivery_pk=result.delivery.pk)
    return redirect(f"{source.get_absolute_url()}#deliveries")


def _delivery_for(request, pk: int, delivery_pk: int) -> tuple[Source, Delivery]:
    source = _source_for(request, pk)
    delivery = delivery_for_source(source=source, delivery_pk=delivery_pk)
    if delivery is None:
        raise Http404("No such delivery of this source.")
    return source, delivery


@require_GET
def delivery_detail(request, pk: int, delivery_pk: int):
    source, delivery = _delivery_for(request, pk, delivery_pk)
    body = bytes(delivery.body or b"")
    incidents = [(incident, _url_or_none(incident)) for incident in delivery_incidents(delivery=delivery)]
    normalized = {key: value for key, value in (delivery.normalized or {}).items() if value not in ("", None, {}, [])}
    context = {
        "source": source,
        "delivery": delivery,
        "preview": payload_preview(body=body, content_type=delivery.content_type),
        "headers": sorted((delivery.headers or {}).items()),
        "normalized": normalized,
        "incidents": incidents,
        "run_url": _web_url(delivery.deployment.run_url) if delivery.deployment else "",
        "raw_url": reverse("incidents:delivery-raw", kwargs={"pk": source.pk, "delivery_pk": delivery.pk}),
        "reading": delivery_reading(delivery) if delivery.is_test else "",
    }
    return render(request, "incidents/sources/delivery_detail.html", context)


@require_GET
def delivery_raw(request, pk: int, delivery_pk: int):
    """Return the stored body byte for byte, as a download: never rendered by the browser."""
    _source, delivery = _delivery_for(request, pk, delivery_pk)
    response = HttpResponse(bytes(delivery.body or b""), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="delivery-{delivery.pk}.body"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def delivery_replay_view(request, pk: int, delivery_pk: int):
    source, delivery = _delivery_for(request, pk, delivery_pk)
    delivery_replay(delivery=delivery, actor=request.user)
    messages.success(request, "Replay queued: the delivery will be processed again with the current code.")
    return redirect("incidents:delivery-detail", pk=source.pk, delivery_pk=delivery.pk)
