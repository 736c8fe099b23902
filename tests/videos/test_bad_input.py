"""Hostile and broken uploads: each gets a clear 4xx JSON error and leaves nothing behind.

"Nothing behind" means: no Video row, no object in the media store, no upload temp file and no transcode work
directory. Every file here is real (made by ffmpeg or written by hand); nothing is mocked.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reelm.core.errors import PayloadTooLarge
from reelm.storage.base import ObjectStore
from reelm.transcode.ffmpeg import ffmpeg_path
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag
from reelm.videos.uploads import FORM_OVERHEAD, LimitedTemporaryFileUploadHandler
from tests.conftest import make_clip
from tests.helpers import assert_error

# --- helpers -----------------------------------------------------------------------------------------------


def multipart(filename: str, content: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name goes over the wire exactly as given."""
    boundary = f"reelm{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: video/mp4\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class CountingInput:
    """A WSGI input stream that counts the body bytes the server actually read."""

    def __init__(self, data: bytes):
        self.data = data
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self.data) - self.consumed
        chunk = self.data[self.consumed : self.consumed + size]
        self.consumed += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        rest = self.data[self.consumed :]
        end = rest.find(b"\n") + 1 or len(rest)
        if size is not None and size >= 0:
            end = min(end, size)
        self.consumed += end
        return rest[:end]


@pytest.fixture
def upload_tmp(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's temporary files (upload spools, transcode work directories) go to a folder of its own, so a
    leftover can be seen (and other processes' temporary files are not mistaken for ours)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def no_side_effects(db: None, media_store: ObjectStore, upload_tmp: Path) -> Iterator[None]:
    """After the test: no video rows, nothing stored, no temporary file or work directory left."""
    yield
    assert Video.objects.count() == 0
    assert VideoHashtag.objects.count() == 0 and Mention.objects.count() == 0 and Hashtag.objects.count() == 0
    assert list(media_store.list()) == []
    assert list(upload_tmp.iterdir()) == []


def post_file(client: Client, name: str, content: bytes, **fields: str) -> Any:
    return client.post("/api/videos", {"file": SimpleUploadedFile(name, content), **fields})


def cut(path: Path, fraction: float) -> bytes:
    data = path.read_bytes()
    return data[: int(len(data) * fraction)]


@pytest.fixture(scope="session")
def faststart_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip with its index (moov) before the media data, as phones and web encoders write them."""
    folder = tmp_path_factory.mktemp("faststart")
    plain = make_clip(folder / "plain.mp4")
    faststart = folder / "faststart.mp4"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(plain), "-c", "copy",
         "-movflags", "+faststart", str(faststart)],
        check=True,
    )  # fmt: skip
    return faststart


def moov_end(data: bytes) -> int:
    """Offset just past the top-level moov box."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        if kind == b"moov":
            return offset + size
        offset += size
    raise AssertionError("no moov box")


# --- not a video at all ------------------------------------------------------------------------------------

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>\n'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
TEXT = b"just some text, honestly not a video\n" * 20


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(b"", "empty_file", id="empty"),
        pytest.param(TEXT, "not_a_video", id="text"),
        pytest.param(HTML, "not_a_video", id="html"),
        pytest.param(SVG, "not_a_video", id="svg"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not_a_video", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "not_a_video", id="jpeg"),
    ],
)
def test_non_video_named_mp4_is_refused(api: Client, no_side_effects: None, content: bytes, code: str) -> None:
    assert_error(post_file(api, "clip.mp4", content), 415, code)


def test_garbage_behind_a_video_signature_is_refused(api: Client, no_side_effects: None) -> None:
    # The first bytes claim ISO-BMFF (and Matroska); the demuxer then finds nothing it can read.
    assert_error(post_file(api, "a.mp4", b"\x00\x00\x00\x18ftypisom" + os.urandom(4096)), 415, "unreadable")
    assert_error(post_file(api, "a.mkv", b"\x1a\x45\xdf\xa3" + os.urandom(4096)), 415, "unreadable")


def test_audio_only_file_is_refused(api: Client, clips: dict[str, Path], no_side_effects: None) -> None:
    assert_error(post_file(api, "song.mp4", clips["audio_only"].read_bytes()), 415, "no_video")


def test_unsupported_video_codec_is_refused(api: Client, tmp_path: Path, no_side_effects: None) -> None:
    path = tmp_path / "mjpeg.mov"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "mjpeg", str(path)],
        check=True,
    )  # fmt: skip
    error = assert_error(post_file(api, "mjpeg.mp4", path.read_bytes()), 415, "unsupported_codec")
    assert "mjpeg" in error["message"]


