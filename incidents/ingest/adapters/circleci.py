"""CircleCI outbound webhooks: workflow-completed and job-completed.

Signed with ``Circleci-Signature: v1=<hex HMAC-SHA256 of the raw body>`` (a
comma-separated list of versioned signatures; v1 is required, so a delivery
cannot be downgraded to a weaker future version).
"""

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import (
    BAD_SIGNATURE,
    NO_SIGNATURE_VERSION,
    SignatureError,
    UnsupportedEvent,
)
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.ingest.parsing import bounded_event, bounded_id, header, parse_json
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import MAX_SIGNATURES, hex_body_signature_matches, hmac_sha256, require_header

SIGNATURE_HEADER = "Circleci-Signature"

# "unauthorized": a restricted context refused the run, so the deploy did not happen.
STATUSES = {
    "success": EventStatus.SUCCEEDED,
    "failed": EventStatus.FAILED,
    "error": EventStatus.FAILED,
    "infrastructure_fail": EventStatus.FAILED,
    "timedout": EventStatus.FAILED,
    "unauthorized": EventStatus.FAILED,
    "canceled": EventStatus.CANCELLED,
    "cancelled": EventStatus.CANCELLED,
    "running": EventStatus.IN_PROGRESS,
    "on_hold": EventStatus.IN_PROGRESS,
}


