"""The webhook endpoint: authenticate at the edge, store raw, answer fast, process later.

Senders give up (and some disable the hook) when answers are slow, so this
view does only what decides the answer: find the source, bound the body,
check the signature on the raw bytes, count the request, read the event the
way the worker will, and commit the raw delivery. Everything else happens in a
task queued after the commit. Every refusal is JSON with a ``message``; when a
store the answer needs is down, the answer is 503 with Retry-After, never a
refusal the sender would not retry (docs/operations.md says what each fault
does).
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django import db
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse, UnreadablePostError
from django.test import RequestFactory
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from config.api import json_error
from incidents.ingest.adapters import sender_for
from incidents.ingest.batch import delivery_process
from incidents.ingest.edge import (
    SourceChanged,
    delivery_store,
    source_rate_limit_hit,
    webhook_source_get,
    webhook_source_verify,
)
from incidents.ingest.errors import IngestError, UnsupportedEvent
from incidents.models import Delivery, Source
from incidents.selectors.sources import source_valid_secrets
from incidents.services.sources import NO_SAMPLE, NO_VALID_SECRET, SOURCE_INACTIVE, SourceRuleError

logger = logging.getLogger(__name__)

UNKNOWN_SOURCE = "No active source has this webhook URL."
METHOD_NOT_ALLOWED = "Webhooks must be sent with POST, not {method}: set the sender's method to POST."
TOO_LARGE = "Body of {size} bytes is over the limit of {limit} bytes."
TOO_LARGE_STREAM = "Body is over the limit of {limit} bytes."
BODY_INCOMPLETE = "Body ended before its Content-Length: send it again."
RATE_LIMITED = "More than {limit} requests in a minute from this source: retry in {retry_after} seconds."
UNREADABLE = "Payload could not be read as a {kind} delivery: {error}."
SENDER_UNAVAILABLE = "Deliveries of {kind} sources cannot be received right now: retry later."
STORAGE_UNAVAILABLE = "The delivery could not be stored: retry later."
LENGTH_REQUIRED = "A chunked body cannot be read by this server: send the body with a Content-Length."
# Seconds a sender is asked to wait before sending a delivery again that could not be stored.
UNAVAILABLE_RETRY_AFTER = 30
ACCEPTED = "Delivery accepted."
DUPLICATE = "Delivery already received."

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@csrf_exempt
@login_not_required
@never_cache
def receive(request, public_id: str, *, test: bool = False):
    """Store one delivery of a source and answer 202, or refuse it with the precise 4xx.

    ``test`` marks the delivery as Kintsugi's own test (``source_send_test_delivery``
    passes it); no URL can set it, so nothing a sender sends is taken for a test.
    A store the answer depends on (the database) failing is 503 with
    Retry-After, wherever it fails: the sender keeps the delivery and sends it
    again. Only the reading of the body is treated as hostile input.
    """
    try:
        return _receive(request, public_id, test=test)
    except db.Error:  # DatabaseError, and InterfaceError (a connection closed under it)
        logger.exception("The database failed while receiving a delivery for %s.", public_id)
        return unavailable(STORAGE_UNAVAILABLE)


def unavailable(message: str) -> JsonResponse:
    """Return 503 with Retry-After: the delivery was not stored, and the sender should send it again."""
    response = json_error(503, message, retry_after=UNAVAILABLE_RETRY_AFTER)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def _receive(request, public_id: str, *, test: bool):
    now = timezone.now()
    webhook_source = webhook_source_get(public_id=public_id, now=now) if PUBLIC_ID.fullmatch(public_id) else None
    if webhook_source is None:
        return json_error(404, UNKNOWN_SOURCE)
    source = webhook_source.source()
    if request.method != "POST":
        response = json_error(405, METHOD_NOT_ALLOWED.format(method=request.method))
        response["Allow"] = "POST"
        return response
    limit = settings.KINTSUGI_WEBHOOK_MAX_BYTES
    declared = _content_length(request)
    if declared is not None and declared > limit:
        return json_error(413, TOO_LARGE.format(size=declared, limit=limit), limit=limit)
    try:
        body = _body(request, limit=limit)
    except UnreadablePostError:
        return json_error(400, BODY_INCOMPLETE)
    except LengthRequired:
        return json_error(411, LENGTH_REQUIRED)
    if len(body) > limit:
        return json_error(413, TOO_LARGE_STREAM.format(limit=limit), limit=limit)
    try:
        sender = sender_for(source.kind)
    except (ImportError, AttributeError):
        logger.exception("No sender for source kind %r.", source.kind)
        return unavailable(SENDER_UNAVAILABLE.format(kind=source.kind))
    headers = request.headers
    try:
        webhook_source = webhook_source_verify(
            sender=sender, webhook_source=webhook_source, public_id=public_id, headers=headers, body=body, now=now
        )
    except IngestError as error:
        return json_error(error.status, error.message)
    if webhook_source is None:
        return json_error(404, UNKNOWN_SOURCE)
    # Counted once the request is known to come from the source: junk sent to its URL spends none of its budget.
    retry_after = source_rate_limit_hit(source=source, now=now)
    if retry_after:
        response = json_error(
            429,
            RATE_LIMITED.format(limit=source.rate_limit_per_minute, retry_after=retry_after),
            retry_after=retry_after,
        )
        response["Retry-After"] = str(retry_after)
        return response
    try:
        payload = sender.parse(headers, body)
        event = sender.event_name(headers, payload)
        delivery_id = sender.delivery_id(headers, payload, body)
        # What the worker will read, read here first: a delivery it could not turn into an event is refused now.
        sender.adapt(event, payload)
    except UnsupportedEvent:
        pass  # stored, then marked ignored by the worker
    except IngestError as error:
        return json_error(error.status, error.message)
    except Exception as error:  # hostile input must never become a 500
        logger.warning("Unreadable %s delivery for source %s.", source.kind, source.pk, exc_info=True)
        return json_error(400, UNREADABLE.format(kind=source.kind, error=error.__class__.__name__))
    try:
        stored = delivery_store(
            sender=sender,
            webhook_source=webhook_source,
            source=source,
            public_id=public_id,
            headers=headers,
            body=body,
            now=now,
            delivery_id=str(delivery_id or ""),
            event=str(event or ""),
            kept_headers={name: headers[name] for name in sender.kept_headers if name in headers},
            content_type=request.content_type or "",
            test=test,
        )
    except IngestError as error:
        return json_error(error.status, error.message)
    except SourceChanged:
        logger.exception("Could not store a delivery of source %s.", source.pk)
        return unavailable(STORAGE_UNAVAILABLE)
    if stored is None:
        return json_error(404, UNKNOWN_SOURCE)
    delivery, created = stored
    if created:
        return JsonResponse({"message": ACCEPTED, "delivery": delivery.pk, "status": "accepted"}, status=202)
    return JsonResponse({"message": DUPLICATE, "delivery": delivery.pk, "status": "duplicate"}, status=200)


def _content_length(request) -> int | None:
    try:
        value = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


class LengthRequired(Exception):
    """A chunked body the server in front of Django does not end for it, so it cannot be read safely."""


def _body(request, *, limit: int) -> bytes:
    """Return the body, never more than ``limit`` + 1 bytes of it.

    A body with a Content-Length is read through the request (Django stops at
    that length). A chunked body has none, and Django reads a request without
    one as empty: it is read from the WSGI stream itself when the server ends
    that stream after the last chunk (``wsgi.input_terminated``, as gunicorn
    does), and refused with LengthRequired when it does not (Django's
    development server).
    """
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not chunked or _content_length(request) is not None:
        # Read the stream ourselves: request.body would refuse bodies above
        # DATA_UPLOAD_MAX_MEMORY_SIZE, and never more than limit + 1 bytes.
        return request.read(limit + 1)
    if not request.META.get("wsgi.input_terminated"):
        raise LengthRequired
    stream = request.META["wsgi.input"]
    parts, size = [], 0
    while size <= limit:
        part = stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def delivery_reading(delivery: Delivery) -> str:
    """Return what processing read a delivery as, in one sentence: "Read as a failed deployment of m v1 to staging."."""
    if delivery.status in (Delivery.Status.RECEIVED, Delivery.Status.REPLAYED):
        return "Waiting to be read."
    if delivery.status != Delivery.Status.PROCESSED or not delivery.normalized:
        return f"Not read as an event: {delivery.error}" if delivery.error else "Not read as an event."
    event = delivery.normalized
    status = {"failed": "failed ", "succeeded": "successful ", "in_progress": "started ", "cancelled": "cancelled "}
    what = {"pipeline": "pipeline run", "deployment": "deployment", "registry": "registry change", "ping": "ping"}
    text = f"Read as a {status.get(event.get('status') or '', '')}{what.get(event.get('kind'), 'event')}"
    registry = event.get("registry") or {}
    model = event.get("model_name") or registry.get("model_name") or ""
    version = event.get("model_version") or registry.get("version") or ""
    if model:
        text += f" of {model}" + (f" v{version}" if version else "")
    if event.get("environment"):
        text += f" to {event['environment']}"
    return text + "."


@dataclass(frozen=True)
class TestDeliveryResult:
    """What the webhook answered to a test delivery, and the delivery it stored (if any), as processed."""

    status_code: int
    answer: dict
    delivery: Delivery | None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def message(self) -> str:
        return str(self.answer.get("message") or self.answer.get("status") or "")

    @property
    def outcome(self) -> str:
        return delivery_reading(self.delivery) if self.delivery is not None else ""


def source_send_test_delivery(*, source: Source, now: datetime | None = None) -> TestDeliveryResult:
    """Send the sender's sample delivery, signed with the newest secret, through the receive view above.

    The sample takes the path a real sender's call takes (signature check, storage, the
    processing a drain runs), so it appears in the delivery log, but it is marked as a test:
    processing reads it and applies it to nothing (no model, deployment, incident or figure).
    It is processed before this returns, so the result tells what it was read as. Must not run
    inside a transaction: the receive view commits the delivery itself. Raise SourceRuleError
    when the source is inactive, has no valid secret, or its sender has no sample.
    """
    now = now or timezone.now()
    if not source.is_active:
        raise SourceRuleError(SOURCE_INACTIVE)
    valid = source_valid_secrets(source=source, now=now)
    if not valid:
        raise SourceRuleError(NO_VALID_SECRET)
    try:
        headers, body = sender_for(source.kind).sample(valid[0], now)
    except NotImplementedError as error:
        raise SourceRuleError(NO_SAMPLE.format(kind=source.get_kind_display())) from error
    headers = dict(headers)
    content_type = ""
    for name in list(headers):
        if name.lower() == "content-type":
            content_type = headers.pop(name)
    site = urlsplit(settings.SITE_URL)
    request = RequestFactory().generic(
        "POST",
        source.webhook_path,
        data=body,
        content_type=content_type,
        headers=headers,
        secure=site.scheme == "https",
        HTTP_HOST=site.netloc or "localhost",
        REMOTE_ADDR="127.0.0.1",
    )
    response = receive(request, public_id=source.public_id, test=True)
    try:
        answer = json.loads(response.content or b"{}")
    except ValueError:
        answer = {"message": response.content.decode(errors="replace")[:500]}
    if not isinstance(answer, dict):
        answer = {"message": str(answer)}
    delivery = None
    delivery_pk = answer.get("delivery")
    if isinstance(delivery_pk, int) and Delivery.objects.filter(source=source, pk=delivery_pk, is_test=True).exists():
        # The same processing a drain runs (safe if one got there first); cheap, as a test applies nothing.
        delivery = delivery_process(delivery_id=delivery_pk)
    return TestDeliveryResult(status_code=response.status_code, answer=answer, delivery=delivery)
