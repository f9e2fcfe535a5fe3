"""Date inputs that browsers can read.

A browser's ``<input type=date>`` accepts only ``YYYY-MM-DD`` and ``datetime-local`` only ``YYYY-MM-DDTHH:MM``,
whatever the page's language; Django would render values in the locale's format (``01/12/2026`` in en-gb),
which the browser drops, leaving the field empty. Every form uses these two widgets for dates.
"""

from django import forms

ISO_DATE_FORMAT = "%Y-%m-%d"
ISO_DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class IsoDateInput(forms.DateInput):
    """``<input type=date>`` with its value in ISO 8601."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE_FORMAT)


class IsoDateTimeInput(forms.DateTimeInput):
    """``<input type=datetime-local>`` with its value in ISO 8601, to the minute."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": 60, **(attrs or {})}, format=ISO_DATETIME_FORMAT)
