"""Shared API plumbing: error shape, JSON answers for API paths, and what every list's filters refuse."""

from django.http import JsonResponse
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework import routers, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from config.validation import ID_PATH_PATTERN, PARAMETER_EMPTY

FILTER_MEANINGLESS = "Not a value this filter knows."


def exception_handler(exc, context):
    """Return DRF's error body with a top-level ``message`` every client can show."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data:
        message = str(data["detail"])
    elif isinstance(data, dict):
        field, errors = next(iter(data.items()))
        first = errors[0] if isinstance(errors, list) and errors else errors
        message = f"{field}: {first}" if field != "non_field_errors" else str(first)
    elif isinstance(data, list) and data:
        message = str(data[0])
    else:
        message = "Request failed."
    if isinstance(data, dict):
        response.data = {"message": message, **data}
    else:
        response.data = {"message": message, "errors": data}
    return response


class IdLookupMixin:
    """Match detail routes looked up by ``pk`` on ids only, so ``/postmortems/abc/`` is a plain 404."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_field", "pk") == "pk" and not hasattr(viewset, "lookup_value_regex"):
            lookup = getattr(viewset, "lookup_url_kwarg", None) or "pk"
            return f"(?P<{lookup_prefix}{lookup}>{ID_PATH_PATTERN})"
        return super().get_lookup_regex(viewset, lookup_prefix)


class Router(IdLookupMixin, routers.SimpleRouter):
    pass


class RootRouter(IdLookupMixin, routers.DefaultRouter):
    pass


def json_error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing (400) a filter parameter that is given but says nothing.

    django-filter reads ``?status=`` and ``?is_active=maybe`` as "no filter", so a client's typo
    silently widens its list. The API says what it read instead: a parameter that is empty, or that
    its filter cannot read (a boolean that is neither true nor false), is named in the 400.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        errors = {}
        for name in filterset.filters:
            values = request.query_params.getlist(name)
            if not values:
                continue
            if any(not value.strip() for value in values):
                errors[name] = [PARAMETER_EMPTY]
            elif filterset.form.cleaned_data.get(name) is None:
                errors[name] = [FILTER_MEANINGLESS]
        if errors:
            raise ValidationError(errors)
        return filterset.qs


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page-number pagination, refusing (400) a ``page`` that is given but empty.

    DRF reads ``?page=`` as the first page, so a client that lost its page number reads page 1 again
    without knowing; a page that is no number stays DRF's 404 ("Invalid page.").
    """

    def get_page_number(self, request, paginator):
        if any(not value.strip() for value in request.query_params.getlist(self.page_query_param)):
            raise ValidationError({self.page_query_param: [PARAMETER_EMPTY]})
        return super().get_page_number(request, paginator)


class OptionalUrlField(serializers.URLField):
    """A URL column where blank means none: answered as null; null or "" clears it.

    The column stores "" for no URL, which is no URI; the API says null instead, as its schema does.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        return "" if value is None else value

    def to_representation(self, value):
        return value or None
