"""A second chance before a destructive action, with or without JavaScript.

A destructive form carries ``data-confirm`` (the question), ``data-confirm-detail`` and
``data-confirm-button``; ``js/confirm.js`` asks in a dialog and sends the form with ``confirm=yes``. A POST
that arrives without it (JavaScript off, or a form built elsewhere) changes nothing: its view answers with
``confirmation_page``, which asks the same question and sends the same fields again, confirmed.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "yes"


@dataclass(frozen=True)
class Confirmation:
    """What a destructive action asks before it runs: the question, what it means, its button, the way back."""

    question: str
    detail: str
    button: str
    back_url: str
    back_label: str = "Cancel"


def is_confirmed(request: HttpRequest) -> bool:
    """Return whether the request is a POST the person confirmed (in the dialog or on the confirmation page)."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirmation_page(request: HttpRequest, confirmation: Confirmation) -> HttpResponse:
    """Return the page that asks before the action, posting the request's own fields again with ``confirm=yes``."""
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in {"csrfmiddlewaretoken", CONFIRM_FIELD}
        for value in values
    ]
    return render(
        request,
        "confirm.html",
        {"confirmation": confirmation, "action": request.path, "fields": fields, "confirm_value": CONFIRM_VALUE},
    )
