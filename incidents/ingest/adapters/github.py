"""GitHub webhooks: workflow runs, workflow jobs, deployments and their statuses.

Signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.
The body is JSON, or a form whose ``payload`` field holds the JSON (the
signature then covers the raw form body).
"""

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import BAD_SIGNATURE, BAD_SIGNATURE_FORMAT, SignatureError, UnsupportedEvent
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent, Rollout
from incidents.ingest.parsing import bounded_event, bounded_id, embedded_json_object, header, parse_json_or_form
from incidents.ingest.rollouts import rollout_from
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import hex_body_signature_matches, hmac_sha256, require_header

SIGNATURE_HEADER = "X-Hub-Signature-256"

# workflow_run / workflow_job conclusions. "neutral" passes GitHub's own checks, so it counts
# as a success; "stale" runs were abandoned by GitHub; "skipped" and "action_required" runs
# did nothing and are ignored.
CONCLUSIONS = {
    "success": EventStatus.SUCCEEDED,
    "neutral": EventStatus.SUCCEEDED,
    "failure": EventStatus.FAILED,
    "timed_out": EventStatus.FAILED,
    "startup_failure": EventStatus.FAILED,
    "cancelled": EventStatus.CANCELLED,
    "stale": EventStatus.CANCELLED,
}
RUNNING_ACTIONS = {"requested", "queued", "waiting", "in_progress"}
# deployment_status states. "inactive" only says a newer deployment replaced this one.
DEPLOYMENT_STATES = {
    "success": EventStatus.SUCCEEDED,
    "failure": EventStatus.FAILED,
    "error": EventStatus.FAILED,
    "in_progress": EventStatus.IN_PROGRESS,
    "queued": EventStatus.IN_PROGRESS,
    "pending": EventStatus.IN_PROGRESS,
    "waiting": EventStatus.IN_PROGRESS,
}


