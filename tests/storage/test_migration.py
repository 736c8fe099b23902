"""Moving a realm to another store: routing while migrating, copy and verify, switch, purge, and the CLI.

Real stores only: local directories here, and the emulated S3/GCS/Azure servers where the storage conftest offers
them (``fresh_store_url``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pty
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from reelm import cli
from reelm.storage import migration, registry
from reelm.storage.base import ObjectNotFound, ObjectStore
from reelm.storage.migration import MigrationError
from reelm.storage.models import MigrationObject, MigrationRun, ObjectState, StoreConfig, StorePhase
from reelm.storage.registry import media_store
from reelm.storage.routing import ROUTE_TTL, forget_routes
from tests.e2e.live import child_env, reelm_bin
from tests.storage.conftest import StoreUrl

pytestmark = pytest.mark.django_db

try:  # the backends the storage conftest can start; only local disk until it offers more
    from tests.storage.servers import BACKENDS as _BACKENDS

    KINDS: tuple[str, ...] = tuple(_BACKENDS)
except ImportError:
    KINDS = ("file",)


def populate(store: ObjectStore, count: int = 12, seed: int = 0) -> dict[str, str]:
    """Objects shaped like Reelm's (originals, renditions, posters, avatars, exports); returns key -> sha256."""
    rng = random.Random(seed)
    folders = ["originals/v1", "videos/v1/a1/hls", "videos/v1/a1", "avatars/u1", "exports/u1"]
    written = {}
    for index in range(count):
        key = f"{folders[index % len(folders)]}/object-{index}.bin"
        data = rng.randbytes(rng.choice([0, 1, 700, 64 * 1024, 1_300_000]))
        written[key] = store.put(key, data).sha256
    return written


def checksums(store: ObjectStore) -> dict[str, str]:
    return {info.key: store.checksum(info.key) for info in store.list("")}


def run_cli(*args: str) -> int:
    return cli.main(["storage", *args])


# --- routing ---------------------------------------------------------------------------------------------------


def test_while_migrating_writes_reach_both_stores_and_reads_fall_back(
    old: ObjectStore, new: ObjectStore, tmp_path: Path
) -> None:
    old.put("videos/only-old.bin", b"written before the migration")
    migration.migration_begin(target_url=new.url)
    store = media_store()

    assert store.read_bytes("videos/only-old.bin") == b"written before the migration"  # fallback to the old
    assert store.head("videos/only-old.bin").size == 28
    assert b"".join(store.stream("videos/only-old.bin", 8, 14)) == b"before"

    store.put("videos/bytes.bin", b"uploaded while migrating")
    store.put("videos/stream.bin", iter([b"a" * 1_000_000, b"b" * 500_000]))  # a one-shot stream, copied back
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"from a file")
    store.put_file("videos/file.bin", upload)
    for key in ("videos/bytes.bin", "videos/stream.bin", "videos/file.bin"):
        assert old.checksum(key) == new.checksum(key), key

    new.put("videos/only-new.bin", b"the new store is read first")
    assert store.read_bytes("videos/only-new.bin") == b"the new store is read first"
    assert {info.key for info in store.list("videos/")} == {
        "videos/only-old.bin", "videos/bytes.bin", "videos/stream.bin", "videos/file.bin", "videos/only-new.bin",
    }  # fmt: skip

    store.delete("videos/bytes.bin")
    assert not old.exists("videos/bytes.bin") and not new.exists("videos/bytes.bin")
    with pytest.raises(ObjectNotFound):
        store.read_bytes("videos/bytes.bin")


def test_after_switch_writes_go_to_the_new_store_only_and_reads_still_fall_back(
    old: ObjectStore, new: ObjectStore
) -> None:
    populate(old, 5)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    migration.migration_switch(run)
    store = media_store()
    assert store.url == new.url

    store.put("videos/after-switch.bin", b"new only")
    assert new.exists("videos/after-switch.bin") and not old.exists("videos/after-switch.bin")
    old.put("videos/left-in-old.bin", b"still readable")  # e.g. written by a process that had not noticed yet
    assert store.read_bytes("videos/left-in-old.bin") == b"still readable"
    store.delete("videos/left-in-old.bin")  # deletes reach both, so the old store never has more than the new
    assert not old.exists("videos/left-in-old.bin")


def test_a_realm_without_a_row_uses_the_configured_store(settings: Any, old: ObjectStore, store_url: StoreUrl) -> None:
    eu = store_url("file")
    settings.REELM_REALM_STORAGE_URLS = {"eu": eu}
    forget_routes()
    media_store("eu").put("videos/eu.bin", b"eu")
    assert registry._cached(eu).read_bytes("videos/eu.bin") == b"eu"
    assert not old.exists("videos/eu.bin")
    with pytest.raises(ValueError, match="no store configured for realm 'mars'"):
        media_store("mars").exists("x")


