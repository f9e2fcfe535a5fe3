"""The normalized pipeline event: what one delivery means, whoever sent it.

Adapters build these from payloads; services turn them into deployments,
incidents and registry changes. Nothing here touches the database.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    PIPELINE = "pipeline"  # a whole pipeline or workflow run
    JOB = "job"  # one job or stage of a run
    DEPLOYMENT = "deployment"  # a deployment to an environment
    REGISTRY = "registry"  # a model registry change (MLflow)
    PING = "ping"  # the sender checking the hook works


class EventStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in_progress"


class RegistryAction(StrEnum):
    MODEL_CREATED = "model_created"
    VERSION_CREATED = "version_created"
    VERSION_TAG_SET = "version_tag_set"
    VERSION_TAG_DELETED = "version_tag_deleted"
    ALIAS_SET = "alias_set"
    ALIAS_DELETED = "alias_deleted"


@dataclass(frozen=True)
class RegistryChange:
    action: RegistryAction
    model_name: str
    version: str = ""
    alias: str = ""
    run_id: str = ""
    source_uri: str = ""
    description: str = ""
    tags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineEvent:
    """One normalized event. Empty strings mean "the payload did not say"."""

    kind: EventKind
    status: EventStatus | None = None
    # Identity of the deployment attempt across the sender's events for it
    # (for example GitHub's workflow run id plus attempt). Events with the same
    # external_id update the same Deployment.
    external_id: str = ""
    pipeline: str = ""
    run_id: str = ""
    title: str = ""
    sha: str = ""
    ref: str = ""
    environment: str = ""
    run_url: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # When the sender says this happened; orders out-of-order deliveries.
    occurred_at: datetime | None = None
    failing_step: str = ""
    model_name: str = ""
    model_version: str = ""
    # Where the model was found: "payload", "pattern", "default" or "" (not found).
    model_origin: str = ""
    registry: RegistryChange | None = None

    def as_json(self) -> dict:
        """Return a JSON-serializable dict (datetimes as ISO 8601) for storage and display."""

        def convert(value):
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {key: convert(item) for key, item in value.items()}
            return value

        return convert(asdict(self))
