"""The upload page: errors as styled alerts next to their field, and a caption box that counts down rather than
cutting the text off (the server keeps the limit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field(html: str, name: str) -> str:
    return html.split(f'class="field field-{name}', 1)[1].split('<div class="field', 1)[0]


def test_the_caption_box_counts_down_and_never_truncates(browser: Client) -> None:
    html = browser.get("/upload").content.decode()
    caption = field(html, "caption")
    assert ' maxlength="2200"' not in caption and 'data-maxlength="2200"' in caption
    assert 'id="caption-count" data-max="2200"' in caption
    assert 'aria-describedby="id_caption_error caption-count"' in caption
    assert 'id="id_caption_error" role="alert" hidden' in caption
    assert "reelm/upload.js" in html


def test_a_file_error_is_an_alert_next_to_the_file_field(browser: Client, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("<html><script>alert(1)</script></html>")
    with open(fake, "rb") as handle:
        response = browser.post("/upload", {"file": handle, "visibility": "public"})
    assert response.status_code == 400
    html = response.content.decode()
    file_field = field(html, "file")
    assert 'class="field field-file has-error"' in html
    assert 'class="field-error" id="id_file_error" role="alert">' in file_field
    assert "not a video in a supported container" in file_field
    assert 'aria-invalid="true"' in file_field and "id_file_error" in file_field.split("<input", 1)[1]
    assert 'role="alert" hidden' in field(html, "caption")  # no caption error
    assert not Video.objects.exists()


def test_too_long_a_caption_is_refused_with_a_clear_message(browser: Client, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\0" * 100)
    with open(fake, "rb") as handle:
        response = browser.post("/upload", {"file": handle, "visibility": "public", "caption": "a" * 2201})
    assert response.status_code == 400
    caption = field(response.content.decode(), "caption")
    assert "The caption is too long: 2201 characters, and captions are limited to 2200." in caption
    assert 'id="id_caption_error" role="alert">' in caption
    assert "a" * 2201 in caption  # what was typed is kept, not cut off
    assert not Video.objects.exists()


def test_line_breaks_count_once(browser: Client, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\0" * 100)
    caption = "a\r\n" * 1100  # 2 200 characters as typed (a line break is one), 3 300 bytes as sent
    with open(fake, "rb") as handle:
        response = browser.post("/upload", {"file": handle, "visibility": "public", "caption": caption})
    html = response.content.decode()
    assert "caption is too long" not in html and "not a video" in html
