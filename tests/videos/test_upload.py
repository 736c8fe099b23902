"""Uploads that should work: every supported container goes from the upload to a ready video with renditions."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.storage.base import ObjectStore
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag


@pytest.fixture
def own_tmp(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's temporary files (upload spools, transcode work directories) go to a folder of its own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# kind -> (stored extension, displayed size, source codecs, rendition names)
CASES = {
    "portrait": ("mp4", (320, 568), "h264,aac", ["320p"]),
    "landscape": ("mp4", (640, 360), "h264,aac", ["360p"]),
    "rotated": ("mp4", (320, 568), "h264,aac", ["320p"]),
    "silent": ("mp4", (320, 568), "h264", ["320p"]),
    "webm": ("mkv", (320, 568), "vp9,opus", ["320p"]),
    "mkv": ("mkv", (320, 568), "h264,aac", ["320p"]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_upload_becomes_ready_with_renditions(
    api: Client,
    client: Client,
    clips: dict[str, Path],
    upload: Any,
    media_store: ObjectStore,
    own_tmp: Path,
    kind: str,
) -> None:
    extension, (width, height), codecs, names = CASES[kind]
    response = upload(api, clips[kind], caption=f"a {kind} clip")
    assert response.status_code == 201, response.content
    accepted = response.json()
    assert accepted["state"] == "uploaded"  # transcoding happens after the upload is answered
    assert accepted["author"]["username"] == "alice"
    assert accepted["urls"]["hls"] is None and accepted["urls"]["mp4"] is None
    video_id = accepted["id"]

    video = Video.objects.get(id=video_id)
    assert video.state == "ready", video.failure_reason
    assert video.source_key == f"originals/{video_id}/source.{extension}"
    assert video.source_codecs == codecs
    assert video.source_size == clips[kind].stat().st_size
    assert video.source_sha256 == sha256(clips[kind])
    assert media_store.checksum(video.source_key) == sha256(clips[kind])  # the original, byte for byte
    assert video.media_prefix.startswith(f"videos/{video_id}/")

    detail = client.get(f"/api/videos/{video_id}").json()  # public and ready: anyone may see it
    assert detail["state"] == "ready" and detail["failure_reason"] == ""
    assert (detail["width"], detail["height"]) == (width, height)
    assert detail["duration"] == pytest.approx(2.0, abs=0.1)
    assert detail["ready_at"] is not None
    assert [r["name"] for r in detail["renditions"]] == names
    for rendition in detail["renditions"]:
        assert rendition["width"] <= width and rendition["height"] <= height  # never upscaled
        assert (rendition["width"] < rendition["height"]) == (width < height)  # orientation kept
        assert rendition["width"] % 2 == 0 and rendition["height"] % 2 == 0
        assert rendition["bandwidth"] > 0
    base = f"/media/videos/{video_id}/"
    assert detail["urls"] == {
        "page": f"/v/{video_id}",
        "hls": base + "hls/master.m3u8",
        "hls_live": None,
        "mp4": base + "video.mp4",
        "poster": base + "poster.jpg",
        "previews": [base + f"preview_{i}.jpg" for i in range(1, video.preview_count + 1)],
    }
    assert video.preview_count >= 1

    # Everything it links to exists in the store, and the store holds nothing else for this video.
    prefix = video.media_prefix
    keys = {info.key for info in media_store.list()}
    expected = {prefix + "hls/master.m3u8", prefix + "video.mp4", prefix + "poster.jpg"}
    expected |= {prefix + f"preview_{i}.jpg" for i in range(1, video.preview_count + 1)}
    expected |= {prefix + f"hls/{name}/index.m3u8" for name in names}
    assert expected <= keys
    segments = {key for key in keys if key.endswith(".ts")}
    assert segments and all(key.startswith(prefix + "hls/") for key in segments)
    assert keys == expected | segments | {video.source_key}
    master = media_store.read_bytes(prefix + "hls/master.m3u8").decode()
    assert ("mp4a" in master) == (kind != "silent")
    # No temporary upload or work directory is left once the video is ready.
    assert list(own_tmp.iterdir()) == []


def test_upload_defaults_to_public_with_an_empty_caption(api: Client, clips: dict[str, Path], upload: Any) -> None:
    response = upload(api, clips["silent"])
    body = response.json()
    assert response.status_code == 201
    assert (body["visibility"], body["caption"], body["hashtags"], body["mentions"]) == ("public", "", [], [])


def test_hashtags_and_mentions_are_parsed(
    api: Client, client: Client, other_user: User, clips: dict[str, Path], upload: Any
) -> None:
    caption = "Sunset #Beach #beach #summer_2025 #123 mail@example.com x#notatag &#38; hi @Bob @ghost @bob. ok"
    response = upload(api, clips["silent"], caption=caption)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["caption"] == caption
    assert body["hashtags"] == ["beach", "summer_2025"]  # lower-cased, once each, numbers are not tags
    assert body["mentions"] == ["bob"]  # an existing account is linked; an unknown name is ignored
    video = Video.objects.get(id=body["id"])
    assert list(Mention.objects.filter(video=video).values_list("mentioned_id", flat=True)) == [other_user.id]
    assert VideoHashtag.objects.filter(video=video).count() == 2
    assert client.get(f"/api/videos/{video.id}").json()["hashtags"] == ["beach", "summer_2025"]

    # A second video with the same tag shares the one Hashtag row.
    second = upload(api, clips["silent"], caption="#BEACH again").json()
    assert second["hashtags"] == ["beach"]
    assert Hashtag.objects.filter(name="beach").count() == 1
    assert VideoHashtag.objects.filter(hashtag__name="beach").count() == 2


def test_visibility_values(api: Client, client: Client, other_api: Client, clips: dict[str, Path], upload: Any) -> None:
    ids = {}
    for visibility in ("public", "followers", "private"):
        response = upload(api, clips["silent"], visibility=visibility)
        assert response.status_code == 201, response.content
        assert response.json()["visibility"] == visibility
        ids[visibility] = response.json()["id"]
        assert Video.objects.get(id=ids[visibility]).state == "ready"

    for visibility, video_id in ids.items():
        assert api.get(f"/api/videos/{video_id}").status_code == 200  # the owner sees all three
        expected = 200 if visibility == "public" else 404
        assert client.get(f"/api/videos/{video_id}").status_code == expected
        assert other_api.get(f"/api/videos/{video_id}").status_code == expected

    assert [v["id"] for v in client.get("/api/videos").json()["items"]] == [ids["public"]]
    assert [v["id"] for v in client.get("/api/videos/by/alice").json()] == [ids["public"]]
    assert [v["id"] for v in other_api.get("/api/videos/by/alice").json()] == [ids["public"]]
    mine = [v["id"] for v in api.get("/api/videos/by/alice").json()]
    assert mine == [ids["private"], ids["followers"], ids["public"]]  # newest first


def test_upload_through_the_web_form(
    client: Client, user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(user)
    assert client.get("/upload").status_code == 200
    with open(clips["portrait"], "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/upload", {"file": handle, "caption": "from the form #web", "visibility": "private"})
    video = Video.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/v/{video.id}"
    assert (video.state, video.visibility, video.caption) == ("ready", "private", "from the form #web")
    assert client.get(f"/v/{video.id}").status_code == 200


def test_upload_page_needs_a_signed_in_user(client: Client, db: None) -> None:
    response = client.get("/upload")
    assert response.status_code == 302 and response["Location"].startswith("/login")
