"""Forms of action items: create and edit, change status, change many at once."""

from django import forms
from django.contrib.auth import get_user_model

from config.validation import DateFormField, id_parse
from config.widgets import IsoDateInput
from postmortems.models import ACTION_KIND_GROUPS, ActionItemKind, ActionItemPriority, ActionItemStatus
from postmortems.services.actions import BULK_NOTHING_SELECTED

User = get_user_model()

BULK_STATUS_REQUIRED = "Choose the status to move the selected items to."
NOT_AN_ITEM = "“{value}” is not an action item."


def person_label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


class OwnerField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=User.objects.filter(is_active=True).order_by("first_name", "username"), **kwargs)

    def label_from_instance(self, obj) -> str:
        return person_label(obj)


class ActionItemForm(forms.Form):
    title = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "Alert when the feature null rate rises"})
    )
    owner = OwnerField(label="Owner", help_text="One person who sees it through.")
    kind = forms.ChoiceField(choices=ACTION_KIND_GROUPS, initial=ActionItemKind.PREVENT)
    priority = forms.ChoiceField(choices=ActionItemPriority.choices, initial=ActionItemPriority.P3)
    due_date = DateFormField(
        required=False,
        widget=IsoDateInput(),
        help_text="Left empty, it follows the incident's severity.",
    )
    verification = forms.CharField(
        label="How done will be verified",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "The alert fires in the staging drill on replayed data."}
        ),
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown.")
    tracker_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Tracker issue", help_text="Optional link."
    )

    def __init__(self, *args, owners_from_team=None, **kwargs):
        """Offer every active person as owner, or with ``owners_from_team`` only that team's active members.

        The short list keeps the incident page's quick form the same size however
        large the organisation grows; the full form still offers everyone.
        """
        super().__init__(*args, **kwargs)
        if owners_from_team is not None:
            field = self.fields["owner"]
            field.queryset = field.queryset.filter(memberships__team=owners_from_team)
            field.help_text = f"A member of {owners_from_team.name} who sees it through."


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason (for won't do)",
    )


class BulkStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Move selected to…"), *ActionItemStatus.choices],
        error_messages={"required": BULK_STATUS_REQUIRED},
    )
    reason = forms.CharField(required=False, max_length=2000, label="Reason (for won't do)")
    next = forms.CharField(required=False, max_length=500)

    def clean(self):
        cleaned = super().clean()
        raw = self.data.getlist("items") if hasattr(self.data, "getlist") else list(self.data.get("items", []))
        if not raw:
            raise forms.ValidationError(BULK_NOTHING_SELECTED)
        items = [id_parse(str(value)) for value in raw]
        for value, item in zip(raw, items, strict=True):
            if item is None:
                raise forms.ValidationError(NOT_AN_ITEM.format(value=str(value)[:20]))
        cleaned["items"] = items
        return cleaned
