"""Shared API plumbing: error shape and JSON answers for API paths."""

from django.http import JsonResponse
from rest_framework import routers
from rest_framework.views import exception_handler as drf_exception_handler

from config.validation import ID_PATH_PATTERN


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
