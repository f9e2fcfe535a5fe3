"""Shared helpers of the ingest tests: fixture loading, headers per sender, sanity of events."""

from datetime import datetime
from pathlib import Path

from incidents.ingest.events import EVENT_TEXT_LIMITS, EventKind, EventStatus, PipelineEvent, is_http_url

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "webhooks"
KINDS = ("github", "gitlab", "jenkins", "argocd", "argo_rollouts", "circleci", "mlflow", "generic")


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*/*.json"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def headers_for(kind: str, prefix: str) -> dict[str, str]:
    """Return the headers a sender puts on a delivery of the event named by a fixture's prefix."""
    headers = {"Content-Type": "application/json"}
    if kind == "github":
        headers["X-GitHub-Event"] = prefix
    elif kind == "gitlab":
        headers["X-Gitlab-Event"] = prefix.replace("_", " ").title()
    elif kind == "circleci":
        headers["Circleci-Event-Type"] = prefix.replace("_", "-")
    return headers


def assert_sane(event: PipelineEvent) -> None:
    """Check what every event must satisfy whatever the payload: types, lengths, aware times, safe URLs."""
    assert isinstance(event, PipelineEvent)
    assert isinstance(event.kind, EventKind)
    assert event.status is None or isinstance(event.status, EventStatus)
    for name, limit in EVENT_TEXT_LIMITS.items():
        value = getattr(event, name)
        assert isinstance(value, str), name
        assert len(value) <= limit, name
        assert "\x00" not in value, name
    assert event.run_url == "" or is_http_url(event.run_url)
    for name in ("started_at", "finished_at", "occurred_at"):
        moment = getattr(event, name)
        assert moment is None or (isinstance(moment, datetime) and moment.utcoffset() is not None), name
    assert event.model_origin in ("", "payload", "pattern", "default")
    if event.registry is not None:
        assert isinstance(event.registry.model_name, str)
        assert all(isinstance(key, str) for key in event.registry.tags)
    event.as_json()  # always serializable
