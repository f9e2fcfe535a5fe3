"""Every payload of the shared wire-format collection, when it sits beside the repository.

The collection is read from ``<repository>/../shared/payloads``; where it is absent
this parametrized set is empty and skipped, the rest of the suite does not depend on it.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import UnsupportedEvent

from .helpers import assert_sane

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "payloads"
PAYLOADS = sorted(SHARED.glob("*.json")) if SHARED.is_dir() else []

# File name prefix -> (sender kind, event header value or None when the body names the event).
PREFIXES = [
    ("argo_rollouts_", "argo_rollouts", None),
    ("argocd_", "argocd", None),
    ("circleci_", "circleci", None),
    ("github_deployment_status_", "github", "deployment_status"),
    ("github_deployment_", "github", "deployment"),
    ("github_workflow_run_", "github", "workflow_run"),
    ("github_workflow_job_", "github", "workflow_job"),
    ("gitlab_deployment_hook", "gitlab", "Deployment Hook"),
    ("gitlab_pipeline_hook", "gitlab", "Pipeline Hook"),
    ("jenkins_", "jenkins", None),
    ("mlflow_", "mlflow", None),
    ("standardwebhooks_", "generic", None),
]
EVENT_HEADERS = {"github": "X-GitHub-Event", "gitlab": "X-Gitlab-Event"}


def sender_of(path: Path) -> tuple[str, dict[str, str]]:
    for prefix, kind, event in PREFIXES:
        if path.name.startswith(prefix):
            headers = {"Content-Type": "application/json"}
            if event is not None:
                headers[EVENT_HEADERS[kind]] = event
            return kind, headers
    raise AssertionError(f"no sender for {path.name}")


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda path: path.stem)
def test_shared_payload_gives_an_event_or_is_ignored(path):
    kind, headers = sender_of(path)
    sender = sender_for(kind)
    raw = path.read_bytes()
    payload = sender.parse(headers, raw)
    name = sender.event_name(headers, payload)
    assert sender.delivery_id(headers, payload, raw)
    try:
        event = sender.adapt(name, payload)
    except UnsupportedEvent:
        # Only what Kintsugi deliberately ignores may be: the spec's example contact event.
        assert kind == "generic"
        return
    assert_sane(event)
    if "failed" in path.name or "failure" in path.name:
        assert event.status == "failed"
    if "success" in path.name:
        assert event.status == "succeeded"
    if kind != "mlflow" and ("fraud-detector" in raw.decode() and "17" in raw.decode()):
        # Composed ML payloads name fraud-detector v17 in the places each adapter reads.
        assert (event.model_name, event.model_version) == ("fraud-detector", "17")


@pytest.mark.parametrize("path", [path for path in PAYLOADS if path.name.startswith("mlflow_model_version_created")])
def test_shared_mlflow_vector_verifies(path):
    readme = (SHARED / "headers.md").read_text()
    signature = re.search(r"X-MLflow-Signature: (v1,[A-Za-z0-9+/=]+)", readme).group(1)
    headers = {
        "X-MLflow-Delivery-Id": "2f0d7c1e-3b7a-4a55-9d7e-0c8e1f2a3b4c",
        "X-MLflow-Timestamp": "1746189019",
        "X-MLflow-Signature": signature,
    }
    sender_for("mlflow").verify(
        headers, path.read_bytes(), ["my-mlflow-webhook-secret"], datetime.fromtimestamp(1746189019, UTC)
    )
