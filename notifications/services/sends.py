"""Dispatch events and deliver their messages: in the app, by email, to chat and to outbound webhooks.

``event_dispatch`` runs once per event after its transaction commits: it
reads the facts, writes one Notification per person who hears of it and one
NotificationSend per channel and per person who wants the email (unique
constraints make a second run write nothing), then queues the sends.

``send_deliver`` claims a send before attempting it (a conditional UPDATE
that only one worker wins), so a task that runs twice sends once. A failed
attempt is retried with exponential backoff up to
``KINTSUGI_NOTIFY_MAX_ATTEMPTS``; a refused URL, a redirect or a 4xx answer
(other than 408, 425 and 429) fails at once. A worker lost half-way leaves the claim to
expire, and the sweeper tries again: a receiver may then see one message
twice, with the same ``webhook-id`` to tell.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications.models import (
    EMAILED_BY_REMINDERS,
    Channel,
    ChannelKind,
    EmailPreference,
    EmailWhen,
    Event,
    Notification,
    NotificationSend,
    SendStatus,
)
from notifications.outbound import OutboundFailed, OutboundRefused, post_json
from notifications.services.channels import CHANNEL_PAUSED_FOR

logger = logging.getLogger(__name__)

RETRY_BACKOFF_CAP = 3600.0
# Answers that say "try later"; any other 4xx is the receiver refusing this message for good.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})
REPLAY_NOT_DONE = "Only a sent or failed message can be sent again."
NOT_SENT_PAUSED = "Not sent: {reason}"
NO_EMAIL_ADDRESS = "{user} has no email address."
WAITING_STATUSES = (SendStatus.PENDING, SendStatus.RETRYING)


def email_wanted(*, user, kind: str, direct: bool, preferences: dict[str, str] | None = None) -> bool:
    """Return whether the person wants this event by email: by default only when it asks them to act."""
    if preferences is None:
        preferences = dict(EmailPreference.objects.filter(user=user).values_list("kind", "when"))
    when = preferences.get(kind, EmailWhen.ASKED)
    return when == EmailWhen.ALWAYS or (when == EmailWhen.ASKED and direct)


def send_retry_delay(*, attempts: int) -> float:
    """Return the seconds before the next attempt after ``attempts`` failed ones: doubling, capped at an hour."""
    base = settings.KINTSUGI_NOTIFY_RETRY_BACKOFF
    return min(base * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_CAP)


def event_dispatch(*, event_id: int, now: datetime | None = None) -> list[int]:
    """Write the event's notifications and sends, once; return the ids of the sends to attempt now.

    Lock the event, so two dispatches of it run one after the other; the
    second finds it dispatched and returns no send.
    """
    from notifications.facts import event_audience, event_facts

    now = now or timezone.now()
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(of=("self",))
            .select_related("team", "incident__owner", "incident__model", "incident__source", "actor")
            .filter(pk=event_id)
            .first()
        )
        if event is None or event.dispatched_at is not None:
            return []
        audience, asked = event_audience(event)
        event.facts = event_facts(event, asked=asked)
        event.dispatched_at = now
        event.save(update_fields=["facts", "dispatched_at"])
        Notification.objects.bulk_create(
            [Notification(user=r.user, event=event, direct=r.direct, created_at=now) for r in audience],
            ignore_conflicts=True,
        )
        preferences: dict[int, dict[str, str]] = {}
        for user_id, kind, when in EmailPreference.objects.filter(
            user_id__in=[r.user.pk for r in audience]
        ).values_list("user_id", "kind", "when"):
            preferences.setdefault(user_id, {})[kind] = when
        sends = [
            NotificationSend(event=event, user=r.user, created_at=now, next_attempt_at=now)
            for r in audience
            if r.user.email
            and event.kind not in EMAILED_BY_REMINDERS
            and email_wanted(user=r.user, kind=event.kind, direct=r.direct, preferences=preferences.get(r.user.pk, {}))
        ]
        channels = Channel.objects.filter(team_id=event.team_id, active=True)
        sends += [
            NotificationSend(event=event, channel=channel, created_at=now, next_attempt_at=now)
            for channel in channels
            if channel.hears(event.kind)
        ]
        NotificationSend.objects.bulk_create(sends, ignore_conflicts=True)
        ids = list(NotificationSend.objects.filter(event=event, status=SendStatus.PENDING).values_list("pk", flat=True))
        transaction.on_commit(lambda: sends_queue(send_ids=ids))
    return ids


def send_countdown_most() -> float:
    """Return the longest countdown a send is queued with.

    Redis hands a task that waits unacknowledged in its worker for longer than
    ``KINTSUGI_BROKER_VISIBILITY_TIMEOUT`` to another worker, so a retry an hour
    away would be handed out again and again. A send due later is queued in hops
    of at most half the visibility timeout: a task that runs before its send is
    due queues the next hop (``send_deliver``).
    """
    return max(1.0, settings.KINTSUGI_BROKER_VISIBILITY_TIMEOUT / 2)


def sends_queue(*, send_ids: list[int], countdown: float | None = None) -> None:
    """Queue one delivery task per send, at most ``send_countdown_most()`` ahead; never raise.

    The sweeper queues what the broker refused.
    """
    from notifications.tasks import send_deliver_task

    if countdown is not None:
        countdown = min(countdown, send_countdown_most())
    for send_id in send_ids:
        try:
            send_deliver_task.apply_async((send_id,), countdown=countdown)
        except Exception:  # a down broker must not fail the dispatch
            logger.warning("Could not queue notification send %s; the sweeper will.", send_id, exc_info=True)
            return


def _claim(send_id: int, *, now: datetime) -> bool:
    """Take the send for one attempt; return False when it is not due or another worker holds it."""
    lease = timedelta(seconds=settings.KINTSUGI_OUTBOUND_TIMEOUT * 4 + 30)
    due = Q(status__in=WAITING_STATUSES, next_attempt_at__lte=now) | Q(status=SendStatus.SENDING, claimed_until__lt=now)
    claimed = NotificationSend.objects.filter(due, pk=send_id).update(
        status=SendStatus.SENDING, attempts=F("attempts") + 1, claimed_until=now + lease
    )
    return claimed == 1


def _signed_headers(*, secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """Return the Standard Webhooks headers for the body: id, timestamp and signature."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def _deliver_http(send: NotificationSend, *, now: datetime) -> int:
    """Post the send's message to its channel's URL; return the status code of the answer."""
    from notifications.messages import chat_body, message_for_event, message_for_test, webhook_body

    channel, event = send.channel, send.event
    redacted = bool(event is not None and event.restricted)
    if channel.kind == ChannelKind.WEBHOOK:
        body = webhook_body(event=event, channel=channel, redacted=redacted)
        headers = _signed_headers(secret=channel.secret, message_id=send.message_id, body=body, at=now)
        url = channel.url
    else:
        message = message_for_test(channel) if event is None else message_for_event(event, redacted=redacted)
        body = chat_body(message, kind=channel.kind)
        headers = {}
        url = channel.url
        if channel.kind == ChannelKind.DISCORD and not url.rstrip("/").endswith(("/slack", "/github")):
            url = url.rstrip("/") + "/slack"
    return post_json(url, body, headers=headers).status


