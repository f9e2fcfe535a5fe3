"""Every URL, form, filter and serializer of the project reads ids, numbers and dates through config/validation.py.

Django's and DRF's stock fields accept what the database or Python cannot hold ("²" and "١٢" as digits,
integers past 64 bits, 9999-12-31 plus a day). The rows of test_input_validation.py prove the fields
right; this walk makes sure a new page or endpoint cannot use the stock ones and bring the 500s back.
"""

import importlib
import pkgutil
from pathlib import Path

import django_filters
from django import forms
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from rest_framework import serializers

import config

# Stock classes that parse ids, numbers or dates without the project's bounds, and what to use instead.
FORM_FIELDS = {
    # Bounded integer fields are allowed (an out-of-range value is refused), and so are a model
    # form's, which the model's range validators bound.
    forms.IntegerField: "IdFormField / WholeNumberFormField",
    forms.DecimalField: "DecimalFormField",
    forms.FloatField: "WholeNumberFormField",
    forms.DateField: "DateFormField",
    forms.DateTimeField: "DateTimeFormField",
    forms.ModelMultipleChoiceField: "IdModelMultipleChoiceField",
}
FILTERS = {
    django_filters.NumberFilter: "IdFilter",
    django_filters.DateFilter: "DateFilter",
    django_filters.DateTimeFilter: "DateTimeFilter",
    django_filters.ModelMultipleChoiceFilter: "a filter over IdModelMultipleChoiceField",
}
# Serializers used only for answers declare stock fields harmlessly; what they read is covered by
# schemathesis (tests/api/test_schemathesis.py), which sends every operation out-of-range values.


def _project_modules() -> list[str]:
    base = Path(settings.BASE_DIR)
    packages = [config] + [
        importlib.import_module(app.name) for app in apps.get_app_configs() if Path(app.path).parent == base
    ]
    names = []
    for package in packages:
        names.append(package.__name__)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)
            names.append(module.name)
    return names


PROJECT_MODULES = _project_modules()


def _project_subclasses(base) -> list[type]:
    found, stack = [], [base]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__ in PROJECT_MODULES:
            found.append(cls)
    return found


def _walk_urls(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk_urls(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def test_the_walk_finds_the_project_classes():
    assert len(_project_subclasses(forms.BaseForm)) > 10
    assert len(_project_subclasses(serializers.BaseSerializer)) > 20
    assert len(_project_subclasses(django_filters.FilterSet)) > 3


def test_no_url_reads_an_id_with_the_unbounded_int_converter():
    offenders = []
    for route, pattern in _walk_urls(get_resolver()):
        converters = getattr(pattern.pattern, "converters", {})
        if any(isinstance(converter, IntConverter) for converter in converters.values()):
            offenders.append(route)
        # A DRF router's default lookup matches any segment ("abc", "null,null"): ids only.
        if "(?P<pk>[^/.]+)" in route:
            offenders.append(route)
    assert offenders == [], "use <id:...> (config.validation.IdConverter) and config.api.Router"


def _bounded_integer(form, field) -> bool:
    if type(field) is not forms.IntegerField:
        return False
    return issubclass(form, forms.BaseModelForm) or (field.min_value is not None and field.max_value is not None)


def test_no_form_parses_numbers_or_dates_with_stock_fields():
    offenders = [
        f"{form.__module__}.{form.__name__}.{name}: use {FORM_FIELDS[type(field)]}"
        for form in _project_subclasses(forms.BaseForm)
        for name, field in getattr(form, "base_fields", {}).items()
        if type(field) in FORM_FIELDS and not _bounded_integer(form, field)
    ]
    assert offenders == []


def test_no_filter_parses_numbers_or_dates_with_stock_filters():
    offenders = [
        f"{filterset.__module__}.{filterset.__name__}.{name}: use {FILTERS[type(item)]}"
        for filterset in _project_subclasses(django_filters.FilterSet)
        for name, item in filterset.base_filters.items()
        if type(item) in FILTERS
    ]
    assert offenders == []


def test_no_serializer_looks_up_related_objects_by_unchecked_ids():
    """A writable PrimaryKeyRelatedField asks the database for any number, and SQLite overflows past 64 bits."""
    offenders = []
    for serializer in _project_subclasses(serializers.BaseSerializer):
        for name, field in getattr(serializer, "_declared_fields", {}).items():
            field = getattr(field, "child_relation", field)
            if type(field) is serializers.PrimaryKeyRelatedField and not field.read_only:
                offenders.append(f"{serializer.__module__}.{serializer.__name__}.{name}: use IdRelatedField")
    assert offenders == []
