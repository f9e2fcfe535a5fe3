"""Messages: what an event says, and the shape each channel expects it in.

``message_for_event`` turns an event's stored facts into a Message; the
``*_payload`` functions write it as Slack Block Kit, a Microsoft Teams
Adaptive Card, the Slack-compatible attachments Mattermost and Discord
read, or the versioned JSON body of an outbound webhook. A restricted
incident's message for a channel (``redacted``) names only its reference,
what happened and the link: no title, model or text.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.formats import date_format

from notifications.models import Channel, ChannelKind, Event, EventKind

WEBHOOK_BODY_VERSION = 1
OPEN_LABEL = "Open in Kintsugi"
RESTRICTED_TEXT = "This incident is restricted: open it in Kintsugi to read what happened."
TEST_TITLE = "Test message from Kintsugi"

# Slack's documented limits (Block Kit reference): header text 150, section text 3000, 10 fields of 2000.
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
SLACK_FIELD_MAX = 2000
SLACK_FIELDS_MAX = 10

# A day as the app's pages write it ("1 Dec 2026"); the facts keep ISO dates for webhook bodies.
DAY_FORMAT = "j M Y"
# A post-mortem's default title starts with this; the messages about one already say "post-mortem".
POSTMORTEM_TITLE_PREFIX = "Post-mortem: "

COLOURS = {"SEV1": "#b3261e", "SEV2": "#c4540c", "SEV3": "#a87a1c", "SEV4": "#5b6b7a"}
GOOD = "#2e7d4f"


@dataclass(frozen=True)
class Message:
    """One event (or a test) as people read it, before any channel's format."""

    kind: str
    title: str
    text: str
    url: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    run_url: str = ""
    colour: str = "#a87a1c"
    team: str = ""
    occurred_at: datetime | None = None


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split()) if "\n" not in str(text) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _version(facts: dict) -> str:
    model, version = facts.get("model", ""), facts.get("version", "")
    if model and version:
        return f"{model} v{version}"
    return model


def _day(iso_day: str) -> str:
    """Return an ISO day ("2026-12-01") as the pages write it ("1 Dec 2026"); anything else as it is."""
    try:
        return date_format(date.fromisoformat(iso_day), DAY_FORMAT)
    except (TypeError, ValueError):
        return iso_day


def _postmortem_name(facts: dict) -> str:
    """Return the post-mortem's title without the default's "Post-mortem: ", which the message already says."""
    return facts.get("postmortem", {}).get("title", "").removeprefix(POSTMORTEM_TITLE_PREFIX)


def _title(event: Event, facts: dict) -> str:
    kind, ref, title = event.kind, facts.get("reference", ""), facts.get("title", "")
    details = facts.get("details", {})
    postmortem = _postmortem_name(facts)
    item = facts.get("action_item", {})
    due = _day(item.get("due_date", ""))
    if kind == EventKind.INCIDENT_OPENED:
        return f"{ref} opened: {title}"
    if kind == EventKind.INCIDENT_SEVERITY_RAISED:
        return f"{ref} raised to {details.get('to', facts.get('severity', ''))}: {title}"
    if kind == EventKind.INCIDENT_OWNER_ASSIGNED:
        return f"{ref} is now led by {facts.get('owner') or 'nobody'}: {title}"
    if kind == EventKind.INCIDENT_MITIGATED:
        return f"{ref} mitigated: {title}"
    if kind == EventKind.INCIDENT_RESOLVED:
        return f"{ref} resolved: {title}"
    if kind == EventKind.INCIDENT_REOPENED:
        return f"{ref} reopened: {title}"
    if kind == EventKind.POSTMORTEM_REVIEW_REQUESTED:
        return f"Post-mortem review requested: {postmortem}"
    if kind == EventKind.POSTMORTEM_CHANGES_REQUESTED:
        return f"Post-mortem changes requested: {postmortem}"
    if kind == EventKind.POSTMORTEM_APPROVED:
        return f"Post-mortem approved: {postmortem}"
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return f"Post-mortem published: {postmortem}"
    if kind == EventKind.ACTION_ITEM_ASSIGNED:
        return f"Action item for {item.get('owner', '')}: {item.get('title', '')}"
    if kind == EventKind.ACTION_ITEM_DUE_SOON:
        return f"Action item due {due}: {item.get('title', '')}"
    if kind == EventKind.ACTION_ITEM_OVERDUE:
        return f"Action item overdue since {due}: {item.get('title', '')}"
    if kind == EventKind.SOURCE_DELIVERIES_FAILING:
        return f"Deliveries from {facts.get('source_name', 'a source')} are failing"
    return EventKind(kind).label


