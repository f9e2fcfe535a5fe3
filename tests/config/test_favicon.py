"""Every page names an icon that exists: browsers ask for /favicon.ico on any page that links none."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

ICON = "img/kintsugi.svg"


def test_favicon_ico_leads_to_our_icon_without_signing_in(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == static(ICON)
    assert finders.find(ICON)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/admin/incidents/incident/", "/admin/login/"])
def test_admin_pages_link_our_icon(client, staff, path):
    if path != "/admin/login/":
        client.force_login(staff)

    page = client.get(path).content.decode()

    link = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert link, f"{path} links no icon, so the browser asks for /favicon.ico"
    assert link.group(1) == static(ICON)
