"""Shared API plumbing: error shape and JSON answers for API paths."""

from django.http import JsonResponse
from rest_framework.views import exception_handler as drf_exception_handler


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


def json_error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)
