"""The webhook endpoint: authenticate at the edge, store raw, answer fast, process later.

Senders give up (and some disable the hook) when answers are slow, so this
view does only what decides the answer: find the source, bound the body,
count the request, check the signature on the raw bytes, read the event name
and delivery id, and commit the raw delivery. Everything else happens in a
task queued after the commit. Every refusal is JSON with a ``message``.
"""

import logging
import re

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import JsonResponse, UnreadablePostError
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from config.api import json_error
from config.database import run_checked_by_use
from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import IngestError, SignatureError
from incidents.selectors.sources import WebhookSource, webhook_source_get
from incidents.services.deliveries import SourceChanged, delivery_receive
from incidents.services.ratelimit import source_rate_limit_hit

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
ACCEPTED = "Delivery accepted."
DUPLICATE = "Delivery already received."

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@csrf_exempt
@login_not_required
@never_cache
def receive(request, public_id: str):
    """Store one delivery of a source and answer 202, or refuse it with the precise 4xx."""
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
        # Read the stream ourselves: request.body would refuse bodies above
        # DATA_UPLOAD_MAX_MEMORY_SIZE, and never more than limit + 1 bytes.
        body = request.read(limit + 1)
    except UnreadablePostError:
        return json_error(400, BODY_INCOMPLETE)
    if len(body) > limit:
        return json_error(413, TOO_LARGE_STREAM.format(limit=limit), limit=limit)
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
        sender = sender_for(source.kind)
    except (ImportError, AttributeError):
        logger.exception("No sender for source kind %r.", source.kind)
        return json_error(503, SENDER_UNAVAILABLE.format(kind=source.kind))
    headers = request.headers
    try:
        webhook_source = _verified(sender, webhook_source, public_id=public_id, headers=headers, body=body, now=now)
        if webhook_source is None:
            return json_error(404, UNKNOWN_SOURCE)
        payload = sender.parse(headers, body)
        event = sender.event_name(headers, payload)
        delivery_id = sender.delivery_id(headers, payload, body)
    except IngestError as error:
        return json_error(error.status, error.message)
    except Exception as error:  # hostile input must never become a 500
        logger.warning("Unreadable %s delivery for source %s.", source.kind, source.pk, exc_info=True)
        return json_error(400, UNREADABLE.format(kind=source.kind, error=error.__class__.__name__))
    received = {
        "delivery_id": str(delivery_id or ""),
        "event": str(event or ""),
        "headers": {name: headers[name] for name in sender.kept_headers if name in headers},
        "content_type": request.content_type or "",
        "body": body,
        "received_at": now,
    }
    try:
        try:
            delivery, created = run_checked_by_use(
                lambda: delivery_receive(source=source, edge_version=webhook_source.edge_version, **received)
            )
        except SourceChanged:
            # Changed since this process read it: check the delivery against the source as it is now.
            webhook_source = _verified_again(sender, public_id=public_id, headers=headers, body=body, now=now)
            if webhook_source is None:
                return json_error(404, UNKNOWN_SOURCE)
            delivery, created = delivery_receive(
                source=webhook_source.source(), edge_version=webhook_source.edge_version, **received
            )
    except IngestError as error:
        return json_error(error.status, error.message)
    except (DatabaseError, SourceChanged):
        logger.exception("Could not store a delivery of source %s.", source.pk)
        return json_error(503, STORAGE_UNAVAILABLE)
    if created:
        return JsonResponse({"message": ACCEPTED, "delivery": delivery.pk, "status": "accepted"}, status=202)
    return JsonResponse({"message": DUPLICATE, "delivery": delivery.pk, "status": "duplicate"}, status=200)


def _verified(sender, webhook_source: WebhookSource, *, public_id: str, headers, body: bytes, now):
    """Check the signature against the source's secrets; return the source as checked, or None when it is gone.

    Raise SignatureError when no valid secret verifies it. A source kept in
    memory is read again before refusing, so a secret issued since works at once.
    """
    try:
        sender.verify(headers, body, webhook_source.secrets_valid(now=now), now)
    except SignatureError:
        if not webhook_source.from_memory:
            raise
        return _verified_again(sender, public_id=public_id, headers=headers, body=body, now=now)
    return webhook_source


def _verified_again(sender, *, public_id: str, headers, body: bytes, now):
    """Read the source from the database and check the signature against it; return it, or None when it is gone."""
    webhook_source = webhook_source_get(public_id=public_id, now=now, fresh=True)
    if webhook_source is not None:
        sender.verify(headers, body, webhook_source.secrets_valid(now=now), now)
    return webhook_source


def _content_length(request) -> int | None:
    try:
        value = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return value if value >= 0 else None