# --- copy, verify, switch, purge ---------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(
    old: ObjectStore, new: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    written = populate(old, 7)
    assert run_cli("migrate", "--to", new.url, "--dry-run", "--switch") == 0
    out = capsys.readouterr().out
    assert "Dry run" in out and f"from {old.url}" in out and f"to   {new.url}" in out
    assert "copy and verify 7 objects" in out and "make the new store primary" in out
    assert not StoreConfig.objects.exists() and not MigrationRun.objects.exists()
    assert list(new.list("")) == []
    assert checksums(old) == written


def test_copy_then_verify_only_reports_missing_differing_and_extra(
    old: ObjectStore, new: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    written = populate(old, 10)
    assert run_cli("migrate", "--to", new.url) == 0
    assert checksums(new) == written
    run = MigrationRun.objects.get()
    assert run.objects_verified == run.objects_total == 10
    assert set(run.items.values_list("state", flat=True)) == {ObjectState.VERIFIED}
    capsys.readouterr()

    assert run_cli("migrate", "--to", new.url, "--verify-only") == 0
    keys = sorted(written)
    new.delete(keys[0])  # missing
    new.put(keys[1], b"tampered")  # differing, different size
    same_size = next(k for k in keys[2:] if old.head(k).size > 0)
    new.put(same_size, bytes(old.head(same_size).size))  # differing, same size
    new.put("exports/stray.bin", b"not in the old store")  # extra
    capsys.readouterr()
    assert run_cli("migrate", "--to", new.url, "--verify-only") == 1
    out = capsys.readouterr().out
    assert f"missing: {keys[0]}" in out
    assert f"differing: {keys[1]}" in out and f"differing: {same_size}" in out
    assert "extra: exports/stray.bin" in out
    comparison = migration.stores_compare(old, new, run=run)
    assert (comparison.missing, sorted(comparison.differing), comparison.extra) == (
        [keys[0]], sorted([keys[1], same_size]), ["exports/stray.bin"],
    )  # fmt: skip
    assert len(comparison.same) == 7


def test_switch_refuses_until_the_stores_are_identical(
    old: ObjectStore, new: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    written = populate(old, 6)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    victim = sorted(written)[2]
    new.put(victim, b"corrupted copy")
    with pytest.raises(MigrationError, match=r"refusing to switch.*1 differing"):
        migration.migration_switch(run)
    assert StoreConfig.objects.get().phase == StorePhase.MIGRATING
    assert media_store().url == old.url

    # The refusal queued the object again: the next run repairs it, and then the switch goes through.
    assert run_cli("migrate", "--to", new.url, "--switch") == 0
    assert checksums(new) == written
    config = StoreConfig.objects.get()
    assert (config.phase, config.primary_url, config.other_url) == (StorePhase.SWITCHED, new.url, old.url)
    assert "Switched" in capsys.readouterr().out


def test_purge_refuses_before_the_switch_and_when_a_copy_differs(old: ObjectStore, new: ObjectStore) -> None:
    written = populate(old, 6)
    assert run_cli("migrate", "--to", new.url, "--purge-old") == 1  # copied, but not switched
    assert checksums(old) == written

    run = MigrationRun.objects.get()
    migration.migration_switch(run)
    victim = sorted(written)[4]
    new.put(victim, b"damaged after the switch")
    with pytest.raises(MigrationError, match=r"refusing to purge.*1 differing"):
        migration.migration_purge(run, sleep=lambda _: None)
    assert checksums(old) == written  # nothing deleted, not even the objects that were fine

    new.put(victim, old.read_bytes(victim))
    new.put("videos/new-upload.bin", b"written after the switch")  # only in the new store: fine for a purge
    report = migration.migration_purge(run, sleep=lambda _: None)
    assert report.deleted == 6
    assert list(old.list("")) == []
    assert {k: v for k, v in checksums(new).items() if k in written} == written
    config = StoreConfig.objects.get()
    assert (config.phase, config.primary_url, config.other_url) == (StorePhase.STEADY, new.url, "")
    assert media_store().read_bytes("videos/new-upload.bin") == b"written after the switch"


def test_catch_up_copies_writes_and_deletes_that_bypassed_the_routing(old: ObjectStore, new: ObjectStore) -> None:
    """A process that has not yet noticed the migration writes and deletes in the old store only."""
    written = populate(old, 4)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    late_key, gone_key = "videos/late.bin", sorted(written)[0]
    old.put(late_key, b"written by a process still on the old route")
    old.delete(gone_key)
    old.put(sorted(written)[1], b"overwritten in the old store only")

    report = migration.migration_copy(run)
    assert report.copied == 2
    assert checksums(new) == checksums(old)
    assert MigrationObject.objects.get(run=run, key=gone_key).state == ObjectState.GONE
    assert migration.stores_compare(old, new, run=run).clean


class OverwritingProgress(migration.NullProgress):
    """Overwrites one object in the old store while its bytes are being copied, the first ``times`` times."""

    def __init__(self, store: ObjectStore, key: str, times: int) -> None:
        self.store, self.key, self.left, self.versions = store, key, times, 0

    def advance_bytes(self, nbytes: int) -> None:
        if self.left:
            self.left -= 1
            self.versions += 1
            self.store.put(self.key, b"version %d;" % self.versions * (self.versions + 1))


def test_an_object_overwritten_while_copied_is_copied_again(old: ObjectStore, new: ObjectStore) -> None:
    old.put("videos/v1/poster.jpg", b"the first version")
    run = migration.migration_begin(target_url=new.url)
    report = migration.migration_copy(run, progress=OverwritingProgress(old, "videos/v1/poster.jpg", times=1))
    row = run.items.get()
    assert (row.state, row.attempts, row.error, report.copied) == (ObjectState.VERIFIED, 2, "", 1)
    assert new.read_bytes("videos/v1/poster.jpg") == old.read_bytes("videos/v1/poster.jpg") == b"version 1;" * 2


def test_an_object_that_keeps_changing_is_left_for_the_next_run_with_the_reason(
    old: ObjectStore, new: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    old.put("videos/v1/poster.jpg", b"the first version")
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run, progress=OverwritingProgress(old, "videos/v1/poster.jpg", times=1_000))
    (row,) = migration.unfinished_rows(run)
    assert (row.state, row.attempts) == (ObjectState.PENDING, migration.ATTEMPTS_PER_PASS)
    assert re.fullmatch(r"changed while it was copied: 30 bytes read \(.*\), now 40 bytes with ETag \S+", row.error)
    assert run.objects_verified == 0
    assert run_cli("migrate", "--to", new.url) == 0  # nothing overwrites it now: the next run copies it
    assert "not copied yet" not in capsys.readouterr().err
    assert new.read_bytes("videos/v1/poster.jpg") == old.read_bytes("videos/v1/poster.jpg")


def test_the_copier_waits_until_every_process_writes_to_both(old: ObjectStore, new: ObjectStore) -> None:
    """The last listing must start after the routing change has reached every process."""
    populate(old, 2)
    run = migration.migration_begin(target_url=new.url)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    migration.migration_copy(run, sleep=sleep)
    assert waits and 0 < waits[-1] <= migration.PROPAGATION_SECONDS


def test_a_second_migration_of_a_busy_realm_is_refused(old: ObjectStore, store_url: StoreUrl) -> None:
    first, second = store_url("file"), store_url("file")
    with pytest.raises(MigrationError, match="already is the store"):
        migration.migration_begin(target_url=old.url)
    migration.migration_begin(target_url=first)
    with pytest.raises(MigrationError, match="already migrating"):
        migration.migration_begin(target_url=second)
    assert migration.migration_begin(target_url=first).target_url == first  # the same target resumes
    assert MigrationRun.objects.count() == 1


# --- every ordered pair of backends ---------------------------------------------------------------------------


PAIRS = [pair for pair in itertools.product(KINDS, KINDS) if pair[0] != pair[1]] or [("file", "file")]


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_migration_between_backends(
    settings: Any, store_url: StoreUrl, source_kind: str, target_kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.REELM_STORAGE_URL = store_url(source_kind)
    registry._cached.cache_clear()
    source, target_url = registry._cached(settings.REELM_STORAGE_URL), store_url(target_kind)
    written = populate(source, 10, seed=hash((source_kind, target_kind)) & 0xFFFF)

    assert run_cli("migrate", "--to", target_url, "--concurrency", "4") == 0
    assert media_store().read_bytes(sorted(written)[3]) == source.read_bytes(sorted(written)[3])
    assert run_cli("migrate", "--to", target_url, "--verify-only") == 0
    assert run_cli("migrate", "--to", target_url, "--switch", "--purge-old") == 0, capsys.readouterr()
    target = registry._cached(target_url)
    assert checksums(target) == written
    assert list(source.list("")) == []
    assert media_store().url == target_url


# --- the CLI as a separate process ------------------------------------------------------------------------------


@pytest.mark.parametrize("target_kind", sorted({"file", "s3"} & set(KINDS)))
def test_cli_exits_zero_every_time(tmp_path: Path, store_url: StoreUrl, target_kind: str) -> None:
    """Each run of the real command exits 0 (async runtimes have been seen to abort at interpreter exit)."""
    target = store_url(target_kind)  # sets the emulator's credentials in os.environ, which child_env passes on
    data = tmp_path / "data"
    env = child_env(data)
    subprocess.run([reelm_bin(), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    populate(store_from(data / "media"), 20)
    commands = [
        ["storage", "migrate", "--to", target, "--dry-run"],
        ["storage", "migrate", "--to", target],
        ["storage", "migrate", "--to", target, "--verify-only"],
        ["storage", "status"],
        ["storage", "migrate", "--to", target],
        ["storage", "migrate", "--to", target, "--verify-only"],
    ]
    for command in commands:
        done = subprocess.run([reelm_bin(), *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert "verified" in done.stdout or "same" in done.stdout


def store_from(path: Path) -> ObjectStore:
    return registry.store_from_url(path.as_uri())


def test_the_admin_shows_runs_and_failed_objects(old: ObjectStore, new: ObjectStore, admin_client: Any) -> None:
    populate(old, 3)
    run = migration.migration_begin(target_url=new.url)
    MigrationObject.objects.create(run=run, key="videos/broken.bin", state=ObjectState.FAILED, error="disk on fire")
    runs = admin_client.get("/admin/storage/migrationrun/")
    assert runs.status_code == 200 and new.url in runs.content.decode()
    failed = admin_client.get("/admin/storage/migrationobject/?state=failed")
    assert failed.status_code == 200
    assert "videos/broken.bin" in failed.content.decode() and "disk on fire" in failed.content.decode()
    assert admin_client.get("/admin/storage/storeconfig/").status_code == 200
    assert admin_client.get("/admin/storage/migrationrun/add/").status_code == 403  # changes go through the CLI


def test_purge_waits_out_signed_urls_to_the_old_store(settings: Any) -> None:
    """When media are served by redirect to signed URLs, one handed out just before the switch may still point at
    the old store for its whole lifetime: the purge waits for that too."""
    settings.REELM_MEDIA_DIRECT_ORIGINS = []
    assert migration.purge_delay() == migration.PROPAGATION_SECONDS
    settings.REELM_MEDIA_DIRECT_ORIGINS = ["http://127.0.0.1:9000"]
    settings.REELM_MEDIA_URL_SECONDS = 600
    assert migration.purge_delay() == migration.PROPAGATION_SECONDS + 600


def test_a_terminal_gets_a_progress_bar_and_a_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = child_env(data, COLUMNS="160")
    subprocess.run([reelm_bin(), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    populate(store_from(data / "media"), 10)
    leader, follower = pty.openpty()
    command = [reelm_bin(), "storage", "migrate", "--to", (tmp_path / "target").as_uri()]
    process = subprocess.Popen(command, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    with contextlib.suppress(OSError):  # EIO once the process has closed the terminal
        while chunk := os.read(leader, 65536):
            output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, output.decode(errors="replace")
    text = output.decode(errors="replace")
    assert "10/10 objects" in text, text  # the bar's object counter
    assert "MB" in text and "/s" in text, text  # bytes and rate columns
    assert "verified in total" in text and "10 of 10 objects" in text, text  # the summary table


def test_a_migration_can_be_limited_to_one_realm(settings: Any, old: ObjectStore, store_url: StoreUrl) -> None:
    eu_url, eu_new_url = store_url("file"), store_url("file")
    settings.REELM_REALM_STORAGE_URLS = {"eu": eu_url}
    forget_routes()
    default_objects = populate(old, 3, seed=1)
    eu_objects = populate(registry._cached(eu_url), 4, seed=2)

    assert run_cli("migrate", "--realm", "eu", "--to", eu_new_url, "--switch") == 0
    assert checksums(registry._cached(eu_new_url)) == eu_objects
    assert media_store("eu").url == eu_new_url
    assert media_store().url == old.url and checksums(old) == default_objects  # the default realm is untouched
    assert list(StoreConfig.objects.values_list("realm", "phase")) == [("eu", StorePhase.SWITCHED)]
    media_store().put("videos/default-realm.bin", b"only in the default store")
    assert not registry._cached(eu_new_url).exists("videos/default-realm.bin")


def test_a_routing_change_made_elsewhere_is_followed_within_the_ttl(old: ObjectStore, new: ObjectStore) -> None:
    store = media_store()
    store.put("videos/before.bin", b"steady")  # this process now holds the steady route
    # Another process (the migrate command) changes the routing; nothing tells this one.
    StoreConfig.objects.create(
        primary_url=old.url, other_url=new.url, phase=StorePhase.MIGRATING, changed_at=timezone.now()
    )
    store.put("videos/stale.bin", b"written on the cached route")
    assert not new.exists("videos/stale.bin")  # what the copier's final listing exists for
    time.sleep(ROUTE_TTL)
    store.put("videos/fresh.bin", b"written on the new route")
    assert new.exists("videos/fresh.bin") and old.exists("videos/fresh.bin")