def _deliver_email(send: NotificationSend) -> None:
    from notifications.messages import email_parts, message_for_event, message_for_test

    event = send.event
    if send.user_id is not None:
        user = send.user
        if not user.email:
            raise OutboundRefused(NO_EMAIL_ADDRESS.format(user=user.username))
        to, name = user.email, user.first_name or user.get_full_name() or user.username
        # A person hears only of what they may see (checked at dispatch): no redaction.
        message = message_for_event(event)
    else:
        channel = send.channel
        to, name = channel.url.removeprefix("mailto:"), ""
        message = message_for_test(channel) if event is None else message_for_event(event, redacted=event.restricted)
    subject, text, html = email_parts(message, recipient_name=name)
    email = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    email.attach_alternative(html, "text/html")
    email.send()


def _queue_next_hop(send_id: int, *, now: datetime) -> None:
    """Queue the send again for when it is due, if it waits for a later attempt (see ``send_countdown_most``)."""
    due_at = (
        NotificationSend.objects.filter(pk=send_id, status__in=WAITING_STATUSES, next_attempt_at__gt=now)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due_at is not None:
        sends_queue(send_ids=[send_id], countdown=(due_at - now).total_seconds())


def send_deliver(*, send_id: int, now: datetime | None = None) -> NotificationSend | None:
    """Attempt the send once if it is due and nobody else is on it; return it as recorded, or None when skipped.

    Return the delay before the next attempt through ``next_attempt_at`` (set
    when the attempt failed and another is allowed).
    """
    now = now or timezone.now()
    if not _claim(send_id, now=now):
        _queue_next_hop(send_id, now=now)
        return None
    send = NotificationSend.objects.select_related("channel__team", "event__team", "user").get(pk=send_id)
    code, error, final = None, "", False
    try:
        if send.channel_id is not None and send.channel.paused_reason:
            # Paused for a reason (a placeholder URL, say): a message still waiting ends here, uncalled.
            raise OutboundRefused(NOT_SENT_PAUSED.format(reason=send.channel.paused_reason))
        if send.user_id is not None or send.channel.kind == ChannelKind.EMAIL:
            _deliver_email(send)
        else:
            code = _deliver_http(send, now=now)
            if not 200 <= code < 300:
                error = f"The receiver answered {code}."
                # A redirect (never followed) or a 4xx is the receiver's answer for good; 5xx may pass.
                final = code < 500 and code not in RETRYABLE_CLIENT_ERRORS
    except OutboundRefused as refusal:
        error, final = str(refusal), True
    except (OutboundFailed, OSError) as failure:
        error = str(failure) or failure.__class__.__name__
    except Exception as failure:  # a bug or a broken template: record it, retry, and keep the traceback in the log
        logger.exception("Notification send %s failed.", send_id)
        error = f"{failure.__class__.__name__}: {failure}"
    send.response_code = code
    send.error = error[:2000]
    send.claimed_until = None
    if not error:
        send.status, send.sent_at, send.next_attempt_at = SendStatus.SENT, timezone.now(), None
    elif final or send.attempts >= settings.KINTSUGI_NOTIFY_MAX_ATTEMPTS:
        send.status, send.next_attempt_at = SendStatus.FAILED, None
    else:
        send.status = SendStatus.RETRYING
        send.next_attempt_at = now + timedelta(seconds=send_retry_delay(attempts=send.attempts))
    # Only the holder of the claim writes the outcome.
    NotificationSend.objects.filter(pk=send.pk, status=SendStatus.SENDING).update(
        status=send.status,
        response_code=send.response_code,
        error=send.error,
        claimed_until=None,
        sent_at=send.sent_at,
        next_attempt_at=send.next_attempt_at,
    )
    if send.status == SendStatus.RETRYING:
        delay = (send.next_attempt_at - now).total_seconds()
        sends_queue(send_ids=[send.pk], countdown=delay)
    return send


@transaction.atomic
def send_replay(*, send: NotificationSend) -> NotificationSend:
    """Send a sent or failed message again (same id for the receiver) and return it; queue it after commit.

    The caller checks that the actor leads the channel's team. Raise
    ValueError when the message is not done, or its channel is paused for a reason.
    """
    send = NotificationSend.objects.select_for_update().get(pk=send.pk)
    if send.status not in (SendStatus.SENT, SendStatus.FAILED):
        raise ValueError(REPLAY_NOT_DONE)
    if send.channel is not None and send.channel.paused_reason:
        raise ValueError(CHANNEL_PAUSED_FOR.format(channel=send.channel.name, reason=send.channel.paused_reason))
    now = timezone.now()
    send.status = SendStatus.PENDING
    send.attempts = 0
    send.replays += 1
    send.next_attempt_at = now
    send.error = ""
    send.response_code = None
    send.save(update_fields=["status", "attempts", "replays", "next_attempt_at", "error", "response_code"])
    transaction.on_commit(lambda: sends_queue(send_ids=[send.pk]))
    return send


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Queue what was left behind (broker down, worker lost): events not dispatched, sends overdue; return how many."""
    from notifications.services.events import events_dispatch_queue

    now = now or timezone.now()
    late = now - timedelta(seconds=settings.KINTSUGI_NOTIFY_SWEEP_AFTER)
    event_ids = list(
        Event.objects.filter(dispatched_at__isnull=True, occurred_at__lte=late).values_list("pk", flat=True)[:500]
    )
    if event_ids:
        events_dispatch_queue(event_ids=event_ids)
    send_ids = list(
        NotificationSend.objects.filter(
            Q(status__in=WAITING_STATUSES, next_attempt_at__lte=late)
            | Q(status=SendStatus.SENDING, claimed_until__lt=now)
        ).values_list("pk", flat=True)[:500]
    )
    sends_queue(send_ids=send_ids)
    return len(event_ids) + len(send_ids)
