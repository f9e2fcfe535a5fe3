"""Errors raised while receiving a delivery. Each message is what the sender is told."""


class IngestError(Exception):
    """Base: a delivery that cannot be accepted. ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SignatureError(IngestError):
    status = 401


class MalformedPayload(IngestError):
    status = 400


class UnsupportedMediaType(IngestError):
    status = 415


class UnsupportedEvent(Exception):
    """The sender is known but this event carries nothing Kintsugi records; it is stored as ignored.

    ``reason`` says why when the event name alone is recorded but this one is not
    (a skipped run, a superseded deployment).
    """

    def __init__(self, event: str, *, reason: str = ""):
        message = f"Event {event!r} is not one Kintsugi records"
        super().__init__(f"{message}: {reason}." if reason else f"{message}.")
        self.event = event
        self.reason = reason


MISSING_SIGNATURE = "Missing signature header {header}."
BAD_SIGNATURE = "Signature does not match: sign the raw request body with the source's secret."
BAD_SIGNATURE_FORMAT = "Signature header {header} must look like {shape}."
NO_SIGNATURE_VERSION = "Signature header {header} has no {version} signature."
BAD_AUTHORIZATION = "Authorization header must be 'Bearer <secret>' or 'Basic <base64 of user:secret>'."
BAD_TOKEN = "Token in {header} does not match the source's secret."
MISSING_HEADER = "Missing header {header}."
STALE_TIMESTAMP = "Timestamp {timestamp} is more than 5 minutes away from the server's clock."
BAD_TIMESTAMP = "Timestamp header {header} is not an integer Unix time."
EMPTY_BODY = "Body is empty: send a JSON object with method POST."
MALFORMED_JSON = "Body is not valid JSON: {error}."
NOT_AN_OBJECT = "Body must be a JSON object, got {kind}."
WRONG_CONTENT_TYPE = "Content-Type {content_type!r} is not supported: send application/json."
MISSING_FORM_PAYLOAD = "Form-encoded body has no 'payload' field."
MALFORMED_FORM = "Form-encoded body cannot be read: {error}."
MISSING_FIELD = "Payload has no {field}."
WRONG_TYPE = "Payload field {field} must be {expected}, got {kind}."
INVALID_FIELD = "Payload field {field} {problem}."
