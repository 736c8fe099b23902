"""The site's icon: linked from every page, and /favicon.ico leads to it instead of a 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_icon_every_page_links(client: Client) -> None:
    found = client.get("/favicon.ico")
    assert found.status_code == 301
    assert found["Location"].endswith("/reelm/favicon.svg")
    assert "max-age=86400" in found["Cache-Control"]
    icon = finders.find("reelm/favicon.svg")
    assert icon and Path(str(icon)).read_text().startswith("<svg")
    page = client.get("/login").content.decode()
    assert 'rel="icon"' in page and "reelm/favicon.svg" in page
