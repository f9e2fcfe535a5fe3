"""GitLab webhooks: pipeline, deployment and job events.

Authenticated by the secret token, sent back in ``X-Gitlab-Token``; when GitLab
signs with a signing token, the Standard Webhooks signature is checked as well.
"""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import BAD_TOKEN, MISSING_SIGNATURE, SignatureError, UnsupportedEvent
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.ingest.parsing import bounded_event, bounded_id, header, parse_json
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import (
    hmac_sha256,
    standard_webhooks_key,
    token_matches,
    verify_signed_message,
)

TOKEN_HEADER = "X-Gitlab-Token"
SIGNATURE_HEADER = "webhook-signature"

# Pipeline and job statuses. "manual" waits for someone to press play; "skipped" ran nothing.
STATUSES = {
    "success": EventStatus.SUCCEEDED,
    "failed": EventStatus.FAILED,
    "canceled": EventStatus.CANCELLED,
    "canceling": EventStatus.CANCELLED,
    "created": EventStatus.IN_PROGRESS,
    "waiting_for_resource": EventStatus.IN_PROGRESS,
    "waiting_for_callback": EventStatus.IN_PROGRESS,
    "preparing": EventStatus.IN_PROGRESS,
    "pending": EventStatus.IN_PROGRESS,
    "running": EventStatus.IN_PROGRESS,
    "scheduled": EventStatus.IN_PROGRESS,
    "manual": EventStatus.IN_PROGRESS,
    "blocked": EventStatus.IN_PROGRESS,
}
TERMINAL = {EventStatus.SUCCEEDED, EventStatus.FAILED, EventStatus.CANCELLED}
# object_kind -> the event header GitLab sends with it, for deliveries that lost their headers.
OBJECT_KINDS = {"pipeline": "Pipeline Hook", "deployment": "Deployment Hook", "build": "Job Hook"}
IDLE_JOB_STATUSES = {"created", "skipped", "manual", "scheduled"}


def verify(headers: Mapping[str, str], raw: bytes, secrets: list[str], now: datetime) -> None:
    """Check the signing token's signature when present, and the secret token when present; require one.

    A wrong signature is refused even when the token matches: the signature is the stronger proof.
    """
    token = header(headers, TOKEN_HEADER)
    signed = header(headers, SIGNATURE_HEADER) is not None
    if not signed and token is None:
        raise SignatureError(MISSING_SIGNATURE.format(header=TOKEN_HEADER))
    if signed:
        keys = [key for key in map(standard_webhooks_key, secrets) if key]
        verify_signed_message(headers, raw, keys=keys, now=now)
    if token is not None and not token_matches(token.strip(), secrets):
        raise SignatureError(BAD_TOKEN.format(header=TOKEN_HEADER))


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    name = header(headers, "X-Gitlab-Event")
    if name is None:
        name = OBJECT_KINDS.get(fields.text(payload, "object_kind"), "")
    return bounded_event(name)


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    # Idempotency-Key (GitLab 17.4+) and webhook-id survive retries; the event UUID is older.
    for name in ("Idempotency-Key", "webhook-id", "X-Gitlab-Event-UUID"):
        value = header(headers, name)
        if value and value.strip():
            return bounded_id(value, raw)
    return bounded_id(None, raw)


def status_of(event: str, raw_status: str) -> EventStatus:
    status = STATUSES.get(raw_status)
    if status is None:
        raise UnsupportedEvent(event, reason=f"status {raw_status!r} is not an outcome")
    return status


def failing_build(builds: list) -> dict | None:
    """Return the failed job that failed the pipeline first (jobs allowed to fail do not count)."""
    failed = [
        build
        for build in builds
        if isinstance(build, dict)
        and fields.text(build, "status") == "failed"
        and build.get("allow_failure") is not True
    ]
    if not failed:
        return None
    return min(failed, key=lambda build: (fields.text(build, "finished_at"), fields.text(build, "id").zfill(20)))


def job_label(stage: str, name: str) -> str:
    return f"{stage}:{name}" if stage and name else name or stage


def pipeline_environment(variables: dict[str, str], builds: list, failed: dict | None) -> str:
    """Return the environment a pipeline deployed to: a variable, the failed job's, or the only one jobs ran in."""
    named = fields.environment_from(variables)
    if named:
        return named
    if failed is not None and fields.text(failed, "environment.name"):
        return fields.text(failed, "environment.name")
    ran = {
        fields.text(build, "environment.name")
        for build in builds
        if isinstance(build, dict) and fields.text(build, "status") not in IDLE_JOB_STATUSES
    } - {""}
    return ran.pop() if len(ran) == 1 else ""


