"""Generic webhooks: any system that can sign a small JSON body with Standard Webhooks.

Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
base64-decoded part of the ``whsec_`` secret). The body follows
``incidents/ingest/schemas/generic.schema.json``.
"""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import MISSING_FIELD, WRONG_TYPE, MalformedPayload
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.ingest.parsing import bounded_event, bounded_id, header, json_kind, parse_json
from incidents.ingest.rollouts import rollout_from
from incidents.ingest.schema import load_schema, validate
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import hmac_sha256, standard_webhooks_key, verify_signed_message

TYPES = {
    "deployment.started": EventStatus.IN_PROGRESS,
    "deployment.succeeded": EventStatus.SUCCEEDED,
    "deployment.failed": EventStatus.FAILED,
    "deployment.cancelled": EventStatus.CANCELLED,
}


def verify(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check the Standard Webhooks signature against every valid secret, within 5 minutes of ``now``."""
    keys = [key for key in map(standard_webhooks_key, secrets) if key]
    verify_signed_message(headers, raw, keys=keys, now=now)


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    found = payload.get("type")
    if found is None:
        raise MalformedPayload(MISSING_FIELD.format(field="type"))
    if not isinstance(found, str):
        raise MalformedPayload(WRONG_TYPE.format(field="type", expected="a string", kind=json_kind(found)))
    return bounded_event(found)


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    return bounded_id(header(headers, "webhook-id"), raw)


def deployment(payload: dict) -> PipelineEvent:
    validate(payload, load_schema("generic"))
    data = payload["data"]
    pipeline = data["pipeline"]
    run_id = fields.text(data, "run_id") or str(int(data["run_id"]))  # 17.0 is an integer in JSON Schema
    environment = fields.text(data, "environment")
    model = data.get("model") or {}
    model_name = model.get("name", "")
    model_version = fields.text(model, "version")
    if not model_version and isinstance(model.get("version"), float):
        model_version = str(int(model["version"]))
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=TYPES[payload["type"]],
        external_id=f"{pipeline}:{run_id}:{environment}",
        pipeline=pipeline,
        run_id=run_id,
        title=fields.text(data, "title"),
        sha=fields.text(data, "sha"),
        ref=fields.text(data, "ref"),
        environment=environment,
        run_url=fields.text(data, "run_url"),
        started_at=fields.time_at(data, "started_at"),
        finished_at=fields.time_at(data, "finished_at"),
        occurred_at=fields.time_at(payload, "timestamp"),
        committed_at=fields.time_at(data, "committed_at"),
        failing_step=fields.text(data, "failing_step"),
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        message=fields.text(data, "message"),
        rollout=rollout_from(data.get("rollout")),
    )


def sign(secret: str, message_id: str, timestamp: str, raw: bytes) -> str:
    """Return the webhook-signature value of a body: what a sender computes."""
    key = standard_webhooks_key(secret) or b""
    return "v1," + base64.b64encode(hmac_sha256(key, f"{message_id}.{timestamp}.".encode() + raw)).decode()


def example_body(now: datetime) -> dict:
    run_id = str(uuid.uuid4().int % 10**9)
    return {
        "type": "deployment.failed",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {
            "pipeline": "demo-model-release",
            "run_id": run_id,
            "run_url": f"https://ci.example.com/demo-model-release/runs/{run_id}",
            "title": "Release demo-model v1 to staging",
            "environment": "staging",
            "sha": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
            "ref": "main",
            "committed_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "started_at": (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "failing_step": "canary analysis",
            "message": "p95 latency 412 ms over the 250 ms budget",
            "model": {"name": "demo-model", "version": "1"},
        },
    }


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a signed deployment.failed of demo-model v1 to staging."""
    raw = json.dumps(example_body(now)).encode()
    message_id = f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, message_id, timestamp, raw),
    }
    return headers, raw


def braces_escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