def _text(event: Event, facts: dict) -> str:
    kind, ref = event.kind, facts.get("reference", "")
    actor = facts.get("actor") or "Kintsugi"
    details = facts.get("details", {})
    repeats = event.repeats
    if kind == EventKind.INCIDENT_OPENED:
        what = f"Declared by {actor}" if facts.get("actor") else f"Opened by {facts.get('source') or 'a pipeline'}"
        text = f"{what} as {facts.get('severity', '')}."
        if facts.get("failing_step"):
            text += f" Failing step: {facts['failing_step']}."
        if repeats:
            text += f" The pipeline failed {repeats + 1} times in this lane since."
        return text
    if kind == EventKind.INCIDENT_SEVERITY_RAISED:
        return f"{actor} raised the severity from {details.get('from', '?')} to {details.get('to', '?')}."
    if kind == EventKind.INCIDENT_OWNER_ASSIGNED:
        if facts.get("owner") and facts.get("owner") == facts.get("actor"):
            return f"{actor} took the lead."
        return f"{actor} handed the incident to {facts.get('owner') or 'nobody'}."
    if kind in (EventKind.INCIDENT_MITIGATED, EventKind.INCIDENT_RESOLVED, EventKind.INCIDENT_REOPENED):
        verb = EventKind(kind).label.split()[-1].lower()
        who = facts.get("actor") or facts.get("source") or "Kintsugi"
        return f"{who} marked it {verb}." + (f" ({repeats + 1} times in this lane.)" if repeats else "")
    if kind == EventKind.POSTMORTEM_REVIEW_REQUESTED:
        return f"{actor} asks for a review of the post-mortem of {ref}."
    if kind == EventKind.POSTMORTEM_CHANGES_REQUESTED:
        comment = details.get("comment", "")
        return f"{actor} asked for changes" + (f": “{_clip(comment, 400)}”" if comment else ".")
    if kind == EventKind.POSTMORTEM_APPROVED:
        return f"{actor} approved the post-mortem of {ref}; it can be published."
    if kind == EventKind.POSTMORTEM_PUBLISHED:
        return f"{actor} published the post-mortem of {ref}."
    if kind in (EventKind.ACTION_ITEM_ASSIGNED, EventKind.ACTION_ITEM_DUE_SOON, EventKind.ACTION_ITEM_OVERDUE):
        item = facts.get("action_item", {})
        return f"{item.get('priority', '')} follow-up of {ref}, due {_day(item.get('due_date', ''))}."
    if kind == EventKind.SOURCE_DELIVERIES_FAILING:
        count = repeats + 1
        text = f"{count} deliver{'y' if count == 1 else 'ies'} failed after every retry."
        if details.get("error"):
            text += f" Latest error: {_clip(details['error'], 300)}"
        return text
    return ""


def _fields(facts: dict) -> list[tuple[str, str]]:
    fields = []
    for label, value in (
        ("Severity", facts.get("severity", "")),
        ("Model", _version(facts)),
        ("Environment", facts.get("environment", "")),
        ("Status", facts.get("status", "")),
        ("Failing step", facts.get("failing_step", "")),
        ("Team", facts.get("team", "")),
        ("Next", facts.get("next", "")),
    ):
        if value:
            fields.append((label, str(value)))
    return fields


def message_for_event(event: Event, *, redacted: bool = False) -> Message:
    """Return the event as a Message; ``redacted`` for a restricted incident told to a channel."""
    facts = event.facts
    colour = COLOURS.get(facts.get("severity", ""), "#a87a1c")
    if event.kind in (EventKind.INCIDENT_MITIGATED, EventKind.INCIDENT_RESOLVED, EventKind.POSTMORTEM_PUBLISHED):
        colour = GOOD
    if redacted:
        ref = facts.get("reference", "An incident")
        return Message(
            kind=event.kind,
            title=f"{ref}: {EventKind(event.kind).label.lower()}",
            text=RESTRICTED_TEXT,
            url=event.url,
            colour=colour,
            team=facts.get("team", ""),
            occurred_at=event.occurred_at,
        )
    return Message(
        kind=event.kind,
        title=_title(event, facts),
        text=_text(event, facts),
        url=event.url,
        fields=_fields(facts),
        run_url=facts.get("run_url", ""),
        colour=colour,
        team=facts.get("team", ""),
        occurred_at=event.occurred_at,
    )


def message_for_test(channel: Channel) -> Message:
    """Return the test message a lead sends to check a channel."""
    return Message(
        kind="test",
        title=TEST_TITLE,
        text=f"{channel.name} is connected: {channel.team.name} will hear of incidents here.",
        url=f"{settings.SITE_URL}{channel.team.get_absolute_url()}",
        fields=[("Team", channel.team.name), ("Channel", channel.get_kind_display())],
        team=channel.team.name,
    )


# Slack ---------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reads as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    # "|" and ">" end a link in mrkdwn: a URL carrying them is percent-encoded.
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{slack_escape(label)}>"


