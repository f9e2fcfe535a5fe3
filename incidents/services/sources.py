"""Writes to sources and their secrets."""

import base64
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from incidents.models import Source, SourceKind, SourceSecret

# Kinds whose secret is a Standard Webhooks signing key ("whsec_" + base64 of random bytes).
STANDARD_WEBHOOKS_KINDS = {SourceKind.GENERIC, SourceKind.GITLAB}


def secret_generate(*, kind: str) -> str:
    """Return a new random secret in the format the kind of sender expects."""
    if kind in STANDARD_WEBHOOKS_KINDS:
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


@transaction.atomic
def source_create(*, team, kind: str, name: str, created_by=None, **options) -> tuple[Source, str]:
    """Create a source with a fresh secret; return the source and the secret (shown once)."""
    source = Source(team=team, kind=kind, name=name, created_by=created_by, **options)
    source.full_clean()
    source.save()
    secret = secret_generate(kind=kind)
    SourceSecret.objects.create(source=source, value=secret)
    return source, secret


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
    return secret