# --- truncated videos --------------------------------------------------------------------------------------


def test_mp4_cut_in_half_is_refused(api: Client, clips: dict[str, Path], no_side_effects: None) -> None:
    # ffmpeg writes the index (moov) last, so half a file has no index at all.
    assert_error(post_file(api, "half.mp4", cut(clips["portrait"], 0.5)), 415, "unreadable")


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_faststart_mp4_cut_after_its_index_is_refused(
    api: Client, faststart_clip: Path, no_side_effects: None, fraction: float
) -> None:
    data = faststart_clip.read_bytes()
    end = int(len(data) * fraction)
    assert end > moov_end(data) + 1000  # the whole index survives; only media data is missing
    assert_error(post_file(api, "cut.mp4", data[:end]), 415, "truncated")


def test_faststart_mp4_cut_just_after_its_index_is_refused(
    api: Client, faststart_clip: Path, no_side_effects: None
) -> None:
    data = faststart_clip.read_bytes()
    response = post_file(api, "cut.mp4", data[: moov_end(data) + 16])
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] in {"truncated", "undecodable"}


@pytest.mark.parametrize("kind", ["mkv", "webm"])
def test_matroska_cut_in_half_is_refused(api: Client, clips: dict[str, Path], no_side_effects: None, kind: str) -> None:
    response = post_file(api, f"half.{kind}", cut(clips[kind], 0.5))
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] in {"truncated", "unreadable"}


def test_whole_faststart_clip_is_accepted(api: Client, faststart_clip: Path, upload: Any) -> None:
    """The control for the cuts above: the same file, whole, goes through."""
    response = upload(api, faststart_clip)
    assert response.status_code == 201, response.content
    assert Video.objects.get(id=response.json()["id"]).state == "ready"


# --- limits ------------------------------------------------------------------------------------------------


def test_video_over_the_duration_limit_is_refused(
    api: Client, clips: dict[str, Path], settings: Any, no_side_effects: None
) -> None:
    settings.REELM_MAX_DURATION_SECONDS = 1
    error = assert_error(post_file(api, "long.mp4", clips["portrait"].read_bytes()), 422, "video_too_long")
    assert "1 s" in error["message"]


def test_video_over_the_dimension_limit_is_refused(
    api: Client, clips: dict[str, Path], settings: Any, no_side_effects: None
) -> None:
    settings.REELM_MAX_DIMENSION = 500  # the portrait clip is 320x568
    error = assert_error(post_file(api, "big.mp4", clips["portrait"].read_bytes()), 422, "video_too_large")
    assert "320×568" in error["message"]


def test_limits_that_fit_let_the_clip_through(api: Client, clips: dict[str, Path], settings: Any, upload: Any) -> None:
    """The control for the limit tests: the same clip under limits it fits passes."""
    settings.REELM_MAX_DURATION_SECONDS = 3
    settings.REELM_MAX_DIMENSION = 568
    settings.REELM_MAX_UPLOAD_BYTES = clips["portrait"].stat().st_size
    assert upload(api, clips["portrait"]).status_code == 201


