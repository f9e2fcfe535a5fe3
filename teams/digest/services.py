"""Writes of the weekly digest: sending one person's digest exactly once, preferences, unsubscribing.

Sending claims a DigestSend row (unique per recipient and ISO week) in its own
transaction before the email leaves, and records the outcome after: a retried
task, a doubled beat or a rerun of ``send_digests`` finds the claim and sends
nothing. A send that fails is recorded with its error and claimed again by its
retry. A claim whose sender died after the SMTP server may have accepted the
message stays "sending" and is never sent again: nobody receives two.
"""

import smtplib
from email.utils import formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from teams.digest.models import DigestPreference, DigestSend, DigestSendStatus
from teams.digest.schedule import IsoWeek
from teams.digest.selectors import Digest, digest_build
from teams.models import Team

User = get_user_model()

UNSUBSCRIBE_SALT = "kintsugi.digest.unsubscribe"
UNSUBSCRIBE_INVALID = (
    "This unsubscribe link is not valid: it may have been cut short by your email program. "
    "Sign in and turn the digest off on the digest preferences page."
)
FOLLOW_UNKNOWN_TEAM = "Choose teams from the list."
EMAIL_TEMPLATE = "emails/digest"
ERROR_CHARACTERS = 1000


class DigestOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    WOULD_SEND = "would_send", "Would be sent"
    EMPTY = "empty", "Skipped: nothing to say"
    ALREADY_SENT = "already_sent", "Skipped: already sent this week"
    UNSUBSCRIBED = "unsubscribed", "Skipped: unsubscribed"
    NO_ADDRESS = "no_address", "Skipped: no email address"
    FAILED = "failed", "Failed"


# Unsubscribe links ------------------------------------------------------------------------------


