"""Shared fixtures: real clips made by ffmpeg, an isolated object store per test, accounts and API clients."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import token_create, user_create
from reelm.core import bus
from reelm.core.queues import set_immediate
from reelm.recommend.index import video_index_reset
from reelm.recommend.pool import video_facts_forget
from reelm.recommend.ranker_store import ranker_forget_cached
from reelm.storage import registry
from reelm.storage.base import ObjectStore
from reelm.transcode.ffmpeg import ffmpeg_path

PASSWORD = "a long test passphrase 42"


@pytest.fixture(autouse=True)
def media_store(settings: Any, tmp_path: Path) -> Iterator[ObjectStore]:
    """Every test gets its own empty local object store."""
    settings.REELM_STORAGE_URL = (tmp_path / "media").as_uri()
    registry._cached.cache_clear()
    yield registry.media_store()
    registry._cached.cache_clear()


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Tests roll their rows back but the shared cache keeps what they put there: start each one empty."""
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_recommender() -> Iterator[None]:
    """Each test starts with no video index, no cached ranker and no cached video facts in this process: their rows
    roll back, and what a process remembers of them must not leak into the next test."""
    video_index_reset()
    ranker_forget_cached()
    video_facts_forget()
    yield
    video_index_reset()
    ranker_forget_cached()
    video_facts_forget()


@pytest.fixture(autouse=True, scope="session")
def events_delivered_inline() -> Iterator[None]:
    """Test transactions roll back and never commit: deliver each event as it is emitted instead.
    tests/core/test_bus.py checks delivery on commit; real-process tests see it end to end."""
    with bus.delivered_inline():
        yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Accounts made for tests need no slow password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def immediate_queue() -> Iterator[None]:
    """Tasks of every queue run inline in tests that use the ORM; worker-process tests start real consumers
    instead."""
    set_immediate(True)
    yield
    set_immediate(False)


def make_clip(
    path: Path,
    *,
    size: str = "320x568",
    duration: float = 2,
    audio: bool = True,
    rotate: int | None = None,
    fmt: str = "mp4",
    metadata: bool = False,
    video: bool = True,
) -> Path:
    """Make a real clip with ffmpeg's lavfi sources."""
    cmd = [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        cmd += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={duration}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}"]
    if fmt == "webm":
        codecs = (["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"] if video else []) + (
            ["-c:a", "libopus"] if audio else []
        )
    else:
        codecs = (["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if video else []) + (
            ["-c:a", "aac"] if audio else []
        )
    cmd += codecs
    if metadata:
        cmd += [
            "-metadata", "location=+48.8577+002.2950/", "-metadata", "location-eng=+48.8577+002.2950/",
            "-metadata", "creation_time=2020-01-02T03:04:05Z", "-metadata", "make=AcmePhone",
            "-metadata", "model=AcmePhone 9", "-metadata", "title=secret trip",
        ]  # fmt: skip
    if fmt == "mkv":
        cmd += ["-f", "matroska"]
    cmd.append(str(path))
    subprocess.run(cmd, check=True)
    if rotate is not None:
        rotated = path.with_name(f"rot-{path.name}")
        subprocess.run(
            [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-display_rotation", str(rotate),
             "-i", str(path), "-c", "copy", str(rotated)],
            check=True,
        )  # fmt: skip
        rotated.replace(path)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small library of real clips, made once per session."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "portrait": make_clip(folder / "portrait.mp4", metadata=True),
        "landscape": make_clip(folder / "landscape.mp4", size="640x360"),
        # Stored 568x320 with a 90° display matrix: a phone video filmed upright.
        "rotated": make_clip(folder / "rotated.mp4", size="568x320", rotate=90),
        "silent": make_clip(folder / "silent.mp4", audio=False),
        "webm": make_clip(folder / "clip.webm", fmt="webm"),
        "mkv": make_clip(folder / "clip.mkv", fmt="mkv"),
        "audio_only": make_clip(folder / "audio.mp4", video=False),
    }


@pytest.fixture
def user(db: None) -> User:
    return user_create(username="alice", password=PASSWORD, display_name="Alice")


@pytest.fixture
def other_user(db: None) -> User:
    return user_create(username="bob", password=PASSWORD, display_name="Bob")


@pytest.fixture
def token(user: User) -> str:
    return token_create(user=user, name="tests").secret


@pytest.fixture
def api(token: str) -> Client:
    """A client that authenticates as ``user`` with a personal access token."""
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def other_api(other_user: User) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_create(user=other_user, name='t').secret}"})


@pytest.fixture
def upload(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> Callable[..., Any]:
    """POST a file to /api/videos and run what the request queued on commit (the transcode, inline)."""

    def _upload(client: Client, path: Path, *, name: str | None = None, **fields: str) -> Any:
        with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
            data = {"file": handle, **fields}
            if name is not None:
                from django.core.files.uploadedfile import SimpleUploadedFile

                data["file"] = SimpleUploadedFile(name, handle.read())
            return client.post("/api/videos", data)

    return _upload
