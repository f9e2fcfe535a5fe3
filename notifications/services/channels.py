"""A team's channels: created, changed and tested by its leads."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import ALL_EVENTS, Channel, ChannelKind, EventKind, NotificationSend, new_signing_secret
from notifications.outbound import OutboundRefused, url_check
from teams.selectors import user_is_team_lead

NOT_A_LEAD = "Only the leads of {team} (and admins) can manage its channels."
NAME_REQUIRED = "Give the channel a name."
NAME_TAKEN = "{team} already has a channel named {name!r}."
EVENTS_REQUIRED = 'Choose at least one event, or ["*"] for all of them.'
EVENTS_UNKNOWN = "Unknown event {name!r}; choose from: {allowed}."
EVENTS_NOT_A_LIST = 'Events must be a list of event names, or ["*"].'
EMAIL_INVALID = "An email channel needs an email address (team@example.com)."
KIND_UNKNOWN = "Unknown channel kind {kind!r}; choose one of: {allowed}."
KIND_FIXED = "A channel's kind cannot change: create another channel."
URL_TOO_LONG = "The URL can be at most 1000 characters long."
SLACK_HOST = "A Slack incoming webhook URL starts with https://hooks.slack.com/."
CHANNEL_PAUSED_FOR = "{channel} is paused: {reason}"
REASON_TOO_LONG = "A reason for pausing can be at most 300 characters long."
EDITABLE = ("name", "url", "events", "active")


def _ensure_lead(actor, team) -> None:
    if not user_is_team_lead(user=actor, team=team):
        raise PermissionDenied(NOT_A_LEAD.format(team=team))


def channel_events_clean(events) -> list[str]:
    """Return the event names as stored (sorted, unique, or ["*"]); raise ValidationError naming what is wrong."""
    if not isinstance(events, list | tuple) or not all(isinstance(name, str) for name in events):
        raise ValidationError({"events": EVENTS_NOT_A_LIST})
    names = {name.strip() for name in events if name.strip()}
    if not names:
        raise ValidationError({"events": EVENTS_REQUIRED})
    if ALL_EVENTS in names:
        return [ALL_EVENTS]
    for name in sorted(names):
        if name not in EventKind.values:
            raise ValidationError(
                {"events": EVENTS_UNKNOWN.format(name=name[:60], allowed=", ".join(EventKind.values))}
            )
    return sorted(names)


def channel_url_clean(*, kind: str, url: str) -> str:
    """Return the URL (or address) as stored; raise ValidationError when the kind cannot use it."""
    url = (url or "").strip()
    if len(url) > 1000:
        raise ValidationError({"url": URL_TOO_LONG})
    if kind == ChannelKind.EMAIL:
        address = url.removeprefix("mailto:")
        try:
            validate_email(address)
        except ValidationError as error:
            raise ValidationError({"url": EMAIL_INVALID}) from error
        return address
    try:
        url_check(url)
    except OutboundRefused as refusal:
        raise ValidationError({"url": str(refusal)}) from refusal
    return url


@transaction.atomic
def channel_create(
    *, team, actor, kind: str, name: str, url: str, events, active: bool = True, paused_reason: str = ""
) -> Channel:
    """Create a channel of the team; a webhook channel gets its signing secret (``channel.secret``).

    A ``paused_reason`` creates it paused, saying why to its team. Raise
    PermissionDenied unless the actor leads the team, ValidationError by field for bad input.
    """
    _ensure_lead(actor, team)
    paused_reason = " ".join((paused_reason or "").split())
    if len(paused_reason) > 300:
        raise ValidationError({"paused_reason": REASON_TOO_LONG})
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": KIND_UNKNOWN.format(kind=str(kind)[:40], allowed=", ".join(ChannelKind.values))})
    name = " ".join((name or "").split())[:120]
    if not name:
        raise ValidationError({"name": NAME_REQUIRED})
    channel = Channel(
        team=team,
        kind=kind,
        name=name,
        url=channel_url_clean(kind=kind, url=url),
        events=channel_events_clean(events),
        active=active and not paused_reason,
        paused_reason=paused_reason,
        secret=new_signing_secret() if kind == ChannelKind.WEBHOOK else "",
        created_by=actor,
    )
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as error:
        raise ValidationError({"name": NAME_TAKEN.format(team=team, name=name)}) from error
    return channel


@transaction.atomic
def channel_update(*, channel: Channel, actor, **fields) -> Channel:
    """Change the channel's name, URL, events or active flag; raise as ``channel_create`` does.

    A new URL or a resume answers the reason the channel was paused for: the reason is cleared.
    """
    _ensure_lead(actor, channel.team)
    url_before = channel.url
    if "kind" in fields and fields.pop("kind") != channel.kind:
        raise ValidationError({"kind": KIND_FIXED})
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValidationError({name: f"Unknown field {name!r}."})
        if name == "name":
            value = " ".join((value or "").split())[:120]
            if not value:
                raise ValidationError({"name": NAME_REQUIRED})
        elif name == "url":
            value = channel_url_clean(kind=channel.kind, url=value)
        elif name == "events":
            value = channel_events_clean(value)
        elif name == "active":
            value = bool(value)
        setattr(channel, name, value)
    if channel.active or channel.url != url_before:
        channel.paused_reason = ""
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as error:
        raise ValidationError({"name": NAME_TAKEN.format(team=channel.team, name=channel.name)}) from error
    return channel


def channel_delete(*, channel: Channel, actor) -> None:
    """Delete the channel and its delivery log."""
    _ensure_lead(actor, channel.team)
    channel.delete()


@transaction.atomic
def channel_send_test(*, channel: Channel, actor) -> NotificationSend:
    """Queue a test message to the channel (after commit) and return its send, to follow in the log.

    Raise ValidationError when the channel is paused for a reason: its URL is not to be called yet.
    """
    from notifications.services.sends import sends_queue

    _ensure_lead(actor, channel.team)
    if channel.paused_reason:
        raise ValidationError({"active": CHANNEL_PAUSED_FOR.format(channel=channel.name, reason=channel.paused_reason)})
    now = timezone.now()
    send = NotificationSend.objects.create(channel=channel, created_at=now, next_attempt_at=now)
    transaction.on_commit(lambda: sends_queue(send_ids=[send.pk]))
    return send
