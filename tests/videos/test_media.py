"""Media serving: HLS and MP4 through /media/videos/<id>/..., byte ranges, headers, visibility, and outputs that
carry nothing of the original's metadata. Served bytes are checked with PyAV, the same libraries ffprobe uses."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.test import Client
from django.utils import timezone

from reelm.accounts.models import User
from reelm.storage.base import ObjectStore
from reelm.transcode.ffmpeg import ffmpeg_path
from reelm.videos.models import Video
from tests.conftest import make_clip


@pytest.fixture(scope="module")
def phone_clip(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The portrait clip with the metadata a phone writes: place, time, device, title (as QuickTime keys too)."""
    path = tmp_path_factory.mktemp("phone") / "phone.mp4"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(clips["portrait"]), "-c", "copy",
         "-movflags", "use_metadata_tags",
         "-metadata", "creation_time=2020-01-02T03:04:05Z", "-metadata", "make=AcmePhone",
         "-metadata", "model=AcmePhone 9", "-metadata", "com.apple.quicktime.make=AcmePhone",
         "-metadata", "com.apple.quicktime.location.ISO6709=+48.8577+002.2950+035.000/",
         "-metadata", "com.apple.quicktime.creationdate=2020-01-02T03:04:05+0100",
         "-metadata:s:v", "creation_time=2020-01-02T03:04:05Z", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def clip_480(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough for two renditions (480p and 360p)."""
    return make_clip(tmp_path_factory.mktemp("clip480") / "c480.mp4", size="854x480", duration=2)


def ready(client: Client, upload: Any, path: Path, **fields: str) -> Video:
    response = upload(client, path, **fields)
    assert response.status_code == 201, response.content
    video = Video.objects.get(id=response.json()["id"])
    assert video.state == "ready", video.failure_reason
    return video


def url(video: Video, path: str) -> str:
    return f"/media/videos/{video.id}/{path}"


def content(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def playlist_uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def open_media(data: bytes, fmt: str | None = None) -> Any:
    return av.open(io.BytesIO(data), format=fmt)


def assert_served(response: Any, content_type: str) -> None:
    assert response.status_code in (200, 206), response.status_code
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response["Accept-Ranges"] == "bytes"


# --- HLS ---------------------------------------------------------------------------------------------------


def test_hls_master_rendition_playlists_and_segments(
    api: Client, client: Client, clip_480: Path, upload: Any, media_store: ObjectStore
) -> None:
    video = ready(api, upload, clip_480)
    master = client.get(url(video, "hls/master.m3u8"))
    assert_served(master, "application/vnd.apple.mpegurl")
    assert master["Cache-Control"] == "public, max-age=31536000, immutable"
    text = content(master).decode()
    assert text.startswith("#EXTM3U\n")
    resolutions = re.findall(r"RESOLUTION=(\d+)x(\d+)", text)
    assert sorted(resolutions) == [("640", "360"), ("854", "480")]
    assert text.count('CODECS="avc1.640028,mp4a.40.2"') == 2
    uris = playlist_uris(text)
    assert sorted(uris) == ["360p/index.m3u8", "480p/index.m3u8"]  # relative, inside the video's own folder

    total_segments = 0
    for uri in uris:
        playlist = client.get(url(video, f"hls/{uri}"))
        assert_served(playlist, "application/vnd.apple.mpegurl")
        text = content(playlist).decode()
        assert text.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in text
        # Nothing of the work directory or the store leaks into a playlist.
        assert "/" not in "".join(playlist_uris(text)) and "tmp" not in text and "://" not in text
        durations = [float(value) for value in re.findall(r"#EXTINF:([0-9.]+),", text)]
        assert sum(durations) == pytest.approx(2.0, abs=0.15)
        folder = uri.rsplit("/", 1)[0]
        for segment_name in playlist_uris(text):
            assert re.fullmatch(r"seg_\d{5}\.ts", segment_name)
            segment = client.get(url(video, f"hls/{folder}/{segment_name}"))
            assert_served(segment, "video/mp2t")
            data = content(segment)
            assert data == media_store.read_bytes(f"{video.media_prefix}hls/{folder}/{segment_name}")
            assert data[0] == 0x47 and len(data) % 188 == 0  # MPEG-TS packets
            total_segments += 1
    assert total_segments >= 2


# --- the progressive MP4: ranges, HEAD, headers ------------------------------------------------------------


def test_mp4_byte_ranges(
    api: Client, client: Client, clips: dict[str, Path], upload: Any, media_store: ObjectStore
) -> None:
    video = ready(api, upload, clips["landscape"])
    stored = media_store.read_bytes(video.media_prefix + "video.mp4")
    size = len(stored)
    assert size > 10_000

    whole = client.get(url(video, "video.mp4"))
    assert_served(whole, "video/mp4")
    assert whole.status_code == 200 and int(whole["Content-Length"]) == size
    assert content(whole) == stored
    assert "Content-Range" not in whole

    cases = {
        "bytes=0-99": (0, 100),
        "bytes=100-": (100, size),  # open-ended
        "bytes=-500": (size - 500, size),  # suffix: the last 500 bytes
        f"bytes=-{size + 1000}": (0, size),  # a suffix longer than the file is the whole file
        f"bytes={size - 10}-{size + 1000}": (size - 10, size),  # an end past the file is cut to the file
        f"bytes={size - 1}-{size - 1}": (size - 1, size),  # the last byte alone
        "bytes=4000-4000": (4000, 4001),
    }
    for header, (start, end) in cases.items():
        response = client.get(url(video, "video.mp4"), headers={"Range": header})
        assert response.status_code == 206, header
        assert_served(response, "video/mp4")
        assert response["Content-Range"] == f"bytes {start}-{end - 1}/{size}", header
        assert int(response["Content-Length"]) == end - start, header
        assert content(response) == stored[start:end], header

    for header in [f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=500-100", "bytes=-0"]:
        response = client.get(url(video, "video.mp4"), headers={"Range": header})
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{size}", header
        assert content(response) == b""

    # Ranges the server may ignore (malformed, other units, several ranges) get the whole file.
    for header in ["bytes=abc", "items=0-10", "bytes=0-1,5-6", "bytes=--5"]:
        response = client.get(url(video, "video.mp4"), headers={"Range": header})
        assert response.status_code == 200, header
        assert content(response) == stored, header

    # A player seeking through the file by ranges reassembles exactly the stored bytes.
    chunks, offset = [], 0
    while offset < size:
        response = client.get(url(video, "video.mp4"), headers={"Range": f"bytes={offset}-{offset + 65535}"})
        chunks.append(content(response))
        offset += 65536
    assert b"".join(chunks) == stored


def test_head_and_content_types(
    api: Client, client: Client, clips: dict[str, Path], upload: Any, media_store: ObjectStore
) -> None:
    video = ready(api, upload, clips["portrait"])
    paths = {
        "hls/master.m3u8": "application/vnd.apple.mpegurl",
        "hls/320p/index.m3u8": "application/vnd.apple.mpegurl",
        "hls/320p/seg_00000.ts": "video/mp2t",
        "video.mp4": "video/mp4",
        "poster.jpg": "image/jpeg",
        "preview_1.jpg": "image/jpeg",
    }
    for path, content_type in paths.items():
        info = media_store.head(video.media_prefix + path)
        head = client.head(url(video, path))
        assert head.status_code == 200, path
        assert_served(head, content_type)
        assert int(head["Content-Length"]) == info.size, path
        assert content(head) == b"", path
        get = client.get(url(video, path))
        assert_served(get, content_type)
        assert get["Content-Disposition"] == f'inline; filename="{path.replace("/", "-")}"'
        data = content(get)
        assert data == media_store.read_bytes(video.media_prefix + path), path
        if content_type == "image/jpeg":
            assert data[:3] == b"\xff\xd8\xff"
        # A cached copy is revalidated without sending the bytes again.
        if get.has_header("ETag"):
            again = client.get(url(video, path), headers={"If-None-Match": get["ETag"]})
            assert again.status_code == 304 and content(again) == b""
    # A HEAD with a Range is answered like a HEAD.
    head = client.head(url(video, "video.mp4"), headers={"Range": "bytes=0-9"})
    assert head.status_code == 200
    # Writes are not media requests.
    for method in (client.post, client.put, client.delete):
        assert method(url(video, "video.mp4")).status_code == 405


# --- what is never served ----------------------------------------------------------------------------------


def test_paths_outside_the_whitelist_are_404(
    api: Client, client: Client, user: User, clips: dict[str, Path], upload: Any, media_store: ObjectStore
) -> None:
    video = ready(api, upload, clips["portrait"])
    owner = Client()
    owner.force_login(user)
    attempt = video.media_prefix.removeprefix(f"videos/{video.id}/").rstrip("/")
    assert media_store.exists(video.source_key)  # the original is there: its 404 is the whitelist's doing
    assert media_store.exists(video.media_prefix + "video.mp4")
    paths = [
        "source.mp4",
        f"originals/{video.id}/source.mp4",
        f"../../originals/{video.id}/source.mp4",
        "../../../../../etc/passwd",
        "hls/../video.mp4",
        "hls/320p/../../poster.jpg",
        "%2e%2e/%2e%2e/originals/source.mp4",
        f"{attempt}/video.mp4",  # the attempt folder itself is not addressable
        f"{attempt}/hls/master.m3u8",
        "hls/master.m3u8%00.jpg",
        "hls/320p/seg_00000.ts/",
        "hls/320p/seg_0.ts",
        "HLS/master.m3u8",
        "VIDEO.MP4",
        "video.mp4.bak",
        "video.mp4/",
        "/video.mp4",
        "hls/320p/index.m3u8.tmp",
        "hls/320p",
        "hls/",
        "preview_0.jpg",  # allowed by name, but there is no such file
        "hls/9999p/index.m3u8",
    ]
    for viewer in (client, owner):
        for path in paths:
            response = viewer.get(url(video, path))
            assert response.status_code == 404, path
            assert content(response) != media_store.read_bytes(video.source_key)
    for path in ["/media/originals/{id}/source.mp4", "/media/{prefix}video.mp4", "/media/videos/{id}"]:
        assert owner.get(path.format(id=video.id, prefix=video.media_prefix)).status_code == 404, path
    # A media path under an unknown or malformed video id.
    assert client.get(f"/media/videos/{'0' * 8}-0000-7000-8000-{'0' * 12}/video.mp4").status_code == 404
    assert client.get("/media/videos/not-a-uuid/video.mp4").status_code == 404


def test_video_that_is_not_ready_serves_only_its_live_lowest_playlist(
    api: Client,
    client: Client,
    user: User,
    clip_480: Path,
    upload: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    owner = Client()
    owner.force_login(user)
    everything = [
        "hls/master.m3u8",
        "hls/360p/index.m3u8",
        "hls/360p/seg_00000.ts",
        "hls/480p/index.m3u8",
        "hls/480p/seg_00000.ts",
        "video.mp4",
        "poster.jpg",
        "preview_1.jpg",
    ]
    # Uploaded, not yet transcoded: nothing at all, even for the owner.
    with open(clip_480, "rb") as handle, django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post("/api/videos", {"file": handle})
    assert response.status_code == 201, response.content
    video = Video.objects.get(id=response.json()["id"])
    assert video.state == "uploaded"
    for path in everything:
        assert owner.get(url(video, path)).status_code == 404, path
    urls = api.get(f"/api/videos/{video.id}").json()["urls"]
    assert (urls["hls"], urls["hls_live"], urls["mp4"], urls["poster"]) == (None, None, None, None)

    for callback in queued:  # the transcode, run for real
        callback()
    video.refresh_from_db()
    assert video.state == "ready", video.failure_reason
    for path in everything:
        assert owner.get(url(video, path)).status_code == 200, path

    # The same files as a transcode attempt that is still running would have published them.
    attempt = video.media_prefix
    Video.objects.filter(id=video.id).update(
        state="processing",
        media_prefix="",
        attempt_prefix=attempt,
        ready_at=None,
        playable_at=None,
        lease_until=timezone.now() + timedelta(minutes=1),
    )
    for path in everything:
        assert owner.get(url(video, path)).status_code == 404, path  # not yet playable
    assert api.get(f"/api/videos/{video.id}").json()["urls"]["hls_live"] is None

    Video.objects.filter(id=video.id).update(playable_at=timezone.now())
    detail = api.get(f"/api/videos/{video.id}").json()
    live = f"/media/videos/{video.id}/hls/360p/index.m3u8"
    assert detail["urls"]["hls_live"] == live
    assert (detail["urls"]["hls"], detail["urls"]["mp4"], detail["urls"]["poster"]) == (None, None, None)
    assert detail["renditions"] == []
    served = {path: owner.get(url(video, path)) for path in everything}
    assert {path for path, r in served.items() if r.status_code == 200} == {
        "hls/360p/index.m3u8",
        "hls/360p/seg_00000.ts",
    }
    assert served["hls/360p/index.m3u8"]["Cache-Control"] == "no-store"  # it grows while ffmpeg runs
    # Nobody else sees a video that is not ready, live playlist included.
    assert client.get(live).status_code == 404
    assert client.get(f"/api/videos/{video.id}").status_code == 404

    # An attempt whose lease ran out (its worker died) is not live: its playlist is no longer served.
    Video.objects.filter(id=video.id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert owner.get(live).status_code == 404

    Video.objects.filter(id=video.id).update(state="failed", failure_reason="ffmpeg failed")
    for path in everything:
        assert owner.get(url(video, path)).status_code == 404, path


# --- who may watch -----------------------------------------------------------------------------------------


def test_private_media_is_served_to_its_owner_only(
    api: Client,
    other_api: Client,
    client: Client,
    user: User,
    other_user: User,
    clips: dict[str, Path],
    upload: Any,
) -> None:
    video = ready(api, upload, clips["portrait"], visibility="private")
    paths = ["hls/master.m3u8", "hls/320p/index.m3u8", "hls/320p/seg_00000.ts", "video.mp4", "poster.jpg"]
    owner = Client()
    owner.force_login(user)  # the owner's browser session, as the video page plays it
    stranger = Client()
    stranger.force_login(other_user)
    page = owner.get(f"/v/{video.id}")
    assert page.status_code == 200
    for path in paths:
        response = owner.get(url(video, path))
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "private, no-store"  # never kept by a shared cache
        assert url(video, path).startswith("/media/") and content(response)
        for viewer in (stranger, client, other_api):
            assert viewer.get(url(video, path)).status_code == 404, path
            assert viewer.head(url(video, path)).status_code == 404, path
        ranged = stranger.get(url(video, path), headers={"Range": "bytes=0-10"})
        assert ranged.status_code == 404
        # An API client plays its own private media with the token it already uses.
        assert api.get(url(video, path)).status_code == 200, path
    # Made public, the same URLs play for anyone.
    made_public = api.patch(f"/api/videos/{video.id}", {"visibility": "public"}, content_type="application/json")
    assert made_public.status_code == 200
    for path in paths:
        assert client.get(url(video, path)).status_code == 200, path


# --- what the outputs carry --------------------------------------------------------------------------------

PRIVATE_TAGS = ("location", "creation_time", "make", "model", "title", "date", "gps", "iso6709", "comment")
PRIVATE_VALUES = (b"AcmePhone", b"secret trip", b"48.8577", b"002.2950", b"2020-01-02")


def all_metadata(container: Any) -> dict[str, str]:
    tags = dict(container.metadata)
    for stream in container.streams:
        tags.update({f"{stream.type}:{key}": value for key, value in stream.metadata.items()})
    return tags


def assert_no_private_metadata(data: bytes, fmt: str | None = None) -> None:
    with open_media(data, fmt) as container:
        tags = all_metadata(container)
    assert not [key for key in tags if any(word in key.lower() for word in PRIVATE_TAGS)], tags
    for value in PRIVATE_VALUES:
        assert value not in data, value


def test_served_outputs_carry_no_private_metadata(api: Client, client: Client, phone_clip: Path, upload: Any) -> None:
    source = phone_clip.read_bytes()
    # The source really does carry what must not come out (so the checks below can fail).
    with open_media(source) as container:
        tags = all_metadata(container)
    for key in ("location", "creation_time", "make", "model", "title", "com.apple.quicktime.location.ISO6709"):
        assert key in tags, tags
    assert tags["video:creation_time"].startswith("2020-01-02")
    assert all(value in source for value in PRIVATE_VALUES)

    video = ready(api, upload, phone_clip)
    mp4 = content(client.get(url(video, "video.mp4")))
    segment = content(client.get(url(video, "hls/320p/seg_00000.ts")))
    assert_no_private_metadata(mp4)
    assert_no_private_metadata(segment, "mpegts")
    for path in ("hls/master.m3u8", "hls/320p/index.m3u8", "poster.jpg", "preview_1.jpg"):
        data = content(client.get(url(video, path)))
        assert data and not any(value in data for value in PRIVATE_VALUES), path
    assert b"Exif" not in content(client.get(url(video, "poster.jpg")))

    with open_media(mp4) as container:
        assert container.duration / av.time_base == pytest.approx(2.0, abs=0.15)
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (320, 568)  # the source's own size: no upscaling


def test_rotated_phone_video_comes_out_upright(
    api: Client, client: Client, clips: dict[str, Path], upload: Any
) -> None:
    with open_media(clips["rotated"].read_bytes()) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (568, 320) and frame.rotation != 0  # stored sideways

    video = ready(api, upload, clips["rotated"])
    assert (video.width, video.height) == (320, 568)
    for path, fmt in (("video.mp4", None), ("hls/320p/seg_00000.ts", "mpegts")):
        with open_media(content(client.get(url(video, path))), fmt) as container:
            frame = next(container.decode(video=0))
            assert frame.width < frame.height, path
            assert (frame.width, frame.height) == (320, 568), path
            assert frame.rotation == 0, path  # upright pixels, no display matrix left for a player to apply
    poster = content(client.get(url(video, "poster.jpg")))
    with open_media(poster) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (320, 568)


def test_small_and_landscape_sources_are_never_upscaled(
    api: Client, client: Client, clips: dict[str, Path], upload: Any
) -> None:
    for kind, size, names in (("portrait", (320, 568), ["320p"]), ("landscape", (640, 360), ["360p"])):
        video = ready(api, upload, clips[kind])
        assert [r["name"] for r in video.renditions] == names
        master = content(client.get(url(video, "hls/master.m3u8"))).decode()
        assert re.findall(r"RESOLUTION=(\d+)x(\d+)", master) == [(str(size[0]), str(size[1]))]
        for path, fmt in (("video.mp4", None), (f"hls/{names[0]}/seg_00000.ts", "mpegts")):
            with open_media(content(client.get(url(video, path))), fmt) as container:
                frame = next(container.decode(video=0))
                assert (frame.width, frame.height) == size, (kind, path)
                if fmt is None:
                    assert container.duration / av.time_base == pytest.approx(2.0, abs=0.15)


def test_silent_source_gives_silent_outputs(api: Client, client: Client, clips: dict[str, Path], upload: Any) -> None:
    video = ready(api, upload, clips["silent"])
    master = content(client.get(url(video, "hls/master.m3u8"))).decode()
    assert "mp4a" not in master and 'CODECS="avc1.640028"' in master
    with open_media(content(client.get(url(video, "video.mp4")))) as container:
        assert len(container.streams.audio) == 0 and len(container.streams.video) == 1
        assert container.duration / av.time_base == pytest.approx(2.0, abs=0.15)
