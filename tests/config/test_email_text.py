"""Subjects and plain-text parts of every email show text as written: HTML escaping is for the HTML part only."""

import re
from pathlib import Path

import pytest
from django.conf import settings

EMAIL_TEXT_TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates" / "emails").glob("*.txt"))
# Loads may come first; everything that prints must sit inside one autoescape-off block.
UNESCAPED = re.compile(r"^(\{% load [\w ]+ %\})*\{% autoescape off %\}.*\{% endautoescape %\}\s*$", re.DOTALL)


def test_there_are_plain_text_emails():
    assert any(path.name.endswith("_subject.txt") for path in EMAIL_TEXT_TEMPLATES)


@pytest.mark.parametrize("path", EMAIL_TEXT_TEMPLATES, ids=lambda path: path.name)
def test_every_subject_and_plain_text_part_turns_autoescape_off(path):
    assert UNESCAPED.match(path.read_text()), f"{path.name}: wrap it in {{% autoescape off %}}"