def slack_payload(message: Message) -> dict:
    """Return the message as a Slack incoming-webhook body with Block Kit blocks and a fallback text."""
    text = slack_escape(message.text)
    if message.run_url:
        text += f"\n{_slack_link(message.run_url, 'Pipeline run')}"
    section: dict = {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text or " ", SLACK_TEXT_MAX)}}
    if message.fields:
        section["fields"] = [
            {"type": "mrkdwn", "text": _clip(f"*{label}*\n{slack_escape(value)}", SLACK_FIELD_MAX)}
            for label, value in message.fields[:SLACK_FIELDS_MAX]
        ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(message.title, SLACK_HEADER_MAX)}},
        section,
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": OPEN_LABEL},
                    "url": message.url,
                    "style": "primary",
                }
            ],
        },
    ]
    if message.team:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(message.team)}]})
    return {"text": _clip(message.title, SLACK_TEXT_MAX), "blocks": blocks}


def slack_compatible_payload(message: Message) -> dict:
    """Return the message as Slack's attachment format, which Mattermost and Discord's /slack endpoint read."""
    attachment = {
        "fallback": message.title,
        "color": message.colour,
        "title": message.title,
        "title_link": message.url,
        "text": message.text + (f"\nPipeline run: {message.run_url}" if message.run_url else ""),
        "fields": [{"title": label, "value": value, "short": len(value) < 40} for label, value in message.fields],
    }
    return {"text": message.title, "attachments": [attachment]}


# Microsoft Teams -----------------------------------------------------------------------------


def teams_payload(message: Message) -> dict:
    """Return the message as the body a Teams workflow webhook takes: a message with one Adaptive Card."""
    body: list[dict] = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    if message.text:
        body.append({"type": "TextBlock", "text": message.text, "wrap": True})
    if message.fields:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in message.fields]})
    actions = [{"type": "Action.OpenUrl", "title": OPEN_LABEL, "url": message.url}]
    if message.run_url:
        actions.append({"type": "Action.OpenUrl", "title": "Pipeline run", "url": message.run_url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


# Outbound webhooks ---------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def webhook_data(event: Event, *, redacted: bool) -> dict:
    """Return the ``data`` of an outbound webhook body (version 1, documented in docs/notifications.md)."""
    facts = event.facts
    data: dict = {
        "url": event.url,
        "team": facts.get("team", ""),
        "restricted": event.restricted,
        "repeats": event.repeats,
        "last_occurred_at": _iso(event.last_occurred_at),
        "actor": facts.get("actor") or None,
        "next": None if redacted else facts.get("next") or None,
        "incident": None,
        "postmortem": None,
        "action_item": None,
        "source": None,
        "details": {} if redacted else facts.get("details", {}),
    }
    if event.incident_id:
        incident = {
            "id": event.incident_id,
            "reference": facts.get("reference"),
            "url": f"{settings.SITE_URL}{facts.get('incident_path', '')}",
        }
        if not redacted:
            for name in (
                "title",
                "severity",
                "status",
                "environment",
                "model",
                "version",
                "run_url",
                "failing_step",
                "owner",
                "source",
            ):
                incident[name] = facts.get(name) or None
        data["incident"] = incident
    if event.postmortem_id:
        data["postmortem"] = {"id": event.postmortem_id} | ({} if redacted else facts.get("postmortem", {}))
    if event.action_item_id:
        data["action_item"] = {"id": event.action_item_id} | ({} if redacted else facts.get("action_item", {}))
    if event.source_id:
        data["source"] = {"id": event.source_id, "name": facts.get("source_name"), "kind": facts.get("source_kind")}
    return data


def webhook_body(*, event: Event | None, channel: Channel, redacted: bool = False) -> bytes:
    """Return the exact bytes of an outbound webhook body: the event, or a ``test`` message."""
    if event is None:
        body = {
            "type": "test",
            "version": WEBHOOK_BODY_VERSION,
            "id": None,
            "timestamp": None,
            "data": {"team": channel.team.name, "channel": channel.name, "text": TEST_TITLE},
        }
    else:
        body = {
            "type": event.kind,
            "version": WEBHOOK_BODY_VERSION,
            "id": f"evt_{event.pk}",
            "timestamp": _iso(event.occurred_at),
            "data": webhook_data(event, redacted=redacted),
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def chat_body(message: Message, *, kind: str) -> bytes:
    """Return the JSON body a chat channel of ``kind`` takes for the message."""
    if kind == ChannelKind.SLACK:
        payload = slack_payload(message)
    elif kind == ChannelKind.TEAMS:
        payload = teams_payload(message)
    else:
        payload = slack_compatible_payload(message)
    return json.dumps(payload, ensure_ascii=False).encode()


# Email ---------------------------------------------------------------------------------------


def email_parts(message: Message, *, recipient_name: str = "") -> tuple[str, str, str]:
    """Return the subject, plain text and HTML of the message as an email."""
    context = {
        "message": message,
        "recipient_name": recipient_name,
        "preferences_url": f"{settings.SITE_URL}/notifications/preferences/",
    }
    subject = _clip(message.title, 200).replace("\n", " ")
    return (
        subject,
        render_to_string("emails/notification.txt", context),
        render_to_string("emails/notification.html", context),
    )