def digest_unsubscribe_token(*, user) -> str:
    """Return the signed token of the user's one-click unsubscribe link (it does not expire)."""
    return signing.dumps({"user": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def digest_unsubscribe_user(*, token: str):
    """Return the active user a token unsubscribes, or None when the token is not one we signed."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    return User.objects.filter(pk=payload["user"], is_active=True).first()


def digest_unsubscribe_url(*, user) -> str:
    path = reverse("digest:unsubscribe", kwargs={"token": digest_unsubscribe_token(user=user)})
    return f"{settings.SITE_URL}{path}"


# Preferences ------------------------------------------------------------------------------------


def _preference_of(user) -> DigestPreference:
    preference, _ = DigestPreference.objects.get_or_create(user=user, defaults={"updated_at": timezone.now()})
    return preference


@transaction.atomic
def digest_preferences_update(*, user, enabled: bool, followed_teams: list[Team]) -> DigestPreference:
    """Set whether the user gets the digest and which teams they follow beyond their own."""
    preference = _preference_of(user)
    preference.enabled = enabled
    if enabled:
        preference.unsubscribed_at = None
    preference.updated_at = timezone.now()
    preference.save(update_fields=["enabled", "unsubscribed_at", "updated_at"])
    preference.followed_teams.set(followed_teams)
    return preference


@transaction.atomic
def digest_unsubscribe(*, user) -> DigestPreference:
    """Turn the user's digest off, keeping when they unsubscribed; a second call changes nothing."""
    preference = _preference_of(user)
    if preference.enabled or preference.unsubscribed_at is None:
        preference.enabled = False
        preference.unsubscribed_at = preference.unsubscribed_at or timezone.now()
        preference.updated_at = timezone.now()
        preference.save(update_fields=["enabled", "unsubscribed_at", "updated_at"])
    return preference


# The email --------------------------------------------------------------------------------------


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def digest_email_context(*, digest: Digest) -> dict:
    """Return what the digest's subject, text and HTML templates show."""
    window = digest.window
    return {
        "digest": digest,
        "name": digest.recipient_name,
        "week": digest.week,
        "week_number": digest.week.number,
        "first_day": window.local_start,
        "last_day": window.local_end,
        "learned_hidden": digest.learned_total - len(digest.learned),
        "site_url": settings.SITE_URL,
        "preferences_url": f"{settings.SITE_URL}{reverse('digest:preferences')}",
        "preview_url": f"{settings.SITE_URL}{reverse('digest:preview')}",
        "postmortems_url": f"{settings.SITE_URL}{reverse('postmortems:list')}?status=published",
        "actions_url": f"{settings.SITE_URL}{reverse('postmortems:actions')}",
        "overdue_url": f"{settings.SITE_URL}{reverse('postmortems:action-overdue')}",
        "unsubscribe_url": digest_unsubscribe_url(user=digest.recipient),
    }


def digest_subject(*, context: dict) -> str:
    return " ".join(render_to_string(f"{EMAIL_TEMPLATE}_subject.txt", context).split())


def digest_render(*, digest: Digest) -> EmailMultiAlternatives:
    """Return the digest as a multipart/alternative email: plain text, then HTML with inline styles.

    The unsubscribe headers follow RFC 2369 and RFC 8058: mail programs show an
    unsubscribe button whose POST turns the digest off without signing in.
    """
    context = digest_email_context(digest=digest)
    user = digest.recipient
    message = EmailMultiAlternatives(
        subject=digest_subject(context=context),
        body=render_to_string(f"{EMAIL_TEMPLATE}.txt", context),
        to=[formataddr((user.get_full_name() or user.username, user.email))],
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"Kintsugi weekly digest <digest.{_site_host()}>",
            "Auto-Submitted": "auto-generated",
            "Precedence": "bulk",
            "X-Kintsugi-Digest-Week": str(digest.week),
        },
    )
    message.attach_alternative(render_to_string(f"{EMAIL_TEMPLATE}.html", context), "text/html")
    return message


# Sending ----------------------------------------------------------------------------------------


def _claim(*, user, week: IsoWeek, digest: Digest, subject: str, now) -> DigestSend | None:
    """Claim the user's digest of the week; return the claim, or None when someone else holds it."""
    try:
        with transaction.atomic():
            return DigestSend.objects.create(
                recipient=user,
                week=str(week),
                team=digest.team,
                email=user.email,
                subject=subject[:300],
                status=DigestSendStatus.SENDING,
                claimed_at=now,
            )
    except IntegrityError:
        pass
    # Only a failed send may be claimed again, and only by one of its retries.
    claimed = DigestSend.objects.filter(recipient=user, week=str(week), status=DigestSendStatus.FAILED).update(
        status=DigestSendStatus.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        email=user.email,
        subject=subject[:300],
    )
    if not claimed:
        return None
    return DigestSend.objects.get(recipient=user, week=str(week))


def digest_deliver(
    *,
    user_id: int,
    week: IsoWeek,
    digest: Digest | None = None,
    connection=None,
    dry_run: bool = False,
    now=None,
) -> DigestOutcome:
    """Send the user's digest of the week unless it is empty, unwanted or already claimed; return what happened.

    Call outside a transaction: the claim commits before the email is sent and
    the outcome after. ``digest`` may be one built ahead (by
    ``digest_build_many``); ``connection`` an open mail connection to reuse. An
    SMTP error is recorded on the claim and raised, for the caller to retry.
    """
    now = now or timezone.now()
    user = digest.recipient if digest is not None else User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or not user.email:
        return DigestOutcome.NO_ADDRESS
    status = DigestSend.objects.filter(recipient_id=user.pk, week=str(week)).values_list("status", flat=True).first()
    if status in (DigestSendStatus.SENT, DigestSendStatus.SENDING):
        return DigestOutcome.ALREADY_SENT
    if digest is None:
        digest = digest_build(user=user, week=week, now=now)
    if not digest.enabled:
        return DigestOutcome.UNSUBSCRIBED
    if digest.is_empty:
        return DigestOutcome.EMPTY
    message = digest_render(digest=digest)
    if dry_run:
        return DigestOutcome.WOULD_SEND
    claim = _claim(user=user, week=week, digest=digest, subject=message.subject, now=now)
    if claim is None:
        return DigestOutcome.ALREADY_SENT
    if connection is not None:
        message.connection = connection
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        DigestSend.objects.filter(pk=claim.pk).update(
            status=DigestSendStatus.FAILED, last_error=f"{type(error).__name__}: {error}"[:ERROR_CHARACTERS]
        )
        raise
    DigestSend.objects.filter(pk=claim.pk).update(status=DigestSendStatus.SENT, sent_at=timezone.now(), last_error="")
    return DigestOutcome.SENT
