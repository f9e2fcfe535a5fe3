"""Reads of sources."""

from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from incidents.models import Source, SourceSecret


def source_valid_secrets(*, source: Source, now: datetime | None = None) -> list[str]:
    """Return the source's secrets that verify deliveries now, newest first."""
    now = now or timezone.now()
    return list(
        source.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
    )


def source_for_webhook(*, public_id: str) -> Source | None:
    """Return the active source behind a webhook URL, or None."""
    return Source.objects.select_related("team").filter(public_id=public_id, is_active=True).first()


def source_and_secrets_for_webhook(*, public_id: str, now: datetime | None = None) -> tuple[Source | None, list[str]]:
    """Return the active source behind a webhook URL and its secrets valid at ``now`` (newest first).

    One plain query for what the webhook edge needs on every request, with
    the same rotation rule as ``source_valid_secrets``. The source carries the
    fields the edge reads (kind, public id, rate limit, team); others load on
    access. ``(None, [])`` when no active source has that URL.
    """
    now = now or timezone.now()
    source_table = connection.ops.quote_name(Source._meta.db_table)
    secret_table = connection.ops.quote_name(SourceSecret._meta.db_table)
    sql = (
        "SELECT source.id, source.team_id, source.kind, source.public_id, source.rate_limit_per_minute, "  # noqa: S608 - table names from the models
        "secret.value AS secret_value "
        f"FROM {source_table} source LEFT OUTER JOIN {secret_table} secret "
        "ON secret.source_id = source.id AND (secret.expires_at IS NULL OR secret.expires_at > %s) "
        "WHERE source.public_id = %s AND source.is_active "
        "ORDER BY secret.created_at DESC, secret.id DESC"
    )
    rows = list(Source.objects.raw(sql, [now, public_id]))
    if not rows:
        return None, []
    return rows[0], [row.secret_value for row in rows if row.secret_value is not None]
