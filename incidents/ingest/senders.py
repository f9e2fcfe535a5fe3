"""How each kind of sender authenticates, frames and names its deliveries.

Every sender module under ``incidents.ingest.adapters`` exposes one ``SENDER``.
All functions are pure: they see headers (a case-insensitive mapping), the
raw body and the parsed payload, never the database.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from incidents.ingest.errors import UnsupportedEvent
from incidents.ingest.events import PipelineEvent

Headers = Mapping[str, str]

# verify(headers, raw_body, secrets, now) -> None; raises SignatureError.
Verify = Callable[[Headers, bytes, list[str], datetime], None]
# parse(headers, raw_body) -> payload dict; raises MalformedPayload or UnsupportedMediaType.
Parse = Callable[[Headers, bytes], dict]
# event_name(headers, payload) -> "workflow_run", "Pipeline Hook", "model_version.created"…
EventName = Callable[[Headers, dict], str]
# delivery_id(headers, payload, raw_body) -> the sender's idempotency key for this delivery.
DeliveryId = Callable[[Headers, dict, bytes], str]
# adapter(payload) -> PipelineEvent; raises MalformedPayload or UnsupportedEvent.
Adapter = Callable[[dict], PipelineEvent]
# sample(secret, now) -> (headers, raw_body) of a realistic delivery signed with ``secret`` at ``now``.
Sample = Callable[[str, datetime], tuple[dict[str, str], bytes]]


# The model the setup examples name when the source's team has none: an example no team has registered.
EXAMPLE_MODEL = "your-model"
EXAMPLE_VERSION = "1"

_BLOCK_STARTS = ("|", "#", "- ", "* ", "> ", "```", "    ")


def unwrap_paragraphs(markdown: str) -> str:
    """Return ``markdown`` with each paragraph on one line, leaving code, tables and lists alone.

    Pages render a line break inside a paragraph as a break, so text wrapped to fit the
    source code would show ragged on the page.
    """
    lines: list[str] = []
    in_code = False
    previous_is_text = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            in_code = not in_code
            lines.append(line)
            previous_is_text = False
            continue
        is_text = not in_code and bool(line.strip()) and not line.startswith(_BLOCK_STARTS) and not line[:1].isdigit()
        if is_text and previous_is_text:
            lines[-1] = f"{lines[-1]} {line.strip()}"
        else:
            lines.append(line)
        previous_is_text = is_text
    return "\n".join(lines)


def _no_sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    raise NotImplementedError("this sender has no sample delivery")


@dataclass(frozen=True)
class Sender:
    kind: str
    verify: Verify
    parse: Parse
    event_name: EventName
    delivery_id: DeliveryId
    # Event name -> adapter. Events not in the table are stored and ignored.
    adapters: Mapping[str, Adapter]
    # Header names worth keeping with the delivery (lower case). Never a header that carries a secret.
    kept_headers: tuple[str, ...] = ()
    # A failed deployment of "demo-model" version "1" to "staging" (as far as the sender can say it),
    # with a fresh delivery id on every call; MLflow's is a model_version.created.
    sample: Sample = _no_sample
    # Markdown shown on the source page: what to paste where, with ``{webhook_url}`` (``{url_with_password}``
    # when the secret travels as its password), ``{secret}`` and, in
    # examples, ``{model}`` and ``{version}``; fill it with ``instructions``. Paragraphs are unwrapped to one line.
    setup_markdown: str = ""

    def __post_init__(self):
        object.__setattr__(self, "setup_markdown", unwrap_paragraphs(self.setup_markdown))

    def instructions(
        self, *, webhook_url: str, secret: str, model: str = EXAMPLE_MODEL, version: str = EXAMPLE_VERSION
    ) -> str:
        """Return the setup Markdown of one source: its URL and secret, and ``model`` and ``version`` in examples.

        Pass a model of the source's own team, so that pasting an example never
        registers another team's model (nor a demo's) under this one.
        """
        # For senders that carry the secret as the URL's password (Jenkins): the URL to store, ready-made.
        parts = urlsplit(webhook_url)
        url_with_password = urlunsplit(parts._replace(netloc=f"{self.kind}:{secret}@{parts.netloc}"))
        return self.setup_markdown.format(
            webhook_url=webhook_url,
            url_with_password=url_with_password,
            secret=secret,
            model=model,
            version=version,
        )

    def adapt(self, event_name: str, payload: dict) -> PipelineEvent:
        """Return the normalized event of a parsed payload.

        Raise UnsupportedEvent when the event is not in the table (or the adapter
        declines it), MalformedPayload when the payload lacks what the adapter needs.
        """
        adapter = self.adapters.get(event_name)
        if adapter is None:
            raise UnsupportedEvent(event_name)
        return adapter(payload)
