"""Writes to sources and their secrets."""

import base64
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from incidents.ingest.discovery import validate_pattern
from incidents.models import Severity, Source, SourceKind, SourceSecret

# Kinds whose secret is a Standard Webhooks signing key ("whsec_" + base64 of random bytes).
STANDARD_WEBHOOKS_KINDS = {SourceKind.GENERIC, SourceKind.GITLAB}

# Grace periods offered when rotating a secret, in seconds; the API accepts any value up to the longest.
GRACE_PERIODS: list[tuple[int, str]] = [
    (0, "None: the old secret stops working now"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (7 * 86400, "7 days"),
]
MAX_GRACE_SECONDS = max(seconds for seconds, _ in GRACE_PERIODS)
MAX_RATE_LIMIT_PER_MINUTE = 6000
ANY_ENVIRONMENT = "*"

UNKNOWN_KIND = "Unknown kind {kind!r}: choose one of {kinds}."
SEVERITY_MAP_NOT_AN_OBJECT = "Environment severity must be an object mapping environment names to severities."
SEVERITY_MAP_BAD_ENVIRONMENT = "Environment {environment!r} must be a name of 1 to 100 characters."
SEVERITY_MAP_DUPLICATE = "Environment {environment!r} appears twice (names are compared without case)."
SEVERITY_MAP_BAD_SEVERITY = "Environment {environment!r} maps to {severity!r}; use one of {severities}."
DEFAULT_MODEL_OTHER_TEAM = "Model {model!r} is not registered to team {team}."
NO_VALID_SECRET = "This source has no valid secret: rotate its secret first."
SOURCE_INACTIVE = "This source is inactive, so its webhook accepts nothing: activate it first."
NO_SAMPLE = "{kind} sources have no sample delivery to send."
NAME_TAKEN = "Team {team} already has a source named {name!r}."
RATE_LIMIT_OUT_OF_RANGE = "Rate limit must be between 1 and {maximum} deliveries per minute."

# Options a team may change after creating a source.
OPTION_FIELDS = (
    "name",
    "is_active",
    "environment_severity",
    "model_pattern",
    "model_pattern_field",
    "default_model",
    "rate_limit_per_minute",
)


def secret_generate(*, kind: str) -> str:
    """Return a new random secret in the format the kind of sender expects."""
    if kind in STANDARD_WEBHOOKS_KINDS:
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def environment_severity_clean(mapping) -> dict[str, str]:
    """Return the environment-to-severity map with names stripped; raise ValidationError naming the bad entry.

    Keys are environment names (``*`` stands for any other environment), values are severities
    (``SEV1`` … ``SEV4``). Names that differ only in case are duplicates.
    """
    if not isinstance(mapping, dict):
        raise ValidationError({"environment_severity": SEVERITY_MAP_NOT_AN_OBJECT})
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for raw_environment, severity in mapping.items():
        environment = raw_environment.strip() if isinstance(raw_environment, str) else ""
        if not environment or len(environment) > 100:
            raise ValidationError(
                {"environment_severity": SEVERITY_MAP_BAD_ENVIRONMENT.format(environment=raw_environment)}
            )
        if environment.casefold() in seen:
            raise ValidationError({"environment_severity": SEVERITY_MAP_DUPLICATE.format(environment=environment)})
        if severity not in Severity.values:
            raise ValidationError(
                {
                    "environment_severity": SEVERITY_MAP_BAD_SEVERITY.format(
                        environment=environment, severity=severity, severities=", ".join(Severity.values)
                    )
                }
            )
        seen.add(environment.casefold())
        cleaned[environment] = severity
    return cleaned


def _check_options(*, source: Source) -> None:
    """Raise ValidationError (by field) when the source's options break a rule the model alone cannot state."""
    if Source.objects.filter(team_id=source.team_id, name=source.name).exclude(pk=source.pk).exists():
        raise ValidationError({"name": NAME_TAKEN.format(team=source.team, name=source.name)})
    if source.kind not in SourceKind.values:
        raise ValidationError(
            {"kind": UNKNOWN_KIND.format(kind=source.kind, kinds=", ".join(SourceKind.values))},
        )
    source.environment_severity = environment_severity_clean(source.environment_severity)
    problem = validate_pattern(source.model_pattern)
    if problem:
        raise ValidationError({"model_pattern": problem})
    if source.default_model_id is not None and source.default_model.team_id != source.team_id:
        raise ValidationError(
            {"default_model": DEFAULT_MODEL_OTHER_TEAM.format(model=source.default_model.name, team=source.team)}
        )
    if not 1 <= source.rate_limit_per_minute <= MAX_RATE_LIMIT_PER_MINUTE:
        raise ValidationError(
            {"rate_limit_per_minute": RATE_LIMIT_OUT_OF_RANGE.format(maximum=MAX_RATE_LIMIT_PER_MINUTE)}
        )


@transaction.atomic
def source_create(*, team, kind: str, name: str, created_by=None, **options) -> tuple[Source, str]:
    """Create a source with a fresh secret; return the source and the secret (shown once).

    Raise ValidationError, keyed by field, for an unknown kind, a taken name or a bad option.
    """
    source = Source(team=team, kind=kind, name=name, created_by=created_by, **options)
    _check_options(source=source)
    source.full_clean()
    source.save()
    secret = secret_generate(kind=kind)
    SourceSecret.objects.create(source=source, value=secret)
    return source, secret


@transaction.atomic
def source_update(*, source: Source, **options) -> Source:
    """Change the source's options (any of ``OPTION_FIELDS``) and return it.

    Raise ValidationError, keyed by field, when an option is invalid; the source is then left as it was.
    The kind, team and webhook URL of a source never change.
    """
    unknown = set(options) - set(OPTION_FIELDS)
    if unknown:
        raise TypeError(f"Not options of a source: {', '.join(sorted(unknown))}.")
    if not options:
        return source
    previous = {field: getattr(source, field) for field in options}
    for field, value in options.items():
        setattr(source, field, value)
    try:
        _check_options(source=source)
        source.full_clean()
    except ValidationError:
        for field, value in previous.items():
            setattr(source, field, value)
        raise
    source.save(update_fields=list(options))
    _source_edge_changed(source=source)
    return source


@transaction.atomic
def source_rotate_secret(*, source: Source, grace: timedelta, now: datetime | None = None) -> str:
    """Issue a new secret; the current ones keep working for ``grace``, then expire. Return the new secret."""
    now = now or timezone.now()
    expires_at = now + grace
    for old in SourceSecret.objects.select_for_update().filter(source=source):
        if old.expires_at is None or old.expires_at > expires_at:
            old.expires_at = expires_at
            old.save(update_fields=["expires_at"])
    secret = secret_generate(kind=source.kind)
    SourceSecret.objects.create(source=source, value=secret)
    _source_edge_changed(source=source)
    return secret


def _source_edge_changed(*, source: Source) -> None:
    """Count a change of what the webhook edge reads of the source, so web processes read it again.

    Call it in the transaction of every change to a source's options or secrets:
    a delivery checked against an older version is then not stored (see
    ``delivery_receive``), and the edge reads the source again before it answers.
    """
    Source.objects.filter(pk=source.pk).update(edge_version=F("edge_version") + 1)
    source.refresh_from_db(fields=["edge_version"])


class SourceRuleError(Exception):
    """An operation on a source its current state does not allow; the message says why."""