def pipeline_hook(payload: dict) -> PipelineEvent:
    attributes = fields.required_mapping(payload, "object_attributes")
    pipeline_id = fields.required_text(attributes, "id")
    status = status_of("Pipeline Hook", fields.text(attributes, "status"))
    builds = fields.items(payload, "builds")
    failed = failing_build(builds) if status == EventStatus.FAILED else None
    variables = fields.pairs(fields.value(attributes, "variables"))
    model_name, model_version = fields.model_from(variables)
    created_at = fields.time_at(attributes, "created_at")
    finished_at = fields.time_at(attributes, "finished_at") if status in TERMINAL else None
    web_url = fields.text(payload, "project.web_url")
    return PipelineEvent(
        kind=EventKind.PIPELINE,
        status=status,
        external_id=f"pipeline:{pipeline_id}",
        pipeline=fields.first(
            fields.text(payload, "project.path_with_namespace"), fields.text(payload, "project.name")
        ),
        run_id=pipeline_id,
        title=fields.first(
            fields.text(attributes, "name"),
            fields.text(payload, "commit.title"),
            fields.first_line(fields.text(payload, "commit.message")),
        ),
        sha=fields.text(attributes, "sha"),
        ref=fields.text(attributes, "ref"),
        environment=pipeline_environment(variables, builds, failed),
        run_url=fields.first(fields.text(attributes, "url"), f"{web_url}/-/pipelines/{pipeline_id}" if web_url else ""),
        started_at=created_at,
        finished_at=finished_at,
        occurred_at=finished_at or created_at,
        committed_at=fields.time_at(payload, "commit.timestamp"),
        failing_step=job_label(fields.text(failed, "stage"), fields.text(failed, "name")) if failed else "",
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        message=fields.text(failed, "failure_reason") if failed else "",
    )


def deployment_hook(payload: dict) -> PipelineEvent:
    deployment_id = fields.required_text(payload, "deployment_id")
    status = status_of("Deployment Hook", fields.text(payload, "status"))
    environment = fields.text(payload, "environment")
    changed_at = fields.time_at(payload, "status_changed_at")
    # The hook carries the short SHA; the commit URL ends with the full one.
    commit = fields.text(payload, "commit_url").rstrip("/").rsplit("/", 1)[-1]
    sha = commit if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit) else ""
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=status,
        external_id=f"deployment:{deployment_id}",
        pipeline=fields.first(
            fields.text(payload, "project.path_with_namespace"), fields.text(payload, "project.name")
        ),
        run_id=deployment_id,
        title=fields.first(fields.text(payload, "commit_title"), f"Deploy to {environment}" if environment else ""),
        sha=sha or fields.text(payload, "short_sha"),
        ref=fields.text(payload, "ref"),
        environment=environment,
        run_url=fields.text(payload, "deployable_url"),
        finished_at=changed_at if status in TERMINAL else None,
        occurred_at=changed_at,
    )


