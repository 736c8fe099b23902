"""Server-rendered pages: home (the feed), the upload form without JavaScript, the video page in each state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.storage.base import ObjectStore
from reelm.videos import services
from reelm.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_upload_page_requires_login(client: Client) -> None:
    response = client.get("/upload")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_upload_form_works_without_javascript(
    browser: Client, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    page = browser.get("/upload")
    assert b'id="upload-progress"' in page.content and b"reelm/upload.js" in page.content
    with open(clips["portrait"], "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/upload", {"file": handle, "caption": "from the form #nojs", "visibility": "public"})
    video = Video.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/v/{video.id}"
    assert video.state == "ready" and video.caption == "from the form #nojs"
    watch = browser.get(response["Location"])
    assert watch.status_code == 200
    assert b"vendor/hls.js/hls.min.js" in watch.content and b'id="player"' in watch.content
    assert f"/media/videos/{video.id}/hls/master.m3u8".encode() in watch.content


def test_upload_form_shows_the_error_and_stores_nothing(
    browser: Client, tmp_path: Path, media_store: ObjectStore
) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("<html><script>alert(1)</script></html>")
    with open(fake, "rb") as handle:
        response = browser.post("/upload", {"file": handle, "visibility": "public"})
    assert response.status_code == 400
    assert b"not a video in a supported container" in response.content
    assert not Video.objects.exists() and list(media_store.list()) == []


def test_home_is_the_feed_with_only_public_ready_videos(
    client: Client, user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        public = services.video_create(owner=user, upload_path=clips["portrait"], caption="public one")
        private = services.video_create(
            owner=user, upload_path=clips["portrait"], caption="private one", visibility="private"
        )
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.video_create(owner=user, upload_path=clips["portrait"], caption="still processing")
    html = client.get("/").content.decode()
    # The front page is the vertical For You feed; its first page is in the HTML for feed.js to play.
    assert 'id="feed-data"' in html and "feed/feed.js" in html
    assert str(public.id) in html
    assert str(private.id) not in html and str(pending.id) not in html


def test_video_page_reports_processing_and_failure(
    browser: Client, user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        video = services.video_create(owner=user, upload_path=clips["portrait"])
    page = browser.get(f"/v/{video.id}").content.decode()
    assert "Uploaded" in page and '"state": "uploaded"' in page
    Video.objects.filter(id=video.id).update(state="failed", failure_reason="ffmpeg failed: broken stream")
    page = browser.get(f"/v/{video.id}").content.decode()
    assert "ffmpeg failed: broken stream" in page
    # Someone else cannot see a video that is not ready and public.
    assert Client().get(f"/v/{video.id}").status_code == 404