def verify(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check the v1 entries of Circleci-Signature against every valid secret."""
    signature = require_header(headers, SIGNATURE_HEADER, signature=True)
    candidates = []
    for entry in signature.split(",")[:MAX_SIGNATURES]:
        version, equals, digest = entry.strip().partition("=")
        if version == "v1" and equals:
            candidates.append(digest)
    if not candidates:
        raise SignatureError(NO_SIGNATURE_VERSION.format(header=SIGNATURE_HEADER, version="v1"))
    if not hex_body_signature_matches(candidates, raw, secrets):
        raise SignatureError(BAD_SIGNATURE)


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    return bounded_event(header(headers, "Circleci-Event-Type") or fields.text(payload, "type"))


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    # CircleCI documents the body's id as the key to deduplicate retried deliveries.
    return bounded_id(fields.text(payload, "id") or None, raw)


def parameters(payload: dict) -> dict[str, str]:
    """Return the text parameters of the pipeline, including one level of nested trigger parameters."""
    collected: dict[str, str] = {}
    for path in ("pipeline.parameters", "pipeline.trigger_parameters"):
        found = fields.mapping(payload, path)
        for key, item in fields.pairs(found).items():
            collected.setdefault(key, item)
        for nested in list(found.values())[:20]:
            for key, item in fields.pairs(nested).items():
                collected.setdefault(key, item)
    return collected


def status_of(event: str, raw_status: str) -> EventStatus:
    status = STATUSES.get(raw_status)
    if status is None:
        raise UnsupportedEvent(event, reason=f"status {raw_status!r} is not an outcome")
    return status


def common(payload: dict, status: EventStatus, *, stopped_at: datetime | None) -> dict:
    """Return the event fields workflow and job events share: project, pipeline, commit, model, time."""
    found = parameters(payload)
    model_name, model_version = fields.model_from(found)
    workflow_name = fields.text(payload, "workflow.name")
    number = fields.text(payload, "pipeline.number")
    project = fields.first(fields.text(payload, "project.name"), fields.text(payload, "project.slug"))
    return {
        "status": status,
        "pipeline": f"{project}: {workflow_name}" if project and workflow_name else project or workflow_name,
        "run_id": number,
        "title": fields.first(
            fields.text(payload, "pipeline.vcs.commit.subject"),
            f"{workflow_name} #{number}" if workflow_name and number else workflow_name,
        ),
        "sha": fields.text(payload, "pipeline.vcs.revision"),
        "ref": fields.first(fields.text(payload, "pipeline.vcs.branch"), fields.text(payload, "pipeline.vcs.tag")),
        "environment": fields.environment_from(found),
        "occurred_at": fields.time_at(payload, "happened_at") or stopped_at,
        "committed_at": fields.time_at(payload, "pipeline.vcs.commit.committed_at"),
        "model_name": model_name,
        "model_version": model_version,
        "model_origin": "payload" if model_name else "",
    }


def workflow_completed(payload: dict) -> PipelineEvent:
    workflow_id = fields.required_text(payload, "workflow.id")
    status = status_of("workflow-completed", fields.text(payload, "workflow.status"))
    stopped_at = fields.time_at(payload, "workflow.stopped_at")
    return PipelineEvent(
        kind=EventKind.PIPELINE,
        external_id=f"workflow:{workflow_id}",
        run_url=fields.text(payload, "workflow.url"),
        started_at=fields.time_at(payload, "workflow.created_at"),
        finished_at=stopped_at,
        **common(payload, status, stopped_at=stopped_at),
    )


def job_completed(payload: dict) -> PipelineEvent:
    job_id = fields.required_text(payload, "job.id")
    status = status_of("job-completed", fields.text(payload, "job.status"))
    name = fields.text(payload, "job.name")
    number = fields.text(payload, "job.number")
    workflow_url = fields.text(payload, "workflow.url")
    stopped_at = fields.time_at(payload, "job.stopped_at")
    return PipelineEvent(
        kind=EventKind.JOB,
        external_id=f"job:{job_id}",
        run_url=f"{workflow_url}/jobs/{number}" if workflow_url and number else workflow_url,
        started_at=fields.time_at(payload, "job.started_at"),
        finished_at=stopped_at,
        failing_step=name if status == EventStatus.FAILED else "",
        **common(payload, status, stopped_at=stopped_at),
    )


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a signed workflow-completed "failed" of a workflow deploying demo-model v1 to staging.

    CircleCI payloads name no model: the commit subject does, for a source's model pattern to find.
    """
    number = 1000 + uuid.uuid4().int % 100_000
    workflow_id = str(uuid.uuid4())
    slug = "gh/acme-ml/demo-model-serving"
    sha = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    body = {
        "id": str(uuid.uuid4()),
        "type": "workflow-completed",
        "happened_at": stamp(now),
        "webhook": {"id": "9d0f3c5e-2b1a-4c8d-9e7f-6a5b4c3d2e1f", "name": "Kintsugi"},
        "project": {"id": "6f1e2d3c-4b5a-4968-8778-695a4b3c2d1e", "name": "demo-model-serving", "slug": slug},
        "organization": {"id": "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "name": "acme-ml"},
        "workflow": {
            "id": workflow_id,
            "name": "deploy-staging",
            "created_at": stamp(now - timedelta(minutes=5)),
            "stopped_at": stamp(now),
            "url": f"https://app.circleci.com/pipelines/github/acme-ml/demo-model-serving/{number}/workflows/{workflow_id}",
            "status": "failed",
        },
        "pipeline": {
            "id": str(uuid.uuid4()),
            "number": number,
            "created_at": stamp(now - timedelta(minutes=5, seconds=2)),
            "trigger": {"type": "webhook"},
            "vcs": {
                "provider_name": "github",
                "origin_repository_url": "https://github.com/acme-ml/demo-model-serving",
                "target_repository_url": "https://github.com/acme-ml/demo-model-serving",
                "revision": sha,
                "commit": {
                    "subject": "Deploy demo-model v1 to staging",
                    "body": "",
                    "author": {"name": "Kintsugi Test", "email": "kintsugi-test@example.com"},
                    "authored_at": stamp(now - timedelta(minutes=9)),
                    "committer": {"name": "Kintsugi Test", "email": "kintsugi-test@example.com"},
                    "committed_at": stamp(now - timedelta(minutes=9)),
                },
                "branch": "main",
            },
        },
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CircleCI-Webhook/1.0",
        "Circleci-Event-Type": "workflow-completed",
        SIGNATURE_HEADER: "v1=" + hmac_sha256(secret.encode(), raw).hex(),
    }
    return headers, raw


SETUP_MARKDOWN = """\
In CircleCI, open the project's **Project Settings → Webhooks → Add Webhook** and fill in:

| Field | Value |
|---|---|
| Webhook name | Kintsugi |
| Receiver URL | `{webhook_url}` |
| Secret token | `{secret}` |
| Certificate verifications | checked |
| Events | **Workflow Completed** and **Job Completed** |

Statuses: `success` is a success; `failed`, `error` and `unauthorized` are failures; `canceled` is a
cancellation.

**Naming the model.** CircleCI's webhooks carry no pipeline parameters in general. Kintsugi reads
`model_name`, `model_version` and `environment` from `pipeline.trigger_parameters` when a trigger puts
them there; otherwise set a model pattern on this source over the commit subject, for example
`(?P<model>[a-z0-9-]+) v(?P<version>\\d+)`.
"""

SENDER = Sender(
    kind="circleci",
    verify=verify,
    parse=parse_json,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters={"workflow-completed": workflow_completed, "job-completed": job_completed},
    kept_headers=("content-type", "user-agent", "circleci-event-type"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
