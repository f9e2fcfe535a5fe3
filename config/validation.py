"""One validation layer for what people and programs send: ids, numbers, dates and text.

Every filter, form, serializer and URL reads ids, dates and text through the
fields here, so a value the database or Python cannot hold is refused with a
4xx naming the field, never met later as a 500:

- Ids are ASCII digits only (``str.isdigit`` accepts "²" and "١٢", which ``int``
  then refuses or reads as another number) and fit in a signed 64-bit integer,
  the widest id PostgreSQL and SQLite store.
- Dates lie between ``DATE_MIN`` and ``DATE_MAX``: a year of margin inside what
  Python's ``datetime`` holds, so "until the end of that day" and a time zone
  shift never overflow.
- Text never holds NUL (PostgreSQL refuses it) or a lone UTF-16 surrogate (no
  UTF-8 encoding exists for it, so the page or JSON answer showing it fails).
  People's text is refused; text a sender's pipeline wrote is repaired, since a
  delivery is stored whatever it says.
"""

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.utils import extend_schema_field
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

from config.widgets import IsoDateInput, IsoDateTimeInput

ID_MIN = 1
ID_MAX = 2**63 - 1
# Version numbers live in PostgreSQL integer columns.
VERSION_MAX = 2**31 - 1
DATE_MIN = datetime.date(1900, 1, 1)
DATE_MAX = datetime.date(9998, 12, 31)

NOT_AN_ID = "Give an id: digits 0-9 only, at most {max}."
NOT_A_NUMBER = "Give a whole number: digits 0-9 only."
NOT_A_DECIMAL = "Give a number: digits 0-9 and at most one decimal point."
DATE_OUT_OF_RANGE = f"Give a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."
TEXT_HAS_NUL = "Text may not contain NUL characters."
TEXT_HAS_SURROGATE = "Text may not contain unpaired UTF-16 surrogates (\\ud800-\\udfff alone)."
PARAMETER_EMPTY = "Give a value, or leave the parameter out."
NOT_TEXT = "Give text: a JSON string."
NOT_A_BOOLEAN = "Give true or false (or 1 or 0)."
JSON_TEXT_REFUSED = "The JSON body holds text that cannot be stored: {problem}"

_ASCII_DIGITS = re.compile(r"[0-9]+")
_SIGNED_DIGITS = re.compile(r"[-+]?[0-9]+")
_DECIMAL_DIGITS = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
# json.loads turns the escapes "\ud83d\ude00" into one character and a lone "\ud800" into a surrogate.
REPLACEMENT = "\ufffd"


def id_parse(value: Any) -> int | None:
    """Return ``value`` as a database id when it is one (ASCII digits within 64 bits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if ID_MIN <= value <= ID_MAX else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 19 or not _ASCII_DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if ID_MIN <= number <= ID_MAX else None


def text_problem(value: str) -> str | None:
    """Return why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return TEXT_HAS_NUL
    if _SURROGATE.search(value):
        return TEXT_HAS_SURROGATE
    return None


def text_repair(value: str) -> str:
    """Return ``value`` with NUL removed and each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, value.replace("\x00", ""))


def json_text_problem(data: Any) -> str | None:
    """Return why some key or string inside parsed JSON cannot be stored, or None when all can."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def json_repair(data: Any) -> Any:
    """Return parsed JSON with every key and string repaired by ``text_repair``."""
    if isinstance(data, str):
        return text_repair(data)
    if isinstance(data, dict):
        return {json_repair(key): json_repair(value) for key, value in data.items()}
    if isinstance(data, list):
        return [json_repair(item) for item in data]
    return data


def form_error(message: str, *, code: str = "invalid") -> ValidationError:
    """Return a ValidationError that shows ``message`` as written, even when it quotes a "%" someone typed.

    django-filter %-formats every message it passes on, so text from the request goes in as a parameter.
    """
    return ValidationError("%(message)s", code=code, params={"message": message})


# Forms and django-filter -------------------------------------------------------------------------


class WholeNumberFormField(forms.IntegerField):
    """A whole number typed by a person or put in a query: ASCII digits, within ``min_value``/``max_value``."""

    default_error_messages = {"invalid": NOT_A_NUMBER}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        text = str(value).strip()
        if len(text) > 40 or not _SIGNED_DIGITS.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


class DecimalFormField(forms.DecimalField):
    """A decimal number typed by a person: ASCII digits and at most one point, within the field's bounds and places."""

    default_error_messages = {"invalid": NOT_A_DECIMAL}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if len(text) > 40 or not _DECIMAL_DIGITS.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)


class _CheckboxText(forms.CheckboxInput):
    """A checkbox whose value reaches the field as sent, so the field can refuse what is no yes or no."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class BooleanFormField(forms.Field):
    """A yes or no in a query or a checkbox: true/false, 1/0, on/off; left out is false, anything else refused.

    Django's BooleanField reads any text but "false" and "0" as true, so ``?compare=maybe`` would compare.
    """

    widget = _CheckboxText
    TRUE = frozenset({"true", "1", "on", "yes"})
    FALSE = frozenset({"false", "0", "off", "no"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(NOT_A_BOOLEAN, code="invalid")

    def validate(self, value):
        """Accept false as an answer, as a checkbox left unticked is one."""


class IdFormField(WholeNumberFormField):
    """A database id: 1 to 2**63 - 1."""

    default_error_messages = {"invalid": NOT_AN_ID.format(max=ID_MAX)}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", ID_MIN)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


class VersionFormField(WholeNumberFormField):
    """A version number: 1 to 2**31 - 1."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", VERSION_MAX)
        super().__init__(**kwargs)


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Several objects chosen by id; a value that is no id is refused before the database is asked."""

    def _check_values(self, value):
        if self.to_field_name is None:
            for item in value:
                if id_parse(str(item)) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": str(item)[:40]}
                    )
        return super()._check_values(value)


def _in_date_range(day: datetime.date) -> None:
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValidationError(DATE_OUT_OF_RANGE, code="date_range")


class DateFormField(forms.DateField):
    """A calendar date within ``DATE_MIN`` and ``DATE_MAX``, rendered as a browser's date input reads it."""

    widget = IsoDateInput

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None:
            _in_date_range(day)
        return day


