"""MLflow model registry webhooks (MLflow 3).

Signed like Standard Webhooks but under MLflow's own names:
``X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "{delivery id}.{timestamp}.{body}">``
keyed with the secret's raw UTF-8 bytes, ``X-MLflow-Timestamp`` (refused beyond 5
minutes from the server's clock) and ``X-MLflow-Delivery-Id``. The event is
``entity.action`` from the body.
"""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime

from incidents.ingest import fields
from incidents.ingest.errors import MISSING_FIELD, WRONG_TYPE, MalformedPayload
from incidents.ingest.events import EventKind, PipelineEvent, RegistryAction, RegistryChange
from incidents.ingest.parsing import bounded_event, bounded_id, digest_id, header, json_kind, parse_json
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import hmac_sha256, verify_signed_message

ID_HEADER = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
SIGNATURE_HEADER = "X-MLflow-Signature"
EVENTS = (
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)


def verify(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check X-MLflow-Signature with each secret's UTF-8 bytes as the key, within 5 minutes of ``now``."""
    verify_signed_message(
        headers,
        raw,
        keys=[secret.encode("utf-8") for secret in secrets],
        now=now,
        id_header=ID_HEADER,
        timestamp_header=TIMESTAMP_HEADER,
        signature_header=SIGNATURE_HEADER,
    )


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    entity = fields.required_text(payload, "entity")
    action = fields.required_text(payload, "action")
    return bounded_event(f"{entity}.{action}")


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    value = header(headers, ID_HEADER)
    if value and value.strip():
        return bounded_id(value, raw)
    try:
        data = json.dumps(fields.value(payload, "data"), sort_keys=True)
    except (RecursionError, ValueError):
        return bounded_id(None, raw)
    return digest_id(
        fields.text(payload, "entity"), fields.text(payload, "action"), data, fields.text(payload, "timestamp")
    )


def data_of(payload: dict) -> dict:
    return fields.required_mapping(payload, "data")


def tags_of(data: dict) -> dict:
    found = fields.value(data, "tags")
    if found is not None and not isinstance(found, dict | list):
        raise MalformedPayload(WRONG_TYPE.format(field="data.tags", expected="an object", kind=json_kind(found)))
    return fields.pairs(found)


def required(data: dict, name: str) -> str:
    found = fields.value(data, name)
    if found is None or found == "":
        raise MalformedPayload(MISSING_FIELD.format(field=f"data.{name}"))
    text = fields.as_text(found)
    if text is None:
        raise MalformedPayload(
            WRONG_TYPE.format(field=f"data.{name}", expected="a string or an integer", kind=json_kind(found))
        )
    return text


def registry_event(payload: dict, change: RegistryChange, title: str) -> PipelineEvent:
    return PipelineEvent(
        kind=EventKind.REGISTRY,
        title=title,
        occurred_at=fields.time_at(payload, "timestamp"),
        model_name=change.model_name,
        model_version=change.version,
        model_origin="payload",
        registry=change,
    )


def registered_model_created(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name = required(data, "name")
    change = RegistryChange(
        action=RegistryAction.MODEL_CREATED,
        model_name=name,
        description=fields.text(data, "description"),
        tags=tags_of(data),
    )
    return registry_event(payload, change, f"{name} registered")


def model_version_created(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name, version = required(data, "name"), required(data, "version")
    change = RegistryChange(
        action=RegistryAction.VERSION_CREATED,
        model_name=name,
        version=version,
        run_id=fields.text(data, "run_id"),
        source_uri=fields.text(data, "source"),
        description=fields.text(data, "description"),
        tags=tags_of(data),
    )
    return registry_event(payload, change, f"{name} v{version} created")


def model_version_tag_set(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name, version, key = required(data, "name"), required(data, "version"), required(data, "key")
    value = fields.text(data, "value")
    change = RegistryChange(action=RegistryAction.VERSION_TAG_SET, model_name=name, version=version, tags={key: value})
    return registry_event(payload, change, f"{name} v{version} tagged {key}={value}")


def model_version_tag_deleted(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name, version, key = required(data, "name"), required(data, "version"), required(data, "key")
    change = RegistryChange(
        action=RegistryAction.VERSION_TAG_DELETED, model_name=name, version=version, tags={key: None}
    )
    return registry_event(payload, change, f"{name} v{version} untagged {key}")


def model_version_alias_created(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name, alias, version = required(data, "name"), required(data, "alias"), required(data, "version")
    change = RegistryChange(action=RegistryAction.ALIAS_SET, model_name=name, version=version, alias=alias)
    return registry_event(payload, change, f"{name}@{alias} now points to v{version}")


def model_version_alias_deleted(payload: dict) -> PipelineEvent:
    data = data_of(payload)
    name, alias = required(data, "name"), required(data, "alias")
    change = RegistryChange(
        action=RegistryAction.ALIAS_DELETED, model_name=name, version=fields.text(data, "version"), alias=alias
    )
    return registry_event(payload, change, f"{name}@{alias} removed")


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a signed model_version.created of demo-model v1, byte for byte as MLflow writes it."""
    run_id = uuid.uuid4().hex
    body = {
        "entity": "model_version",
        "action": "created",
        "timestamp": now.isoformat(),
        "data": {
            "name": "demo-model",
            "version": "1",
            "source": f"models:/m-{run_id[:16]}",
            "run_id": run_id,
            "tags": {"stage": "staging-candidate", "auc": "0.91"},
            "description": "Gradient-boosted demo model trained on last week's data",
        },
    }
    # MLflow serializes with json.dumps defaults (", " and ": " separators).
    raw = json.dumps(body).encode()
    delivery = str(uuid.uuid4())
    timestamp = str(int(now.timestamp()))
    signature = hmac_sha256(secret.encode("utf-8"), f"{delivery}.{timestamp}.".encode() + raw)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "python-requests/2.32.3",
        ID_HEADER: delivery,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "v1," + base64.b64encode(signature).decode(),
    }
    return headers, raw


SETUP_MARKDOWN = (
    """\
MLflow 3 sends model registry webhooks from a tracking server with a SQL backend. Create the webhook
with the Python client, as a user allowed to manage webhooks:

```python
from mlflow import MlflowClient

client = MlflowClient(tracking_uri="https://mlflow.example.com")
webhook = client.create_webhook(
    name="kintsugi",
    url="{webhook_url}",
    events=[
"""
    + "".join(f'        "{event}",\n' for event in EVENTS)
    + """\
    ],
    secret="{secret}",
    description="Model registry changes for Kintsugi",
)
client.test_webhook(webhook.webhook_id)  # sends an example event; it appears in this source's deliveries
```

Kintsugi checks `X-MLflow-Signature` and refuses deliveries whose `X-MLflow-Timestamp` is more than
five minutes from its clock, so keep the MLflow server's clock in sync. If Kintsugi runs on a private
network, the MLflow server needs `MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true`.

Kintsugi records new models and versions (with run id and source), version tags, and alias moves
(`champion`, `challenger`…). Prompt registry events are acknowledged and ignored.
"""
)

SENDER = Sender(
    kind="mlflow",
    verify=verify,
    parse=parse_json,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters={
        "registered_model.created": registered_model_created,
        "model_version.created": model_version_created,
        "model_version_tag.set": model_version_tag_set,
        "model_version_tag.deleted": model_version_tag_deleted,
        "model_version_alias.created": model_version_alias_created,
        "model_version_alias.deleted": model_version_alias_deleted,
    },
    kept_headers=("content-type", "user-agent", "x-mlflow-delivery-id", "x-mlflow-timestamp"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
