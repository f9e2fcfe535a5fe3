"""Reads of sources."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from incidents.models import Source


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
