"""``reelm worker --queue NAME`` consumes that queue alone, and a signal stops every queue's consumer.

Real processes on the embedded default: ``reelm manage shell`` queues one task on each queue, the way the web
processes do, into the data directory's SQLite queue; a real ``reelm worker`` takes what it should.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.live import child_env, reelm_bin, start, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MISSING_VIDEO = uuid.UUID(int=1)
# One task on each queue, each harmless: a video that does not exist, a viewer that does not exist.
ENQUEUE = f"""
import uuid
from reelm.videos.tasks import transcode_video
from reelm.recommend.tasks import pool_refresh
transcode_video("{MISSING_VIDEO}")
pool_refresh(uuid.UUID(int=2))
"""


def _pending(data_dir: Path) -> dict[str, int]:
    """Tasks waiting in each queue of the data directory's SQLite queue file."""
    with sqlite3.connect(data_dir / "queue.sqlite3") as db:
        rows = db.execute("SELECT queue, count(*) FROM task GROUP BY queue").fetchall()
    counts = {"transcode": 0, "recommend": 0}
    counts.update({queue.removeprefix("reelm."): count for queue, count in rows})
    return counts


def _prepared(tmp_path: Path) -> tuple[dict[str, str], Path]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = child_env(data_dir)
    for command in (["migrate"], ["manage", "shell", "-c", ENQUEUE]):
        done = subprocess.run([reelm_bin(), *command], env=env, cwd=data_dir, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert _pending(data_dir) == {"transcode": 1, "recommend": 1}
    return env, data_dir


@pytest.mark.parametrize(("consumed", "left"), [("transcode", "recommend"), ("recommend", "transcode")])
def test_a_worker_consumes_only_the_queues_it_is_given(tmp_path: Path, consumed: str, left: str) -> None:
    env, data_dir = _prepared(tmp_path)
    worker = start("worker", ["worker", "--queue", f"{consumed}=1"], env, tmp_path)
    try:
        wait_for(
            lambda: _pending(data_dir)[consumed] == 0,
            timeout=60,
            message=lambda: f"the {consumed} task was never taken: {_pending(data_dir)}\n{worker.log_text()}",
        )
        if consumed == "transcode":
            wait_for(
                lambda: f"video {MISSING_VIDEO} no longer exists" in worker.log_text(),
                timeout=30,
                message=worker.log_text,
            )
        time.sleep(2)  # many polls of the other queue, had the worker been looking at it
        assert _pending(data_dir)[left] == 1, worker.log_text()
        assert f"consuming queue {consumed} with 1 thread(s)" in worker.log_text()
        assert f"consuming queue {left}" not in worker.log_text()
    finally:
        worker.stop()
    assert worker.popen.returncode == 0, worker.log_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_queue_of_the_worker(tmp_path: Path, signum: int) -> None:
    env, data_dir = _prepared(tmp_path)
    worker = start("worker", ["worker", "--threads", "1"], env, tmp_path)
    try:
        wait_for(
            lambda: _pending(data_dir) == {"transcode": 0, "recommend": 0},
            timeout=60,
            message=lambda: f"tasks left: {_pending(data_dir)}\n{worker.log_text()}",
        )
        for name in ("transcode", "recommend"):
            assert f"consuming queue {name} with 1 thread(s)" in worker.log_text()
        worker.popen.send_signal(signum)
        assert worker.popen.wait(timeout=30) == 0, worker.log_text()
    finally:
        worker.stop()
    log = worker.log_text()
    assert f"received {signal.Signals(signum).name}" in log and "worker stopped" in log, log
    assert "Traceback" not in log, log