class DateTimeFormField(forms.DateTimeField):
    """A moment whose date lies within ``DATE_MIN`` and ``DATE_MAX`` (a bare date is its midnight)."""

    widget = IsoDateTimeInput

    def to_python(self, value):
        if isinstance(value, str):
            # Check the calendar date before time zone arithmetic can overflow on it.
            text = value.strip()
            if len(text) >= 4 and text[:4].isascii() and text[:4].isdigit():
                year = int(text[:4])
                if not DATE_MIN.year <= year <= DATE_MAX.year:
                    raise ValidationError(DATE_OUT_OF_RANGE, code="date_range")
        moment = super().to_python(value)
        if moment is not None:
            _in_date_range(moment.date())
        return moment


class IdFilter(filters.NumberFilter):
    """Filter on a foreign key or id column by an id (``?source=12``)."""

    field_class = IdFormField


class IdOrNameFilter(filters.CharFilter):
    """Filter by an id when the value is one (``?team=3``), else by a name (``?team=fraud``)."""

    def __init__(self, *, id_field: str, name_field: str, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)
        self.id_field, self.name_field = id_field, name_field

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        value = value.strip()
        number = id_parse(value)
        if number is not None:
            return qs.filter(**{self.id_field: number})
        return qs.filter(**{self.name_field: value})


class DateFilter(filters.DateFilter):
    field_class = DateFormField


class DateTimeFilter(filters.DateTimeFilter):
    field_class = DateTimeFormField


class IdConverter:
    """A database id in a URL path: ASCII digits that fit in 64 bits; any other text is not found (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = id_parse(value)
        if number is None:
            raise ValueError(value)  # Django then tries the next pattern, and answers 404 when none match
        return number

    def to_url(self, value) -> str:
        return str(value)


# Path segments the REST router matches as ids: anything else answers 404 without reaching a view.
ID_PATH_PATTERN = "[0-9]{1,18}"


# Django REST framework ----------------------------------------------------------------------------


class TextField(serializers.CharField):
    """Text in a JSON body: a JSON string. DRF's CharField also takes a number and stores its digits."""

    default_error_messages = {"invalid": NOT_TEXT}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class IdOrNameField(serializers.CharField):
    """A reference in a JSON body that is an id or a name (``"team": 3`` or ``"team": "fraud"``): read as text."""

    default_error_messages = {"invalid": NOT_TEXT}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """A whole number in a JSON body or query: a JSON integer or ASCII digits, within ``min_value``/``max_value``."""

    default_error_messages = {"invalid": NOT_A_NUMBER}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            if len(text) > 40 or not _SIGNED_DIGITS.fullmatch(text):
                self.fail("invalid")
            data = int(text)
        if self.max_value is not None and data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        if self.min_value is not None and data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        return data


class IdField(WholeNumberField):
    """An id in a JSON body or query: 1 to 2**63 - 1."""

    default_error_messages = {"invalid": NOT_AN_ID.format(max=ID_MAX)}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", ID_MIN)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


class VersionField(WholeNumberField):
    """A version number of a post-mortem or template: 1 to 2**31 - 1, as its column holds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", VERSION_MAX)
        super().__init__(**kwargs)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id; ids that cannot exist are refused before the database is asked."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if id_parse(data) is None:
            self.fail("does_not_exist", pk_value=str(data)[:40])
        return super().to_internal_value(id_parse(data))


class DateField(serializers.DateField):
    """A calendar date within ``DATE_MIN`` and ``DATE_MAX``."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not DATE_MIN <= day <= DATE_MAX:
            raise serializers.ValidationError(DATE_OUT_OF_RANGE, code="date_range")
        return day


class DateTimeField(serializers.DateTimeField):
    """A moment whose date lies within ``DATE_MIN`` and ``DATE_MAX``."""

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(DATE_OUT_OF_RANGE, code="date_range") from None
        if not DATE_MIN <= moment.astimezone(datetime.UTC).date() <= DATE_MAX:
            raise serializers.ValidationError(DATE_OUT_OF_RANGE, code="date_range")
        return moment


class QueryParams(serializers.Serializer):
    """Query parameters read by DRF fields, where a parameter given empty is refused by name.

    DRF reads an optional field left empty in a form as left out; in a query that silently drops
    a filter the client meant (``?status=``). A field that allows blank still takes "".
    """

    def to_internal_value(self, data):
        errors = {
            name: [PARAMETER_EMPTY]
            for name, field in self.fields.items()
            if hasattr(data, "getlist")
            and any(not str(value).strip() for value in data.getlist(name))
            and not getattr(field, "allow_blank", False)
        }
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class TextJSONParser(parsers.JSONParser):
    """Parse JSON bodies, refusing (400) any key or string that text columns cannot hold."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        problem = json_text_problem(data)
        if problem:
            raise ParseError(JSON_TEXT_REFUSED.format(problem=problem))
        return data
