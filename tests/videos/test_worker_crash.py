"""A worker killed mid-transcode: nothing partial is served, ffmpeg dies with it, and another worker finishes the job.

Real processes only: ``reelm serve`` (gunicorn) and two ``reelm worker`` (huey) processes share one data directory
and the configured database and queue (SQLite files on the embedded default; PostgreSQL and Redis in the scaled
run). The test talks to them over HTTP and SIGKILLs the worker whose ffmpeg is running. The queue handed that worker
the task and forgot it (huey pops a message), so only the periodic recovery of stalled videos, run by the surviving
worker, can bring the task back: the test proves it does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import (
    Http,
    ReelmProcess,
    child_env,
    dump_logs_on_failure,
    processes,
    reelm_bin,
    start,
    start_server,
    wait_for,
)
from tests.scale.backends import on_scaled_servers, process_backends

# The recovery runs once a minute: a takeover may wait that long after the dead worker's lease runs out.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(330)]

LEASE_SECONDS = 3
BACKEND = "postgresql+redis" if on_scaled_servers() else "sqlite"


def _ffmpeg_children(worker: ReelmProcess) -> list[tuple[int, str]]:
    """(pid, work directory) of every ffmpeg the worker process is running right now."""
    return [(p.pid, p.cwd) for p in processes() if p.ppid == worker.pid and "ffmpeg" in p.cmdline.split(" ")[0]]


def _attempt_dirs(video_dir: Path) -> dict[str, list[Path]]:
    """Attempt folder name -> the files under it (folders alone do not count)."""
    if not video_dir.exists():
        return {}
    return {d.name: sorted(p for p in d.rglob("*") if p.is_file()) for d in video_dir.iterdir() if d.is_dir()}


@pytest.mark.parametrize("backend", [BACKEND])  # names the configuration in the test id
def test_killed_worker_leaves_nothing_served_and_another_worker_finishes(tmp_path: Path, backend: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    # Long and large enough that the ladder (720p, 480p, 360p) takes many seconds even on a fast machine.
    clip = make_clip(tmp_path / "long.mp4", size="720x1280", duration=15)
    started: list[ReelmProcess] = []
    with process_backends("crash") as backends:
        env = child_env(data_dir, keep_backends=True, REELM_TRANSCODE_LEASE_SECONDS=str(LEASE_SECONDS), **backends)
        migrate = subprocess.run([reelm_bin(), "migrate"], env=env, cwd=data_dir, capture_output=True, timeout=120)
        assert migrate.returncode == 0, f"reelm migrate failed:\n{migrate.stdout.decode()}{migrate.stderr.decode()}"
        try:
            with dump_logs_on_failure(lambda: started):
                web = start_server("web", "serve", env, logs, "--workers", "1", "--threads", "4")
                started.append(web)
                workers = [start(f"worker-{n}", ["worker", "--threads", "1"], env, logs) for n in (1, 2)]
                started.extend(workers)
                _crash_and_recover(web, workers, data_dir, clip)
        finally:
            for proc in reversed(started):
                proc.stop()


def _crash_and_recover(web: ReelmProcess, workers: list[ReelmProcess], data_dir: Path, clip: Path) -> None:
    anonymous = Http(web.base_url)
    created = anonymous.post("/api/accounts", json_body={"username": "crashtest", "password": PASSWORD})
    assert created.status == 201, created.body
    session = Http(web.base_url)  # the owner's browser session: it may see the video while it is processing
    session.login("crashtest", PASSWORD)
    api = Http(web.base_url, token=session.create_token("worker crash test"))

    uploaded = api.upload(clip, caption="killed mid-transcode", visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = uploaded.json()["id"]
    media = f"/media/videos/{video_id}/"
    video_dir = data_dir / "media" / "videos" / video_id

    def fetch() -> dict:
        response = api.get(f"/api/videos/{video_id}")
        assert response.status == 200, response.body
        return response.json()

    # --- wait until the transcode is under way, partially published, with ffmpeg running ------------------
    def mid_transcode() -> tuple[dict, ReelmProcess, list[tuple[int, str]]] | None:
        data = fetch()
        assert data["state"] in ("uploaded", "processing"), f"the transcode ended before the kill: {data}"
        if data["state"] != "processing" or not data["playable_at"]:
            return None
        running = [(worker, ffmpegs) for worker in workers if (ffmpegs := _ffmpeg_children(worker))]
        return (data, *running[0]) if running else None

    data, worker, ffmpegs = wait_for(
        mid_transcode, timeout=60, interval=0.1, message="the video never became playable with ffmpeg running"
    )
    web_priority = os.getpriority(os.PRIO_PROCESS, web.pid)
    for pid in [worker.pid, *(p for p, _ in ffmpegs)]:  # REELM_WORKER_NICE: background work yields to pages
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, web_priority + 10), pid
    killed_workdirs = {cwd for _, cwd in ffmpegs}
    assert all(killed_workdirs), f"could not read ffmpeg's working directory: {ffmpegs}"
    attempts_before = _attempt_dirs(video_dir)
    assert len(attempts_before) == 1, f"expected one attempt folder, found {attempts_before}"
    killed_attempt = next(iter(attempts_before))
    assert attempts_before[killed_attempt], "the running attempt has published nothing yet"

    # The owner's session does see what a live attempt has published (so the 404s below are not about login).
    # (Polled: on a loaded machine the lease may lapse for a moment before the worker renews it.)
    def live_playlist() -> bool:
        live = session.get(data["urls"]["hls_live"])
        return live.status == 200 and live.body.startswith(b"#EXTM3U")

    wait_for(live_playlist, timeout=5, message="the owner cannot get the live playlist of a running transcode")

    # --- kill the worker, as the OOM killer would: only its own process, not its ffmpeg ------------------
    os.kill(worker.pid, signal.SIGKILL)
    worker.popen.wait(timeout=10)
    assert worker.popen.returncode == -signal.SIGKILL

    def ffmpeg_survivors() -> list[str]:
        return [
            f"pid {p.pid} ({p.state}) cwd={p.cwd} {p.cmdline[:200]}"
            for p in processes()
            if p.cwd in killed_workdirs or any(d in p.cmdline for d in killed_workdirs)
        ]

    # ffmpeg runs with PR_SET_PDEATHSIG: the kernel kills it the moment the worker dies. Without that it would
    # keep encoding for many more seconds (its remaining work), so a short bound tells the two apart.
    wait_for(
        lambda: not ffmpeg_survivors(),
        timeout=3,
        interval=0.1,
        message=lambda: f"ffmpeg outlived its killed worker: {ffmpeg_survivors()}",
    )
    worker.kill_group()  # nothing should be left in the group; make sure for the rest of the test

    # --- the half-made attempt is never served as the video, not even after the lease runs out ------------
    def assert_nothing_partial_served() -> None:
        state = fetch()
        assert state["state"] == "processing", state
        assert state["urls"]["hls"] is None and state["urls"]["mp4"] is None, state
        for path in ("hls/master.m3u8", "video.mp4", "poster.jpg"):
            response = session.get(media + path)
            assert response.status == 404, f"{path} answered {response.status} for a video killed mid-transcode"

    assert_nothing_partial_served()
    time.sleep(LEASE_SECONDS + 1)  # deliberately let the dead worker's lease run out, then look again
    assert_nothing_partial_served()

    # --- the other worker, running all along, takes the video over and finishes it ---------------------------
    survivor = next(w for w in workers if w is not worker)
    assert survivor.alive(), survivor.log_text()

    def finished() -> dict | None:
        data = fetch()
        return data if data["state"] in ("ready", "failed") else None

    ready = wait_for(
        finished,
        timeout=60 + 150,  # the next minute's recovery, then a whole transcode on a busy machine
        interval=0.5,
        message=lambda: f"the surviving worker never finished the video: {fetch()}",
    )
    assert f"video {video_id}: transcode attempt 2 (takeover)" in survivor.log_text()
    assert ready["state"] == "ready", f"the retried transcode failed: {ready['failure_reason']}"
    assert ready["urls"]["hls"] == media + "hls/master.m3u8", ready["urls"]

    viewer = Http(web.base_url)  # a public, ready video is served to everyone
    master = viewer.get(media + "hls/master.m3u8")
    assert master.status == 200, master.body[:300]
    assert master.content_type == "application/vnd.apple.mpegurl", master.content_type
    playlists = [line for line in master.body.decode().splitlines() if line and not line.startswith("#")]
    assert master.body.startswith(b"#EXTM3U") and len(playlists) == 3, master.body
    for playlist in playlists:
        rendition = viewer.get(media + "hls/" + playlist)
        assert rendition.status == 200, f"{playlist} answered {rendition.status}"
        assert b"#EXT-X-ENDLIST" in rendition.body, f"{playlist} is not complete: {rendition.body[:300]!r}"
    mp4 = viewer.get(media + "video.mp4")
    assert mp4.status == 200, mp4.body[:300]
    assert mp4.content_type == "video/mp4", mp4.content_type
    assert mp4.body[4:8] == b"ftyp" and len(mp4.body) > 50_000, (len(mp4.body), mp4.body[:16])

    # --- storage: only the published attempt holds files; the killed attempt was cleaned up ----------------
    attempts_after = _attempt_dirs(video_dir)
    with_files = {name: files for name, files in attempts_after.items() if files}
    assert killed_attempt not in with_files, (
        f"the killed attempt {killed_attempt} left files behind: {[str(p) for p in with_files[killed_attempt]]}"
    )
    assert len(with_files) == 1, f"expected exactly one attempt folder with files, found {list(with_files)}"
    published = video_dir / next(iter(with_files))
    assert (published / "hls" / "master.m3u8").read_bytes() == master.body
    assert (published / "video.mp4").stat().st_size == len(mp4.body)
