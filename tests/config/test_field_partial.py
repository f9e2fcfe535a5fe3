"""The field partial renders each help text with the id its input's aria-describedby names."""

import re

from django import forms
from django.template.loader import render_to_string


class ExampleForm(forms.Form):
    due_date = forms.CharField(help_text="Left empty, it follows the incident's severity.")
    owner = forms.CharField()


def test_help_texts_are_read_with_their_input():
    form = ExampleForm()
    html = render_to_string("partials/field.html", {"field": form["due_date"]})
    described_by = re.search(r'aria-describedby="([^"]+)"', html)
    assert described_by, html
    for target in described_by.group(1).split():
        assert f'id="{target}"' in html, f"{target} is named but never rendered:\n{html}"


def test_a_field_without_help_text_names_nothing():
    html = render_to_string("partials/field.html", {"field": ExampleForm()["owner"]})
    assert "aria-describedby" not in html
