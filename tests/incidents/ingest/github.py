"""GitHub deliveries built by hand, signed as GitHub signs them (HMAC-SHA256 of the raw body, hex)."""

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from urllib.parse import urlencode

from tests.factories import GITHUB_TEST_SECRET


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment_status_payload(
    *,
    state: str,
    at: datetime,
    deployment_id: int = 145988746,
    environment: str = "production",
    model: str = "fraud-detector",
    version: str = "17",
) -> dict:
    """Return a deployment_status "created" payload of a deployment whose payload names the model."""
    deployment_payload = {"model_name": model, "model_version": version} if model else {}
    return {
        "action": "created",
        "deployment_status": {
            "id": deployment_id * 10 + 1,
            "state": state,
            "description": f"Deployment {state}",
            "environment": environment,
            "target_url": f"https://github.com/acme-ml/fraud-serving/actions/runs/{deployment_id}",
            "created_at": stamp(at),
            "updated_at": stamp(at),
        },
        "deployment": {
            "id": deployment_id,
            "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            "ref": "main",
            "task": "deploy",
            "payload": deployment_payload,
            "environment": environment,
            "description": f"Deploy {model} v{version}" if model else "Deploy",
            "created_at": stamp(at),
            "updated_at": stamp(at),
        },
        "repository": {"id": 1296269, "name": "fraud-serving", "full_name": "acme-ml/fraud-serving"},
        "sender": {"login": "octocat", "type": "User"},
    }


def delivery(
    event: str,
    payload: dict | None = None,
    *,
    secret: str = GITHUB_TEST_SECRET,
    delivery_id: str | None = None,
    body: bytes | None = None,
    form: bool = False,
) -> tuple[dict[str, str], bytes]:
    """Return (headers, raw body) of a signed GitHub delivery."""
    if body is None:
        text = json.dumps(payload if payload is not None else {"zen": "Keep it logically awesome."})
        body = urlencode({"payload": text}).encode() if form else text.encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292047",
        "X-Hub-Signature-256": sign(secret, body),
    }
    return headers, body


def post(client, source, headers: dict[str, str], body: bytes, path: str | None = None):
    """POST a delivery to the source's webhook URL with the Django test client."""
    headers = dict(headers)
    content_type = headers.pop("Content-Type", "application/json")
    return client.post(path or source.webhook_path, data=body, content_type=content_type, headers=headers)


def mlflow_delivery(
    entity: str, action: str, data: dict, *, secret: str, at: datetime, delivery_id: str | None = None
) -> tuple[dict[str, str], bytes]:
    """Return (headers, raw body) of a signed MLflow registry delivery, as mlflow/webhooks/delivery.py builds it."""
    import base64

    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(at.timestamp()))
    body = json.dumps({"entity": entity, "action": action, "timestamp": at.isoformat(), "data": data}).encode()
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": timestamp,
        "X-MLflow-Signature": f"v1,{signature}",
    }
    return headers, body