def test_declared_length_over_the_limit_is_refused_before_reading_the_body(
    api: Client, clips: dict[str, Path], settings: Any, no_side_effects: None
) -> None:
    settings.REELM_MAX_UPLOAD_BYTES = 1024 * 1024
    body, content_type = multipart("clip.mp4", clips["portrait"].read_bytes())
    stream = CountingInput(body)
    declared = settings.REELM_MAX_UPLOAD_BYTES + FORM_OVERHEAD + 1
    response = api.generic(
        "POST",
        "/api/videos",
        content_type=content_type,
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(declared),
        **{"wsgi.input": stream},
    )
    error = assert_error(response, 413, "payload_too_large")
    assert "1 MiB" in error["message"]
    assert stream.consumed == 0


def test_body_growing_past_the_limit_is_cut_off_while_streaming(
    api: Client, clips: dict[str, Path], settings: Any, no_side_effects: None
) -> None:
    data = clips["portrait"].read_bytes()
    settings.REELM_MAX_UPLOAD_BYTES = 100 * 1024
    assert len(data) > 3 * settings.REELM_MAX_UPLOAD_BYTES
    body, content_type = multipart("clip.mp4", data)
    assert len(body) < settings.REELM_MAX_UPLOAD_BYTES + FORM_OVERHEAD  # the declared length passes the gate
    stream = CountingInput(body)
    response = api.generic(
        "POST",
        "/api/videos",
        content_type=content_type,
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": stream},
    )
    assert_error(response, 413, "payload_too_large")
    # Refused while arriving: the rest of the body was never read (let alone stored).
    assert stream.consumed < len(body) // 2


def test_upload_handler_refuses_a_declared_length_over_the_limit(settings: Any) -> None:
    settings.REELM_MAX_UPLOAD_BYTES = 1000
    handler = LimitedTemporaryFileUploadHandler()
    with pytest.raises(PayloadTooLarge):
        handler.handle_raw_input(None, {}, 1000 + FORM_OVERHEAD + 1, b"x")
    handler.handle_raw_input(None, {}, 1000 + FORM_OVERHEAD, b"x")  # at the limit: accepted


def test_upload_handler_aborts_and_deletes_its_temp_file_past_the_limit(settings: Any, upload_tmp: Path) -> None:
    settings.REELM_MAX_UPLOAD_BYTES = 1000
    handler = LimitedTemporaryFileUploadHandler()
    handler.handle_raw_input(None, {}, 0, b"x")  # no declared length (chunked): only the count can stop it
    handler.new_file("file", "clip.mp4", "video/mp4", None)
    temp = Path(handler.file.temporary_file_path())
    assert temp.parent == upload_tmp and temp.exists()
    handler.receive_data_chunk(b"a" * 600, 0)
    handler.receive_data_chunk(b"a" * 400, 600)  # exactly the limit
    handler.file.flush()
    assert temp.stat().st_size == 1000
    with pytest.raises(PayloadTooLarge):
        handler.receive_data_chunk(b"a", 1000)
    assert not temp.exists()
    assert list(upload_tmp.iterdir()) == []


def test_html_upload_form_over_the_limit_is_refused(
    client: Client, user: Any, clips: dict[str, Path], settings: Any, no_side_effects: None
) -> None:
    settings.REELM_MAX_UPLOAD_BYTES = 100 * 1024
    client.force_login(user)
    with open(clips["portrait"], "rb") as handle:
        response = client.post("/upload", {"file": handle, "caption": "", "visibility": "public"})
    assert response.status_code == 413


def test_html_upload_form_refuses_a_non_video(client: Client, user: Any, no_side_effects: None) -> None:
    client.force_login(user)
    response = client.post(
        "/upload", {"file": SimpleUploadedFile("x.mp4", HTML), "caption": "", "visibility": "public"}
    )
    assert response.status_code == 400
    assert b"not a video" in response.content
    assert b"<script>alert(document.cookie)" not in response.content


# --- caption and visibility --------------------------------------------------------------------------------


