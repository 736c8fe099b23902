"""A video plays without a single failed request while its store is migrated, switched and purged.

Real processes only: ``reelm run`` (gunicorn with two web processes, a huey worker) serves a transcoded video;
a player thread fetches its HLS playlists and segments in a loop over HTTP, while ``reelm storage migrate`` runs
in other processes against the same data directory. A second video is uploaded and transcoded mid-migration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.conftest import PASSWORD
from tests.e2e.live import (
    Http,
    ReelmProcess,
    child_env,
    dump_logs_on_failure,
    reelm_bin,
    sign_up_with_token,
    start_server,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass
class Player:
    """Plays videos in a loop like an HLS client: master playlist, each rendition playlist, every segment."""

    http: Http
    videos: list[str]
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def play_once(self, video_id: str) -> None:
        master = self.fetch(f"/media/videos/{video_id}/hls/master.m3u8")
        for playlist in _uris(master):
            rendition_path = urljoin(f"/media/videos/{video_id}/hls/", playlist)
            for segment in _uris(self.fetch(rendition_path)):
                self.fetch(urljoin(rendition_path, segment))
        self.fetch(f"/media/videos/{video_id}/video.mp4", headers={"Range": "bytes=0-65535"})
        self.fetch(f"/media/videos/{video_id}/poster.jpg")

    def fetch(self, path: str, headers: dict[str, str] | None = None) -> bytes:
        self.requests += 1
        try:
            response = self.http.get(path, headers=headers, timeout=20)
        except OSError as exc:
            self.failures.append(f"{path}: {exc}")
            return b""
        if response.status not in (200, 206) or not response.body:
            self.failures.append(f"{path}: {response.status} {response.body[:200]!r}")
        return response.body

    def run(self) -> None:
        while not self.stop.is_set():
            for video_id in list(self.videos):
                self.play_once(video_id)


def _uris(playlist: bytes) -> list[str]:
    return [line for line in playlist.decode(errors="replace").splitlines() if line and not line.startswith("#")]


def _upload_and_wait(api: Http, clip: Path, caption: str) -> str:
    uploaded = api.upload(clip, caption=caption, visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = str(uploaded.json()["id"])

    def ready() -> dict | None:
        data = api.get(f"/api/videos/{video_id}").json()
        assert data["state"] != "failed", data
        return data if data["state"] == "ready" else None

    wait_for(ready, timeout=120, interval=0.5, message=f"video {caption!r} never became ready")
    return video_id


def _storage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [reelm_bin(), "storage", *args], env=env, cwd=env["REELM_DATA_DIR"], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"reelm storage {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _fill(root: Path, count: int = 1200) -> None:
    """Other objects (as account exports would be), so the copy takes seconds and the player meets objects that
    are not copied yet: the reads that must fall back to the old store."""
    folder = root / "exports" / "filler"
    folder.mkdir(parents=True)
    for index in range(count):
        (folder / f"{index}.bin").write_bytes(os.urandom(80_000))


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and "#" not in path.name] if root.exists() else []


def test_playback_never_fails_during_migration_switch_and_purge(tmp_path: Path, clips: dict[str, Path]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = child_env(data)
    old_root, new_root = data / "media", tmp_path / "new-store"
    server: list[ReelmProcess] = []
    with dump_logs_on_failure(lambda: server):
        server.append(
            start_server(
                "reelm-run", "run", env, tmp_path, "--web-workers", "2", "--threads", "4", "--worker-threads", "1"
            )
        )
        try:
            _migrate_while_playing(server[0], env, clips, old_root, new_root)
        finally:
            server[0].stop()


def _migrate_while_playing(
    server: ReelmProcess, env: dict[str, str], clips: dict[str, Path], old_root: Path, new_root: Path
) -> None:
    api = sign_up_with_token(server.base_url, "mover", PASSWORD, token_name="migration test")
    first = _upload_and_wait(api, clips["portrait"], "before the migration")
    player = Player(Http(server.base_url), [first])
    thread = threading.Thread(target=player.run, name="player", daemon=True)
    thread.start()
    try:
        _fill(old_root)
        time.sleep(1)
        _storage(env, "migrate", "--to", new_root.as_uri(), "--concurrency", "2")
        # Uploaded and transcoded while every process writes to both stores.
        second = _upload_and_wait(api, clips["landscape"], "during the migration")
        player.videos.append(second)
        time.sleep(1)
        _storage(env, "migrate", "--to", new_root.as_uri(), "--switch")
        time.sleep(2)  # play on across the moment every process notices the switch
        _storage(env, "migrate", "--to", new_root.as_uri(), "--purge-old")
        time.sleep(2)
    finally:
        player.stop.set()
        thread.join(timeout=60)
    assert not player.failures, f"{len(player.failures)} of {player.requests} requests failed: {player.failures[:10]}"
    assert player.requests > 100, f"the player made only {player.requests} requests"

    # Everything now lives in the new store: the old one is empty, and playing needs nothing from it.
    assert _files(old_root) == [], _files(old_root)[:10]
    shutil.rmtree(old_root)
    again = Player(Http(server.base_url), [first, second])
    for video_id in (first, second):
        again.play_once(video_id)
        assert any(new_root.glob(f"videos/{video_id}/*/hls/master.m3u8")), f"{video_id} is not in the new store"
    assert not again.failures, again.failures
    assert "steady" in _storage(env, "status")
