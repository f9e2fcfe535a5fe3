"""Jenkins Notification plugin (JSON format).

The plugin does not sign: the secret travels as the password of the endpoint URL's
user info (``Authorization: Basic``), or as ``Authorization: Bearer`` from a proxy
or an HTTP step. It sends no event header and no delivery id: the event is the
build phase, and the delivery id is the SHA-256 of the job name, build number and
phase joined by newlines, so a retried notification is recognized.
"""

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import MISSING_FIELD, MalformedPayload, UnsupportedEvent
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.ingest.parsing import bounded_event, digest_id, parse_json
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import verify_authorization

# Jenkins results. UNSTABLE means the build ran but checks failed (tests, smoke tests after a
# deploy): for a deployment that is a failure someone should look at. NOT_BUILT ran nothing.
RESULTS = {
    "SUCCESS": EventStatus.SUCCEEDED,
    "UNSTABLE": EventStatus.FAILED,
    "FAILURE": EventStatus.FAILED,
    "ABORTED": EventStatus.CANCELLED,
}
PREFIXES_OF_BRANCHES = ("refs/heads/", "origin/")


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    phase = fields.value(payload, "build.phase")
    if not isinstance(phase, str) or not phase.strip():
        raise MalformedPayload(MISSING_FIELD.format(field="build.phase"))
    return bounded_event(phase.strip().lower())


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    return digest_id(
        fields.text(payload, "name"), fields.text(payload, "build.number"), fields.text(payload, "build.phase")
    )


def branch_name(branch: str) -> str:
    for prefix in PREFIXES_OF_BRANCHES:
        if branch.startswith(prefix):
            return branch[len(prefix) :]
    return branch


def failing_tests(build: dict) -> str:
    failed = [name for name in fields.items(build, "test_summary.failed_tests") if isinstance(name, str) and name]
    if not failed:
        return ""
    return failed[0] if len(failed) == 1 else f"{failed[0]} (and {len(failed) - 1} more failed tests)"


def build_event(payload: dict, *, status: EventStatus, finished: bool) -> PipelineEvent:
    name = fields.required_text(payload, "name")
    build = fields.required_mapping(payload, "build")
    number = fields.required_text(build, "number")
    parameters = fields.pairs(fields.value(build, "parameters"), key_field="name")
    model_name, model_version = fields.model_from(parameters)
    started_at = fields.parse_epoch(fields.value(build, "timestamp"), milliseconds=True)
    duration = fields.value(build, "duration")
    finished_at = None
    if finished and started_at is not None and isinstance(duration, int) and not isinstance(duration, bool):
        finished_at = fields.parse_epoch(started_at.timestamp() * 1000 + duration, milliseconds=True)
    display = fields.text(payload, "display_name") or name
    failing_step = ""
    if status == EventStatus.FAILED:
        failing_step = failing_tests(build) or fields.text(build, "status")
    return PipelineEvent(
        kind=EventKind.PIPELINE,
        status=status,
        # The job URL tells apart jobs of the same name in different folders.
        external_id=f"{fields.first(fields.text(payload, 'url'), name)}#{number}",
        pipeline=display,
        run_id=number,
        title=f"{display} #{number}",
        sha=fields.text(build, "scm.commit"),
        ref=branch_name(fields.text(build, "scm.branch")),
        environment=fields.environment_from(parameters),
        run_url=fields.text(build, "full_url"),
        started_at=started_at,
        finished_at=finished_at,
        occurred_at=finished_at or started_at,
        failing_step=failing_step,
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        message=fields.text(build, "notes"),
    )


def finished(payload: dict) -> PipelineEvent:
    """COMPLETED and FINALIZED: the build has a result (FINALIZED also ran post-build steps)."""
    result = fields.text(payload, "build.status")
    status = RESULTS.get(result)
    if status is None:
        phase = fields.text(payload, "build.phase").lower()
        raise UnsupportedEvent(phase, reason=f"result {result!r} says nothing ran" if result else "no result")
    return build_event(payload, status=status, finished=True)


def started(payload: dict) -> PipelineEvent:
    return build_event(payload, status=EventStatus.IN_PROGRESS, finished=False)


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return a FINALIZED FAILURE of a job deploying demo-model v1 to staging, with Basic credentials."""
    number = 1000 + uuid.uuid4().int % 1_000_000
    started_at = now - timedelta(minutes=5)
    duration = int((now - started_at).total_seconds() * 1000)
    body = {
        "name": "demo-model-deploy",
        "display_name": "demo-model-deploy",
        "url": "job/demo-model-deploy/",
        "build": {
            "full_url": f"https://jenkins.example.com/job/demo-model-deploy/{number}/",
            "number": number,
            "queue_id": number + 7,
            "timestamp": int(started_at.timestamp() * 1000),
            "duration": duration,
            "phase": "FINALIZED",
            "status": "FAILURE",
            "url": f"job/demo-model-deploy/{number}/",
            "scm": {
                "url": "https://github.com/acme-ml/demo-model-serving.git",
                "branch": "origin/main",
                "commit": "3c9d1e2f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
                "changes": ["deploy/values-staging.yaml"],
                "culprits": [],
            },
            "parameters": {"MODEL_NAME": "demo-model", "MODEL_VERSION": "1", "ENVIRONMENT": "staging"},
            "log": "",
            "notes": "",
            "test_summary": {
                "total": 12,
                "failed": 1,
                "passed": 11,
                "skipped": 0,
                "failed_tests": ["smoke.test_demo_model.test_predict_latency"],
            },
            "artifacts": {},
        },
    }
    raw = json.dumps(body).encode()
    credentials = base64.b64encode(f"jenkins:{secret}".encode()).decode()
    headers = {
        "Content-Type": "application/json;charset=UTF-8",
        "Authorization": f"Basic {credentials}",
        "User-Agent": "Java/17.0.11",
    }
    return headers, raw


SETUP_MARKDOWN = """\
Install the **Notification** plugin in Jenkins. Jenkins does not sign notifications, so the secret travels
as the password of the endpoint URL `{webhook_url}`, which becomes `{url_with_password}`. Keep that URL
out of job configurations: store it as a **Secret text** credential (for example `kintsugi-webhook-url`).

In each job: **Configure → Job Notifications → Add Endpoint**:

| Field | Value |
|---|---|
| Format | JSON |
| Protocol | HTTP |
| Event | All Events (Kintsugi records *started*, *completed* and *finalized*) |
| URL Source | *Secret text credential*: `kintsugi-webhook-url` |
| Timeout | 30000 |
| Retries | 3 |

A proxy may instead send `Authorization: Bearer {secret}`.

**Naming the model.** Give the job the build parameters `MODEL_NAME` and `MODEL_VERSION` (lower case works
too), and `ENVIRONMENT` or `DEPLOY_ENV` for the target environment. Without them, a model pattern on this
source can read the job title.

Results: SUCCESS is a success; FAILURE and UNSTABLE are failures (an unstable deploy failed its checks);
ABORTED is a cancellation; NOT_BUILT is ignored.
"""

SENDER = Sender(
    kind="jenkins",
    verify=verify_authorization,
    parse=parse_json,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters={"started": started, "completed": finished, "finalized": finished},
    kept_headers=("content-type", "user-agent"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
