"""How a stored raw body is shown to people: pretty JSON when it parses, text otherwise, never too much."""

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from config.validation import text_repair

# Characters shown on a page; the whole body is always available as a download.
DISPLAY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class PayloadPreview:
    text: str
    # "json", "form-json" (JSON in a form field named payload, as GitHub sends it), "text" or "empty".
    format: str
    truncated: bool
    size: int


def _pretty_json(text: str) -> str | None:
    """Return the JSON text indented, or None when it is not JSON (or nests too deep to print)."""
    if not text:
        return None
    try:
        # A sender's lone surrogate ("\ud800") has no UTF-8 form: show U+FFFD in its place.
        return text_repair(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
    except (ValueError, RecursionError):
        return None


def _form_payload(text: str) -> str:
    try:
        return parse_qs(text, max_num_fields=100).get("payload", [""])[0]
    except ValueError:
        return ""


def payload_preview(*, body: bytes, content_type: str = "", limit: int = DISPLAY_LIMIT) -> PayloadPreview:
    """Return the body as people should read it, cut to ``limit`` characters.

    The text is not escaped here: templates escape it like any other string.
    """
    size = len(body)
    if not body:
        return PayloadPreview(text="", format="empty", truncated=False, size=0)
    text = body.decode("utf-8", errors="replace")
    shown_format = "text"
    pretty = _pretty_json(text)
    if pretty is not None:
        text, shown_format = pretty, "json"
    elif "x-www-form-urlencoded" in content_type.lower():
        pretty = _pretty_json(_form_payload(text))
        if pretty is not None:
            text, shown_format = pretty, "form-json"
    truncated = len(text) > limit
    return PayloadPreview(text=text[:limit], format=shown_format, truncated=truncated, size=size)
