"""Direct playback from the bucket: with REELM_MEDIA_DIRECT_ORIGINS set and a store that signs (S3 here, on
SeaweedFS, which verifies signatures), media requests are redirected to short-lived signed URLs after Reelm's own
access check; playlists stay with Reelm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from reelm.storage import registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_media(settings: Any, fresh_store_url: Callable[[str], str]) -> str:
    settings.REELM_STORAGE_URL = fresh_store_url("s3")
    registry._cached.cache_clear()
    endpoint = parse_qs(urlparse(settings.REELM_STORAGE_URL).query)["endpoint"][0]
    origin = f"http://{urlparse(endpoint).netloc}"
    settings.REELM_MEDIA_DIRECT_ORIGINS = [origin]
    settings.REELM_MEDIA_URL_SECONDS = 120
    return origin


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the local S3 server
        return bytes(response.read())


def test_segments_and_posters_redirect_to_signed_bucket_urls_playlists_do_not(
    s3_media: str, api: Client, upload: Callable[..., Any], clips: dict[str, Path], settings: Any
) -> None:
    video = upload(api, clips["portrait"], visibility="public").json()
    assert api.get(f"/api/videos/{video['id']}").json()["state"] == "ready"
    base = f"/media/videos/{video['id']}/"

    playlist = Client().get(base + "hls/master.m3u8")
    assert playlist.status_code == 200 and b"#EXTM3U" in b"".join(playlist.streaming_content)

    for path in ("poster.jpg", "video.mp4"):
        response = Client().get(base + path)
        assert response.status_code == 302, path
        location = response["Location"]
        assert location.startswith(s3_media) and "X-Amz-Signature=" in location
        assert "X-Amz-Expires=120" in location
        assert response["Cache-Control"] == "private, max-age=60"
        direct = _fetch(location)
        settings.REELM_MEDIA_DIRECT_ORIGINS = []  # the same object through Reelm, for comparison
        through = b"".join(Client().get(base + path).streaming_content)
        settings.REELM_MEDIA_DIRECT_ORIGINS = [s3_media]
        assert direct == through and len(direct) > 1000


def test_the_bucket_origins_are_allowed_by_the_pages_csp(tmp_path: Path) -> None:
    origins = "https://videos.s3.example.com,https://new.blob.example.net"
    env = {**os.environ, "REELM_MEDIA_DIRECT_ORIGINS": origins, "REELM_DATA_DIR": str(tmp_path)}
    script = "import django; django.setup(); from django.conf import settings; import json; "
    script += "print(json.dumps(settings.SECURE_CSP))"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    csp = json.loads(out.stdout)
    for directive in ("img-src", "media-src", "connect-src"):
        assert csp[directive][-2:] == origins.split(","), directive
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'self'"]


def test_a_hidden_video_gets_no_signed_url_but_its_author_does(
    s3_media: str, api: Client, upload: Callable[..., Any], clips: dict[str, Path]
) -> None:
    video = upload(api, clips["portrait"], visibility="private").json()
    poster = f"/media/videos/{video['id']}/poster.jpg"
    stranger = Client().get(poster)
    assert stranger.status_code == 404 and "Location" not in stranger
    mine = api.get(poster)
    assert mine.status_code == 302 and mine["Cache-Control"] == "private, max-age=0"
    assert _fetch(mine["Location"])[:2] == b"\xff\xd8"  # a JPEG