EXAMPLE = json.dumps(example_body(datetime.fromisoformat("2025-05-02T12:30:19+00:00")), indent=2)
SCHEMA_TEXT = json.dumps(load_schema("generic"), indent=2)

SETUP_MARKDOWN = (
    """\
Send an HTTP **POST** to `{webhook_url}` with a JSON body, signed the
[Standard Webhooks](https://www.standardwebhooks.com/) way with the secret `{secret}`:

| Header | Value |
|---|---|
| `Content-Type` | `application/json` |
| `webhook-id` | a unique id for this message, the same when you retry it (`msg_…`) |
| `webhook-timestamp` | the current Unix time in seconds; deliveries more than 5 minutes off are refused |
| `webhook-signature` | `v1,` and the signature below; several space-separated signatures are accepted |

The signature is the base64 of HMAC-SHA256 of `"{{webhook-id}}.{{webhook-timestamp}}.{{body}}"`, keyed with the
base64-decoded part of the secret after `whsec_`.

Kintsugi records the types `deployment.started`, `deployment.succeeded`, `deployment.failed` and
`deployment.cancelled`; other types are acknowledged and ignored. Events with the same `pipeline`,
`run_id` and `environment` update one deployment.

A deployment that is part of a rollout (canary, A/B test, shadow, blue-green) adds a `rollout` object to
`data`: `candidate` and `control` versions, the candidate's `traffic_percent`, the `step`, and once it ends
its `outcome` (`promoted`, `rolled_back` or `aborted`) with a `reason`. Kintsugi records the experiment and
its traffic steps, and attaches failures to the arm they hit. Example:

```json
"""
    # The example names the source team's model ({model}), never the sample's.
    + braces_escaped(EXAMPLE)
    .replace("demo-model", "{model}")
    .replace('"version": "1"', '"version": "{version}"')
    .replace(" v1 to staging", " v{version} to staging")
    + """
```

**Sign and send with Python** (standard library only):

```python
import base64, hashlib, hmac, json, time, urllib.request, uuid

SECRET = "{secret}"
body = json.dumps({{
    "type": "deployment.failed",
    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "data": {{"pipeline": "{model}-release", "run_id": "4711", "environment": "staging",
             "model": {{"name": "{model}", "version": "{version}"}}}},
}}).encode()
message_id, timestamp = f"msg_{{uuid.uuid4().hex}}", str(int(time.time()))
key = base64.b64decode(SECRET.removeprefix("whsec_"))
digest = hmac.new(key, f"{{message_id}}.{{timestamp}}.".encode() + body, hashlib.sha256).digest()
request = urllib.request.Request("{webhook_url}", data=body, method="POST", headers={{
    "Content-Type": "application/json",
    "webhook-id": message_id,
    "webhook-timestamp": timestamp,
    "webhook-signature": "v1," + base64.b64encode(digest).decode(),
}})
print(urllib.request.urlopen(request).status)  # 202
```

**Or with curl and openssl:**

```shell
SECRET='{secret}'
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BODY='{{"type": "deployment.failed", "timestamp": "'$NOW'", "data": {{"pipeline": "{model}-release",'
BODY="$BODY"' "run_id": "4711", "environment": "staging", "model": {{"name": "{model}", "version": "{version}"}}}}}}'
ID="msg_$(date +%s%N)"; TS=$(date +%s)
KEY=$(printf '%s' "${{SECRET#whsec_}}" | base64 -d | xxd -p -c 256)
SIG=$(printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl -X POST '{webhook_url}' -H 'Content-Type: application/json' \\
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG" --data "$BODY"
```

**The JSON Schema** of the body (fields not listed are ignored):

```json
"""
    + braces_escaped(SCHEMA_TEXT)
    + """
```
"""
)

SENDER = Sender(
    kind="generic",
    verify=verify,
    parse=parse_json,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters=dict.fromkeys(TYPES, deployment),
    kept_headers=("content-type", "user-agent", "webhook-id", "webhook-timestamp"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
