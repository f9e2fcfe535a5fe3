from django import forms

from notifications.models import ALL_EVENTS, Channel, ChannelKind, EventKind

EVENT_CHOICES = [(ALL_EVENTS, "Every event"), *EventKind.choices]


class ChannelForm(forms.Form):
    """A channel as a lead types it; the services validate the URL and the events."""

    # The team page holds other forms with a "name" field: keep this one's ids apart.
    prefix = "channel"

    kind = forms.ChoiceField(choices=ChannelKind.choices, initial=ChannelKind.SLACK)
    name = forms.CharField(max_length=120, help_text="How the team's pages name it, e.g. #ml-incidents.")
    url = forms.CharField(
        label="URL or address",
        max_length=1000,
        help_text="The chat's incoming webhook URL, the receiver's URL, or an email address.",
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, initial=[ALL_EVENTS], widget=forms.CheckboxSelectMultiple, label="Events it hears"
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, channel: Channel | None = None, **kwargs):
        if channel is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": channel.kind,
                    "name": channel.name,
                    "url": channel.url,
                    "events": channel.events,
                    "active": channel.active,
                },
            )
        super().__init__(*args, **kwargs)
        if channel is not None:
            self.fields["kind"].disabled = True
