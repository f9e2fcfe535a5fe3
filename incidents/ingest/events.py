"""The normalized pipeline event: what one delivery means, whoever sent it.

Adapters build these from payloads; services turn them into deployments,
incidents and registry changes. Nothing here touches the database.

Both dataclasses clean their text on construction so that whatever a sender
put in a payload fits the columns it ends up in: NUL characters removed
(PostgreSQL rejects them), line breaks flattened in one-line fields, text
clipped to the column's length, URLs kept only when they are http(s).
"""

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from config.validation import text_repair


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


class RolloutOutcome(StrEnum):
    """How a rollout ended, as a sender says it; no outcome means it still runs."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


class RolloutKind(StrEnum):
    AB_TEST = "ab_test"
    CANARY = "canary"
    SHADOW = "shadow"
    BLUE_GREEN = "blue_green"


ROLLOUT_TEXT_LIMITS = {"name": 300, "candidate": 64, "control": 64, "reason": 2000}


# Longest text each field may hold: the length of the column it is stored in.
EVENT_TEXT_LIMITS = {
    "external_id": 300,
    "pipeline": 200,
    "run_id": 200,
    "title": 300,
    "sha": 64,
    "ref": 255,
    "environment": 100,
    "run_url": 500,
    "failing_step": 300,
    "model_name": 200,
    "model_version": 64,
    "message": 2000,
}
REGISTRY_TEXT_LIMITS = {
    "model_name": 200,
    "version": 64,
    "alias": 100,
    "run_id": 128,
    "source_uri": 500,
    "description": 5000,
}
# MLflow's own limits on tag keys and values; more tags than this are dropped.
TAG_KEY_LIMIT = 250
TAG_VALUE_LIMIT = 5000
TAG_COUNT_LIMIT = 100
MULTILINE_FIELDS = {"message", "description"}


def clean_text(value: str, *, limit: int, multiline: bool = False) -> str:
    """Return ``value`` without NUL or lone surrogates, stripped, on one line unless ``multiline``, clipped."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    value = text_repair(value)
    if not multiline:
        value = " ".join(value.split())
    value = value.strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


_validate_url = URLValidator(schemes=["http", "https"])


def is_http_url(value: str) -> bool:
    """Return whether ``value`` is an absolute http(s) URL, the only kind Kintsugi links to."""
    try:
        _validate_url(value)
    except ValidationError:
        return False
    return True


def _clean_fields(instance, limits: dict[str, int]) -> None:
    for name, limit in limits.items():
        value = getattr(instance, name)
        cleaned = clean_text(value, limit=limit, multiline=name in MULTILINE_FIELDS)
        if cleaned != value:
            object.__setattr__(instance, name, cleaned)


def _clean_tags(tags: dict) -> dict:
    cleaned = {}
    for key, value in list(tags.items())[:TAG_COUNT_LIMIT]:
        key = clean_text(str(key), limit=TAG_KEY_LIMIT)
        if key:
            cleaned[key] = None if value is None else clean_text(str(value), limit=TAG_VALUE_LIMIT, multiline=True)
    return cleaned


@dataclass(frozen=True)
class RegistryChange:
    action: RegistryAction
    model_name: str
    version: str = ""
    alias: str = ""
    run_id: str = ""
    source_uri: str = ""
    description: str = ""
    # Tags the change sets (key -> value); for VERSION_TAG_DELETED the deleted keys map to None.
    tags: dict = field(default_factory=dict)

    def __post_init__(self):
        _clean_fields(self, REGISTRY_TEXT_LIMITS)
        object.__setattr__(self, "tags", _clean_tags(self.tags))


@dataclass(frozen=True)
class Rollout:
    """What an event says about the rollout it belongs to: a candidate version beside a control.

    Empty strings and None mean "the payload did not say"; the candidate
    defaults to the event's model version.
    """

    # The rollout's name at its source: later events of the same rollout join on it.
    name: str = ""
    kind: RolloutKind = RolloutKind.CANARY
    candidate: str = ""
    control: str = ""
    # The candidate's share of traffic, a percent from 0 to 100 in hundredths (0.5, 2.5, 10).
    traffic_percent: int | float | None = None
    step: int | None = None
    outcome: RolloutOutcome | None = None
    reason: str = ""

    def __post_init__(self):
        _clean_fields(self, ROLLOUT_TEXT_LIMITS)
        if self.step is not None and (not isinstance(self.step, int) or isinstance(self.step, bool) or self.step < 0):
            raise TypeError(f"step must be a whole number, got {self.step!r}")
        share = self.traffic_percent
        if share is not None:
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 100:
                raise TypeError(f"traffic_percent must be a number from 0 to 100, got {share!r}")
            # Hundredths, as experiments store them; whole shares stay ints (10, not 10.0).
            share = round(share, 2)
            object.__setattr__(self, "traffic_percent", int(share) if share == int(share) else share)
        if self.outcome is not None and not isinstance(self.outcome, RolloutOutcome):
            object.__setattr__(self, "outcome", RolloutOutcome(self.outcome))
        if not isinstance(self.kind, RolloutKind):
            object.__setattr__(self, "kind", RolloutKind(self.kind))


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
    # When the deployed commit was made, where the sender says: the start of DORA's lead time for changes.
    committed_at: datetime | None = None
    failing_step: str = ""
    model_name: str = ""
    model_version: str = ""
    # Where the model was found: "payload", "pattern", "default" or "" (not found).
    model_origin: str = ""
    registry: RegistryChange | None = None
    # What the sender said about the outcome (an error message), for people to read.
    message: str = ""
    # The rollout (canary, A/B test…) the event belongs to, when the sender says.
    rollout: Rollout | None = None

    def __post_init__(self):
        external_id = self.external_id
        if isinstance(external_id, str) and len(external_id) > EVENT_TEXT_LIMITS["external_id"]:
            # Clipping could merge two runs into one deployment; a digest keeps them apart.
            digest = hashlib.sha256(external_id.encode("utf-8", "replace")).hexdigest()
            object.__setattr__(self, "external_id", f"sha256:{digest}")
        if isinstance(self.run_url, str) and len(self.run_url.strip()) > EVENT_TEXT_LIMITS["run_url"]:
            object.__setattr__(self, "run_url", "")  # a clipped URL leads nowhere
        _clean_fields(self, EVENT_TEXT_LIMITS)
        if self.run_url and not is_http_url(self.run_url):
            object.__setattr__(self, "run_url", "")
        for name in ("started_at", "finished_at", "occurred_at", "committed_at"):
            moment = getattr(self, name)
            if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
                raise TypeError(f"{name} must be an aware datetime, got {moment!r}")

    def as_json(self) -> dict:
        """Return a JSON-serializable dict (datetimes as ISO 8601) for storage and display."""

        def convert(value):
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {key: convert(item) for key, item in value.items()}
            return value

        # Fields are text, times and flat registry and rollout parts: no need for asdict's deep copies.
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        for name in ("registry", "rollout"):
            part = getattr(self, name)
            if part is not None:
                data[name] = {item.name: getattr(part, item.name) for item in fields(part)}
        return convert(data)