def verify(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check X-Hub-Signature-256 against every valid secret; raise SignatureError naming what is wrong."""
    signature = require_header(headers, SIGNATURE_HEADER, signature=True)
    algorithm, _, digest = signature.partition("=")
    if algorithm != "sha256" or not digest:
        raise SignatureError(BAD_SIGNATURE_FORMAT.format(header=SIGNATURE_HEADER, shape="sha256=<hex digest>"))
    if not hex_body_signature_matches([digest], raw, secrets):
        raise SignatureError(BAD_SIGNATURE)


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    return bounded_event(header(headers, "X-GitHub-Event") or "")


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    # GitHub keeps the same X-GitHub-Delivery when a delivery is redelivered.
    return bounded_id(header(headers, "X-GitHub-Delivery"), raw)


def repository_name(payload: dict) -> str:
    return fields.text(payload, "repository.full_name")


def pipeline_name(payload: dict, workflow: str) -> str:
    repository = repository_name(payload)
    if repository and workflow:
        return f"{repository}: {workflow}"
    return repository or workflow


def run_status(event: str, action: str, conclusion: str) -> EventStatus:
    if action == "completed":
        status = CONCLUSIONS.get(conclusion)
        if status is None:
            raise UnsupportedEvent(event, reason=f"conclusion {conclusion!r} says nothing ran")
        return status
    if action in RUNNING_ACTIONS:
        return EventStatus.IN_PROGRESS
    raise UnsupportedEvent(f"{event}.{action}")


def workflow_run(payload: dict) -> PipelineEvent:
    run = fields.required_mapping(payload, "workflow_run")
    run_id = fields.required_text(run, "id")
    attempt = fields.text(run, "run_attempt") or "1"
    action = fields.text(payload, "action")
    status = run_status("workflow_run", action, fields.text(run, "conclusion"))
    workflow = fields.first(fields.text(run, "name"), fields.text(payload, "workflow.name"), fields.text(run, "path"))
    started_at = fields.first_time(run, "run_started_at", "created_at")
    updated_at = fields.time_at(run, "updated_at")
    return PipelineEvent(
        kind=EventKind.PIPELINE,
        status=status,
        external_id=f"run:{run_id}:{attempt}",
        pipeline=pipeline_name(payload, workflow),
        run_id=run_id,
        title=fields.first(
            fields.text(run, "display_title"), fields.first_line(fields.text(run, "head_commit.message"))
        ),
        sha=fields.text(run, "head_sha"),
        ref=fields.text(run, "head_branch"),
        run_url=fields.text(run, "html_url"),
        started_at=started_at,
        finished_at=updated_at if action == "completed" else None,
        occurred_at=updated_at or started_at,
        committed_at=fields.time_at(run, "head_commit.timestamp"),
    )


def workflow_job(payload: dict) -> PipelineEvent:
    job = fields.required_mapping(payload, "workflow_job")
    job_id = fields.required_text(job, "id")
    action = fields.text(payload, "action")
    status = run_status("workflow_job", action, fields.text(job, "conclusion"))
    failing_step = ""
    if status == EventStatus.FAILED:
        for step in fields.items(job, "steps"):
            if fields.text(step, "conclusion") == "failure":
                failing_step = fields.text(step, "name")
                break
    started_at = fields.first_time(job, "started_at", "created_at")
    completed_at = fields.time_at(job, "completed_at")
    name = fields.text(job, "name")
    workflow = fields.text(job, "workflow_name")
    model_name, model_version = deployment_model(payload)
    return PipelineEvent(
        kind=EventKind.JOB,
        status=status,
        external_id=f"job:{job_id}",
        pipeline=pipeline_name(payload, workflow),
        run_id=fields.text(job, "run_id"),
        title=f"{workflow}: {name}" if workflow and name else name or workflow,
        sha=fields.text(job, "head_sha"),
        ref=fields.text(job, "head_branch"),
        # Jobs that target an environment come with the deployment GitHub created for them.
        environment=fields.text(payload, "deployment.environment"),
        run_url=fields.text(job, "html_url"),
        started_at=started_at,
        finished_at=completed_at,
        occurred_at=completed_at or started_at,
        failing_step=failing_step or (name if status == EventStatus.FAILED else ""),
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
    )


def deployment_model(payload: dict) -> tuple[str, str]:
    """Return the model named in ``deployment.payload`` (an object, or JSON text of one)."""
    extra = fields.value(payload, "deployment.payload")
    if isinstance(extra, str):
        extra = embedded_json_object(extra)
    if not isinstance(extra, dict):
        return "", ""
    model = extra.get("model")
    if isinstance(model, dict):
        name = fields.text(model, "name")
        return (
            (name, fields.first(fields.text(model, "version"), fields.text(extra, "model_version")))
            if name
            else ("", "")
        )
    return fields.model_from(fields.pairs(extra))


def deployment_rollout(payload: dict) -> Rollout | None:
    """Return the rollout block of ``deployment.payload`` (an object, or JSON text of one), if any."""
    extra = fields.value(payload, "deployment.payload")
    if isinstance(extra, str):
        extra = embedded_json_object(extra)
    return rollout_from(extra.get("rollout")) if isinstance(extra, dict) else None


def deployment_event(payload: dict, *, status: EventStatus, occurred_at, message: str, run_url: str) -> PipelineEvent:
    deployment = fields.required_mapping(payload, "deployment")
    deployment_id = fields.required_text(deployment, "id")
    model_name, model_version = deployment_model(payload)
    workflow = fields.text(payload, "workflow_run.name")
    task = fields.text(deployment, "task") or "deploy"
    environment = fields.first(
        fields.text(payload, "deployment_status.environment"), fields.text(deployment, "environment")
    )
    title = fields.text(deployment, "description")
    if not title:
        title = f"{task} to {environment}" if environment else task
    started_at = fields.time_at(deployment, "created_at")
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=status,
        external_id=f"deployment:{deployment_id}",
        pipeline=pipeline_name(payload, workflow or task),
        run_id=deployment_id,
        title=title,
        sha=fields.text(deployment, "sha"),
        ref=fields.text(deployment, "ref"),
        environment=environment,
        run_url=run_url,
        started_at=started_at,
        finished_at=occurred_at if status in (EventStatus.SUCCEEDED, EventStatus.FAILED) else None,
        occurred_at=occurred_at or started_at,
        failing_step=task if status == EventStatus.FAILED else "",
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        message=message,
        rollout=deployment_rollout(payload),
    )


def deployment_status(payload: dict) -> PipelineEvent:
    state_record = fields.required_mapping(payload, "deployment_status")
    state = fields.required_text(state_record, "state")
    status = DEPLOYMENT_STATES.get(state)
    if status is None:
        raise UnsupportedEvent("deployment_status", reason=f"state {state!r} is not an outcome")
    return deployment_event(
        payload,
        status=status,
        occurred_at=fields.first_time(state_record, "updated_at", "created_at"),
        message=fields.text(state_record, "description"),
        run_url=fields.first(
            fields.text(state_record, "log_url"),
            fields.text(state_record, "target_url"),
            fields.text(payload, "workflow_run.html_url"),
        ),
    )


def deployment(payload: dict) -> PipelineEvent:
    """A deployment was created: it is in progress until a deployment_status says otherwise."""
    return deployment_event(
        payload,
        status=EventStatus.IN_PROGRESS,
        occurred_at=fields.time_at(payload, "deployment.created_at"),
        message="",
        run_url=fields.text(payload, "workflow_run.html_url"),
    )


def ping(payload: dict) -> PipelineEvent:
    return PipelineEvent(kind=EventKind.PING, occurred_at=fields.time_at(payload, "hook.created_at"))


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a signed deployment_status "failure" of demo-model v1 to staging, as GitHub sends it."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    created = (now - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    deployment_id = 900_000_000 + uuid.uuid4().int % 100_000_000
    repository = "acme-ml/demo-model-serving"
    body = {
        "action": "created",
        "deployment_status": {
            "id": deployment_id + 1,
            "state": "failure",
            "description": "Readiness probe failed: model server did not load demo-model v1",
            "environment": "staging",
            "target_url": f"https://github.com/{repository}/actions/runs/{deployment_id}",
            "log_url": f"https://github.com/{repository}/actions/runs/{deployment_id}",
            "created_at": stamp,
            "updated_at": stamp,
        },
        "deployment": {
            "id": deployment_id,
            "sha": "5f3c2a1b9d8e7f60a1b2c3d4e5f60718293a4b5c",
            "ref": "main",
            "task": "deploy",
            "payload": {"model_name": "demo-model", "model_version": "1"},
            "environment": "staging",
            "description": "Deploy demo-model v1 to staging",
            "created_at": created,
            "updated_at": stamp,
        },
        "repository": {"id": 1296269, "name": "demo-model-serving", "full_name": repository},
        "sender": {"login": "kintsugi-test", "type": "User"},
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/kintsugi-test",
        "X-GitHub-Event": "deployment_status",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        SIGNATURE_HEADER: "sha256=" + hmac_sha256(secret.encode(), raw).hex(),
    }
    return headers, raw


SETUP_MARKDOWN = """\
In the repository (or organization) on GitHub, open **Settings → Webhooks → Add webhook** and fill in:

| Field | Value |
|---|---|
| Payload URL | `{webhook_url}` |
| Content type | `application/json` (`application/x-www-form-urlencoded` works too) |
| Secret | `{secret}` |
| SSL verification | Enabled |
| Which events? | **Workflow runs**, **Workflow jobs**, **Deployments**, **Deployment statuses** |

Choose the events under *Let me select individual events*. GitHub sends a `ping` right away;
the delivery list of this source shows it.

**Naming the model.** Workflow runs do not carry a model. Deployments do, in their payload:

```yaml
# .github/workflows/deploy.yml, a step that records the deployment
- uses: actions/github-script@v7
  with:
    script: |
      await github.rest.repos.createDeployment({{
        owner: context.repo.owner, repo: context.repo.repo, ref: context.sha,
        environment: "staging", auto_merge: false, required_contexts: [],
        payload: {{ model_name: "{model}", model_version: "{version}" }},
      }})
```

Otherwise set a model pattern on this source, for example `(?P<model>[a-z0-9-]+) v(?P<version>\\d+)`
over the run title.
"""

SENDER = Sender(
    kind="github",
    verify=verify,
    parse=parse_json_or_form,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters={
        "workflow_run": workflow_run,
        "workflow_job": workflow_job,
        "deployment_status": deployment_status,
        "deployment": deployment,
        "ping": ping,
    },
    kept_headers=(
        "content-type",
        "user-agent",
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-id",
        "x-github-hook-installation-target-type",
        "x-github-hook-installation-target-id",
        "x-github-enterprise-host",
    ),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
