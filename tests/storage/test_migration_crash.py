"""``reelm storage migrate`` killed with SIGKILL at random points, then resumed: nothing is lost or corrupted.

Real processes: each attempt is the real command in its own process, killed the way the OOM killer would; the test
reads the migration's progress from the same SQLite database the command writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reelm.storage.registry import store_from_url
from tests.e2e.live import child_env, reelm_bin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OBJECTS = 300
KILLS_PER_SEED = 3


def _populate(root: Path, rng: random.Random) -> dict[str, str]:
    written = {}
    for index in range(OBJECTS):
        key = f"videos/v{index % 15}/a{index % 3}/hls/seg-{index}.ts"
        data = rng.randbytes(rng.choice([0, 1_000, 40_000, 300_000, 1_500_000]))
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written[key] = hashlib.sha256(data).hexdigest()
    return written


def _tree(root: Path) -> dict[str, str]:
    """key -> sha256 of every object (a local store's half-written staging files, ``name#n``, are not objects)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and "#" not in path.name
    }


def _verified(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        try:
            row = db.execute("SELECT count(*) FROM storage_migrationobject WHERE state = 'verified'").fetchone()
        except sqlite3.OperationalError:  # a write holds the lock, or the table is not there yet
            return -1
    return int(row[0])


def _kill_at_random_point(command: list[str], env: dict[str, str], rng: random.Random, database: Path) -> str:
    """Start ``command``, SIGKILL it at a random point; returns what the point was (for the failure message)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if rng.random() < 0.5:
            delay = rng.uniform(0.3, 4.0)  # anywhere: start-up, listing, copying, the final listing
            time.sleep(delay)
            point = f"after {delay:.2f} s"
        else:
            threshold = rng.randrange(1, OBJECTS)  # mid-copy, once some results are recorded
            deadline = time.monotonic() + 60
            while _verified(database) < threshold and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            point = f"at {_verified(database)} verified (aimed at {threshold})"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    return point if process.returncode == -signal.SIGKILL else f"{point}, but it had exited {process.returncode}"


# Seeds on local disk, and one each with an emulated cloud store as the target (a killed multipart upload).
CASES = [(1, "file"), (2, "file"), (3, "file"), (4, "s3"), (5, "azure"), (6, "gcs")]


@pytest.mark.parametrize(("seed", "target_kind"), CASES, ids=[f"seed{seed}-{kind}" for seed, kind in CASES])
def test_sigkilled_migration_resumes_to_identical_stores(
    tmp_path: Path, seed: int, target_kind: str, fresh_store_url: Callable[[str], str]
) -> None:
    rng = random.Random(seed)
    target_url = fresh_store_url(target_kind)  # before child_env: it puts the emulator's credentials in os.environ
    data = tmp_path / "data"
    env = child_env(data)
    done = subprocess.run([reelm_bin(), "migrate"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    old = data / "media"
    written = _populate(old, rng)
    database = data / "reelm.sqlite3"
    migrate = [reelm_bin(), "storage", "migrate", "--to", target_url, "--concurrency", "4"]

    points = [_kill_at_random_point(migrate, env, rng, database) for _ in range(KILLS_PER_SEED)]
    if seed % 2 == 0:  # also kill a switch, which compares the stores and then flips the routing
        points.append(_kill_at_random_point([*migrate, "--switch"], env, rng, database))

    final = subprocess.run([*migrate, "--switch"], env=env, capture_output=True, text=True, timeout=180)
    assert final.returncode == 0, f"killed {points}; the resumed run failed:\n{final.stdout}\n{final.stderr}"
    assert _tree(old) == written, f"the old store changed (killed {points})"
    target = store_from_url(target_url)
    copies = {info.key: target.checksum(info.key) for info in target.list("")}
    assert copies == written, f"the stores differ after resuming (killed {points})"
    check = subprocess.run([*migrate, "--verify-only", "--reread"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert _verified(database) == OBJECTS
    status = subprocess.run([reelm_bin(), "storage", "status"], env=env, capture_output=True, text=True)
    assert "switched" in status.stdout and f"{OBJECTS} verified" in status.stdout, status.stdout


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = child_env(data)
    assert subprocess.run([reelm_bin(), "migrate"], env=env, capture_output=True, timeout=120).returncode == 0
    written = _populate(data / "media", random.Random(7))
    database, new = data / "reelm.sqlite3", tmp_path / "new-store"
    migrate = [reelm_bin(), "storage", "migrate", "--to", new.as_uri(), "--concurrency", "2"]
    process = subprocess.Popen(migrate, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _verified(database) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, f"exit {process.returncode}:\n{out}\n{err}"
    assert "Run the same command again to resume" in err and "Traceback" not in err, err
    recorded = _verified(database)
    assert 0 < recorded < OBJECTS, f"{recorded} objects were recorded when Ctrl-C arrived"

    resumed = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert _tree(new) == written
    copied_now = re.search(r"copied and verified now\W+(\d+) objects", resumed.stdout)
    assert copied_now and int(copied_now.group(1)) == OBJECTS - recorded, resumed.stdout  # nothing copied twice