def job_hook(payload: dict) -> PipelineEvent:
    job_id = fields.required_text(payload, "build_id")
    status = status_of("Job Hook", fields.text(payload, "build_status"))
    name = fields.text(payload, "build_name")
    stage = fields.text(payload, "build_stage")
    started_at = fields.time_at(payload, "build_started_at")
    finished_at = fields.time_at(payload, "build_finished_at") if status in TERMINAL else None
    web_url = fields.first(fields.text(payload, "project.web_url"), fields.text(payload, "repository.homepage"))
    return PipelineEvent(
        kind=EventKind.JOB,
        status=status,
        external_id=f"job:{job_id}",
        pipeline=fields.first(
            fields.text(payload, "project.path_with_namespace"),
            fields.text(payload, "project_name"),
        ),
        run_id=fields.text(payload, "pipeline_id"),
        title=job_label(stage, name),
        sha=fields.text(payload, "sha"),
        ref=fields.text(payload, "ref"),
        environment=fields.text(payload, "environment.name"),
        run_url=f"{web_url}/-/jobs/{job_id}" if web_url else "",
        started_at=started_at,
        finished_at=finished_at,
        occurred_at=finished_at or started_at or fields.time_at(payload, "build_created_at"),
        failing_step=job_label(stage, name) if status == EventStatus.FAILED else "",
        message=fields.text(payload, "build_failure_reason") if status == EventStatus.FAILED else "",
    )


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a failed Pipeline Hook of demo-model v1 to staging, with the token and, for a whsec_ secret, signed."""

    def gitlab_time(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")

    pipeline_id = 100_000 + uuid.uuid4().int % 900_000
    web_url = "https://gitlab.example.com/acme-ml/demo-model-serving"
    sha = "8a1f4c2e9b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
    started = now - timedelta(minutes=6)
    body = {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": pipeline_id,
            "iid": pipeline_id % 1000,
            "name": "Deploy demo-model v1",
            "ref": "main",
            "tag": False,
            "sha": sha,
            "source": "push",
            "status": "failed",
            "detailed_status": "failed",
            "stages": ["build", "evaluate", "deploy"],
            "created_at": gitlab_time(started),
            "finished_at": gitlab_time(now),
            "duration": 352,
            "variables": [{"key": "MODEL_NAME", "value": "demo-model"}, {"key": "MODEL_VERSION", "value": "1"}],
            "url": f"{web_url}/-/pipelines/{pipeline_id}",
        },
        "user": {"id": 1, "name": "Kintsugi Test", "username": "kintsugi-test"},
        "project": {
            "id": 42,
            "name": "demo-model-serving",
            "web_url": web_url,
            "path_with_namespace": "acme-ml/demo-model-serving",
            "default_branch": "main",
        },
        "commit": {
            "id": sha,
            "title": "Serve demo-model v1",
            "message": "Serve demo-model v1\n",
            "timestamp": (started - timedelta(minutes=1)).isoformat(),
            "url": f"{web_url}/-/commit/{sha}",
        },
        "builds": [
            {
                "id": pipeline_id * 10 + 1,
                "stage": "build",
                "name": "build-image",
                "status": "success",
                "finished_at": gitlab_time(started + timedelta(minutes=2)),
                "allow_failure": False,
                "environment": None,
            },
            {
                "id": pipeline_id * 10 + 2,
                "stage": "deploy",
                "name": "deploy-staging",
                "status": "failed",
                "finished_at": gitlab_time(now),
                "failure_reason": "script_failure",
                "allow_failure": False,
                "environment": {"name": "staging", "action": "start", "deployment_tier": "staging"},
            },
        ],
    }
    raw = json.dumps(body).encode()
    delivery = str(uuid.uuid4())
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.6.0",
        "X-Gitlab-Event": "Pipeline Hook",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": delivery,
        "X-Gitlab-Token": secret,
        "webhook-id": delivery,
        "webhook-timestamp": timestamp,
    }
    key = standard_webhooks_key(secret) if secret.startswith("whsec_") else None
    if key:
        digest = hmac_sha256(key, f"{delivery}.{timestamp}.".encode() + raw)
        headers[SIGNATURE_HEADER] = "v1," + base64.b64encode(digest).decode()
    return headers, raw


SETUP_MARKDOWN = """\
In the project (or group) on GitLab, open **Settings → Webhooks → Add new webhook** and fill in:

| Field | Value |
|---|---|
| URL | `{webhook_url}` |
| Secret token | `{secret}` |
| Trigger | **Pipeline events**, **Job events** and **Deployment events** |
| Enable SSL verification | checked |

If your GitLab offers a **signing token** (GitLab 19 and later), you may use the same secret there:
Kintsugi then also checks the `webhook-signature` header and refuses deliveries older than five minutes.

**Naming the model.** Give pipelines the variables `MODEL_NAME` and `MODEL_VERSION`
(and `ENVIRONMENT` or `DEPLOY_ENV` when the pipeline deploys one environment), for example when you
trigger them:

```shell
curl --request POST --form token=$TRIGGER_TOKEN --form ref=main \\
  --form "variables[MODEL_NAME]={model}" --form "variables[MODEL_VERSION]={version}" \\
  "https://gitlab.example.com/api/v4/projects/$PROJECT_ID/trigger/pipeline"
```

Without them, the environment of the failed job is used, and a model pattern on this source can read the
pipeline name or the ref.
"""

SENDER = Sender(
    kind="gitlab",
    verify=verify,
    parse=parse_json,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters={
        "Pipeline Hook": pipeline_hook,
        "Deployment Hook": deployment_hook,
        "Job Hook": job_hook,
        "Build Hook": job_hook,  # the name before GitLab 9.3
    },
    kept_headers=(
        "content-type",
        "user-agent",
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        "x-gitlab-webhook-uuid",
        "x-gitlab-instance",
        "idempotency-key",
        "webhook-id",
        "webhook-timestamp",
    ),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
