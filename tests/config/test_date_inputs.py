"""Every date and datetime input of every form carries an ISO value, the only format browsers accept."""

import importlib
import pkgutil
import re
from datetime import date, datetime
from pathlib import Path

import django_filters
import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.utils import timezone

DATE = date(2026, 12, 1)
MOMENT = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.get_fixed_timezone(0))
ISO_DATE = 'value="2026-12-01"'
ISO_DATETIME = re.compile(r'value="2026-12-01T\d\d:05"')


def _own_apps():
    """Return the app configs whose code lives in this repository (not in the virtualenv)."""
    return [
        config
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR) and "site-packages" not in config.path
    ]


def _project_modules():
    """Import every module of the project's own apps, so that each form class is defined."""
    for config in _own_apps():
        package = importlib.import_module(config.name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{config.name}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            importlib.import_module(info.name)


def _subclasses(base):
    found, stack = set(), [base]
    while stack:
        for subclass in stack.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                stack.append(subclass)
    return found


def _date_fields():
    """Yield (where, field) for each date or datetime field of the project's forms and filter sets."""
    _project_modules()
    own = tuple(config.name + "." for config in _own_apps())
    for form_class in _subclasses(forms.BaseForm):
        if not form_class.__module__.startswith(own):
            continue
        for name, field in form_class.base_fields.items():
            yield f"{form_class.__module__}.{form_class.__name__}.{name}", field
    for filterset_class in _subclasses(django_filters.FilterSet):
        if not filterset_class.__module__.startswith(own):
            continue
        for name, filter_ in filterset_class.base_filters.items():
            yield f"{filterset_class.__module__}.{filterset_class.__name__}.{name}", filter_.field


@pytest.fixture(scope="module")
def date_fields():
    fields = [
        (where, field) for where, field in _date_fields() if isinstance(field, forms.DateField | forms.DateTimeField)
    ]
    assert fields, "the project has forms with dates: discovery found none"
    return sorted(fields, key=lambda pair: pair[0])


def test_the_known_date_fields_are_found(date_fields):
    found = {where.rsplit(".", 2)[-2] + "." + where.rsplit(".", 1)[-1] for where, _ in date_fields}
    assert {"ActionItemForm.due_date", "MilestonesForm.resolved_at", "IncidentFilterSet.detected_after"} <= found


def test_every_date_input_renders_an_iso_value(date_fields):
    wrong = []
    for where, field in date_fields:
        input_type = getattr(field.widget, "input_type", "")
        if input_type == "datetime-local":
            html = field.widget.render("moment", MOMENT)
            iso = bool(ISO_DATETIME.search(html))
        else:
            # A datetime field may ask for a day only (filters): it renders the day of its value.
            html = field.widget.render("day", MOMENT if isinstance(field, forms.DateTimeField) else DATE)
            iso = input_type == "date" and ISO_DATE in html
        if not iso:
            wrong.append(f"{where}: {html}")
    assert not wrong, "\n".join(wrong)
