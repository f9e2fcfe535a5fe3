"""A new user learns every demo sign-in and its role: in the README and, in development, on the sign-in page."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from demo.chapters.people import DEMO_PASSWORD, PEOPLE, demo_sign_ins
from demo.chapters.people import seed as seed_people

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.django_db


def test_the_readme_lists_every_demo_sign_in_with_its_roles():
    readme = README.read_text()
    for sign_in in demo_sign_ins():
        row = re.search(rf"^\| `{sign_in['username']}` \|.*$", readme, re.MULTILINE)
        assert row, f"{sign_in['username']} is not in the README's table of demo sign-ins"
        assert sign_in["roles"] in row.group(0)
    assert DEMO_PASSWORD in readme


def test_the_sign_in_page_lists_demo_sign_ins_in_development(client, settings):
    settings.DEBUG = True
    seed_people()
    page = client.get(reverse("login")).content.decode()
    for username, *_ in PEOPLE:
        assert f"<code>{username}</code>" in page
    assert "lead of Fraud" in page
    assert DEMO_PASSWORD in page


def test_the_sign_in_page_keeps_them_to_itself_in_production(client, settings):
    settings.DEBUG = False
    seed_people()
    page = client.get(reverse("login")).content.decode()
    assert "<code>lucia</code>" not in page
    assert DEMO_PASSWORD not in page


def test_the_sign_in_page_names_no_demo_sign_in_before_the_demo_is_seeded(client, settings):
    settings.DEBUG = True
    page = client.get(reverse("login")).content.decode()
    assert "<code>lucia</code>" not in page