def test_caption_over_the_limit_is_refused(api: Client, clips: dict[str, Path], no_side_effects: None) -> None:
    response = post_file(api, "clip.mp4", clips["portrait"].read_bytes(), caption="#x " + "a" * 2200)
    assert_error(response, 400, "caption_too_long")


@pytest.mark.parametrize("visibility", ["secret", "PUBLIC", ""])
def test_unknown_visibility_is_refused(
    api: Client, clips: dict[str, Path], no_side_effects: None, visibility: str
) -> None:
    response = post_file(api, "clip.mp4", clips["portrait"].read_bytes(), visibility=visibility)
    assert_error(response, 400, "invalid_visibility")


def test_upload_without_a_file_is_a_validation_error(api: Client, no_side_effects: None) -> None:
    error = assert_error_with_details(api.post("/api/videos", {"caption": "no file"}))
    assert any(detail["field"].endswith("file") for detail in error["details"])


def assert_error_with_details(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert error["details"] and all(set(d) == {"field", "message"} for d in error["details"])
    return error


def test_malformed_multipart_body_is_a_json_400(api: Client, no_side_effects: None) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n' + b"x" * 4096
    response = api.generic("POST", "/api/videos", body, content_type="multipart/form-data; boundary=b")
    assert_error(response, 400, "bad_request")


def test_upload_without_authentication_is_refused(
    client: Client, clips: dict[str, Path], no_side_effects: None
) -> None:
    assert_error(post_file(client, "clip.mp4", clips["portrait"].read_bytes()), 401, "unauthenticated")
    bad_token = Client(headers={"Authorization": "Bearer reelm_not-a-real-token"})
    assert_error(post_file(bad_token, "clip.mp4", clips["portrait"].read_bytes()), 401, "unauthenticated")


# --- playlists that would make FFmpeg fetch other files ----------------------------------------------------

IN_ACCESS, IN_OPEN = 0x1, 0x20


class OpenWatcher:
    """Reports whether anything opened or read a file (inotify), to prove FFmpeg never followed a reference."""

    def __init__(self, path: Path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, ctypes.get_errno()
        assert self.libc.inotify_add_watch(self.fd, str(path).encode(), IN_OPEN | IN_ACCESS) >= 0

    def touched(self) -> bool:
        try:
            return bool(os.read(self.fd, 4096))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self.fd)


class Listener:
    """A throwaway TCP listener that records whether anyone connected to it."""

    def __init__(self, port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def traps(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A canary file and TCP listeners (one on 127.0.0.1:9 when it can be bound) that a playlist points at."""
    canary = tmp_path / "canary.ts"
    canary.write_bytes(b"\x47" + b"\x00" * 187)
    listeners = [Listener()]
    with contextlib.suppress(OSError):  # port 9 may be taken or need privileges; the other listener still proves it
        listeners.append(Listener(9))
    watcher = OpenWatcher(canary)
    yield {"canary": canary, "listeners": listeners, "watcher": watcher}
    # The traps themselves work: an open and a connection made now are seen.
    canary.read_bytes()
    assert watcher.touched()
    for listener in listeners:
        socket.create_connection(("127.0.0.1", listener.port), timeout=2).close()
        assert listener.connected()
        listener.close()
    watcher.close()


def hls_playlist(traps: dict[str, Any]) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    for uri in [
        "file:///etc/passwd",
        f"file://{traps['canary']}",
        str(traps["canary"]),
        *(f"http://127.0.0.1:{listener.port}/x.ts" for listener in traps["listeners"]),
        "http://127.0.0.1:9/x.ts",
    ]:
        lines += ["#EXTINF:2.0,", uri]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


def ffconcat_playlist(traps: dict[str, Any]) -> bytes:
    lines = ["ffconcat version 1.0", "file '/etc/passwd'", f"file '{traps['canary']}'"]
    lines += [f"file 'http://127.0.0.1:{listener.port}/x.ts'" for listener in traps["listeners"]]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux-only")
@pytest.mark.parametrize("kind", ["hls", "ffconcat"])
@pytest.mark.parametrize("name", ["clip.mp4", "playlist.m3u8", "list.ffconcat"])
def test_playlist_is_refused_without_following_its_references(
    api: Client, no_side_effects: None, traps: dict[str, Any], kind: str, name: str
) -> None:
    content = hls_playlist(traps) if kind == "hls" else ffconcat_playlist(traps)
    assert_error(post_file(api, name, content), 415, "not_a_video")
    assert not traps["watcher"].touched()
    assert not any(listener.connected() for listener in traps["listeners"])


@pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux-only")
@pytest.mark.parametrize("prefix", [b"\x00\x00\x00\x08free", b"\x1a\x45\xdf\xa3"], ids=["mp4-box", "ebml"])
def test_playlist_behind_a_video_signature_is_not_followed(
    api: Client, no_side_effects: None, traps: dict[str, Any], prefix: bytes
) -> None:
    # Past the sniffer, the demuxer is forced to MP4/Matroska, which never reads a playlist.
    response = post_file(api, "clip.mp4", prefix + b"\n" + hls_playlist(traps))
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] in {"unreadable", "not_a_video"}
    assert not traps["watcher"].touched()
    assert not any(listener.connected() for listener in traps["listeners"])


# --- hostile file names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    ["../../../../../../tmp/reelm-evil\x00.sh", "..\\..\\reelm-evil.mp4", "/etc/reelm-evil.mp4", "..", "é 🎬 \x00.mp4"],
)
def test_hostile_file_name_is_ignored(
    api: Client,
    clips: dict[str, Path],
    media_store: ObjectStore,
    upload_tmp: Path,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
    filename: str,
) -> None:
    body, content_type = multipart(filename, clips["portrait"].read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = api.generic("POST", "/api/videos", body, content_type=content_type)
    if filename == "..":
        # Django's multipart parser refuses a file part named only "..": a plain 400, still in the API's shape.
        assert_error(response, 400, "bad_request")
        assert Video.objects.count() == 0 and list(media_store.list()) == []
        assert list(upload_tmp.iterdir()) == []
        return
    assert response.status_code == 201, response.content
    video = Video.objects.get(id=response.json()["id"])
    assert video.state == "ready", video.failure_reason
    assert video.source_key == f"originals/{video.id}/source.mp4"
    keys = [info.key for info in media_store.list()]
    assert f"originals/{video.id}/source.mp4" in keys
    assert all(key.startswith((f"originals/{video.id}/", f"videos/{video.id}/")) for key in keys), keys
    assert not any("evil" in key or ".." in key for key in keys)
    # Nothing landed outside the store under the name given.
    leftovers = [p for p in tmp_path.rglob("*") if "evil" in p.name]
    assert leftovers == []
    assert not Path("/tmp/reelm-evil").exists() and not Path("/etc/reelm-evil.mp4").exists()
    assert list(upload_tmp.iterdir()) == []


# --- captions are data, not markup -------------------------------------------------------------------------

XSS = '<script>x</script><img src=x onerror="alert(1)"> #Tag @bob </textarea>"\'&'


def test_script_in_caption_is_stored_verbatim_and_escaped_on_the_page(
    api: Client, client: Client, other_user: Any, clips: dict[str, Path], upload: Any
) -> None:
    response = upload(api, clips["silent"], caption=XSS)
    assert response.status_code == 201, response.content
    video_id = response.json()["id"]
    detail = client.get(f"/api/videos/{video_id}").json()
    assert detail["caption"] == XSS  # JSON carries the text exactly as written
    assert detail["hashtags"] == ["tag"] and detail["mentions"] == ["bob"]
    page = client.get(f"/v/{video_id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>x" not in html and "<img src=x" not in html and '</textarea>"' not in html
    assert "&lt;script&gt;x&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    # The page's embedded JSON is escaped for a script element too.
    assert "\\u003Cscript\\u003Ex\\u003C/script\\u003E" in html
