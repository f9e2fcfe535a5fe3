"""How each kind of sender authenticates, frames and names its deliveries.

Every sender module under ``incidents.ingest.adapters`` exposes one ``SENDER``.
All functions are pure: they see headers (a case-insensitive mapping), the
raw body and the parsed payload, never the database.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

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
Adapter = Callable[[dict], PipelineEvent]


@dataclass(frozen=True)
class Sender:
    kind: str
    verify: Verify
    parse: Parse
    event_name: EventName
    delivery_id: DeliveryId
    # Event name -> adapter. Events not in the table are stored and ignored.
    adapters: Mapping[str, Adapter]
    # Header names worth keeping with the delivery (lower case).
    kept_headers: tuple[str, ...] = ()
