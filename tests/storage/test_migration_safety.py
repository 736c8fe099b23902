"""What an operator cannot do to themselves with ``reelm storage migrate``: a target that is the source under
another spelling or lies inside it, a target that fails its preflight, and a migration they want to undo.

Real stores only: local folders, and SeaweedFS (S3) and Azurite where the storage conftest starts them.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from reelm import cli
from reelm.storage import migration, registry
from reelm.storage.base import ObjectStore
from reelm.storage.location import location_of, overlap
from reelm.storage.migration import MigrationError
from reelm.storage.models import (
    MigrationObject,
    MigrationRun,
    ObjectState,
    RunState,
    StoreCheck,
    StoreConfig,
    StorePhase,
)
from reelm.storage.preflight import PreflightFailed, store_probe, stores_apart
from reelm.storage.presence import Reporter, processes_check
from reelm.storage.registry import media_store
from tests.e2e.live import child_env, reelm_bin
from tests.storage.conftest import StoreUrl
from tests.storage.servers import BACKENDS
from tests.storage.test_migration import checksums, populate

pytestmark = pytest.mark.django_db


def no_wait(_seconds: float) -> None:
    """The migration's waits for other processes: this test has none."""


def phase() -> str:
    config = StoreConfig.objects.filter(realm="default").first()
    return config.phase if config else StorePhase.STEADY


# --- one place, many spellings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("s3://videos/p?endpoint=http://127.0.0.1:8333&region=us-east-1", "s3://videos/p/?region=us-east-1&endpoint=http://127.0.0.1:8333/"),
        ("s3://videos/p?endpoint=http://localhost:8333", "s3://VIDEOS//p?endpoint=HTTP://127.0.0.1:8333"),
        ("s3://videos/p?endpoint=https://minio.example:443", "s3://videos/p?endpoint=https://minio.example"),
        ("s3://videos/p?region=eu-west-1", "s3://videos/p?endpoint=https://s3.eu-west-1.amazonaws.com&region=eu-west-1"),
        ("az://media/p?account=acct", "az://media/p?endpoint=https://acct.blob.core.windows.net&account=acct"),
        ("az://media/p?emulator=true", "az://media/p?account=devstoreaccount1&endpoint=http://127.0.0.1:10000/devstoreaccount1"),
        ("gs://media/p", "gs://media/p?endpoint=https://storage.googleapis.com"),
    ],
)  # fmt: skip
def test_store_urls_spelled_differently_are_one_place(a: str, b: str) -> None:
    assert location_of(a) == location_of(b)
    assert overlap(a, b) is not None and "same store" in (overlap(a, b) or "")


def test_a_symlinked_folder_is_the_folder_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert location_of((tmp_path / "link").as_uri()) == location_of((tmp_path / "real").as_uri())


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [
        ("s3://videos/nest?endpoint=http://127.0.0.1:1", "s3://videos/nest/copy?endpoint=http://127.0.0.1:1", False),
        ("s3://videos/nest/copy?endpoint=http://127.0.0.1:1", "s3://videos?endpoint=http://127.0.0.1:1", False),
        ("s3://videos/nest?endpoint=http://127.0.0.1:1", "s3://videos/nest2?endpoint=http://127.0.0.1:1", True),
        ("s3://videos/nest?endpoint=http://127.0.0.1:1", "s3://videos/nest?endpoint=http://127.0.0.1:2", True),
        ("s3://videos/nest", "s3://other/nest", True),
        ("az://media/p?account=one", "az://media/p?account=two", True),
        ("file:///srv/media", "file:///srv/media/new", False),
        ("file:///srv/media", "file:///srv/media-new", True),
    ],
)
def test_nested_prefixes_overlap_and_siblings_do_not(a: str, b: str, apart: bool) -> None:
    assert (overlap(a, b) is None) is apart
    assert (overlap(b, a) is None) is apart


def test_a_migration_to_the_same_store_spelled_differently_is_refused(
    settings: Any, store_url: StoreUrl, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in sorted({"file", "s3", "azure"} & set(BACKENDS)):
        settings.REELM_STORAGE_URL = store_url(kind)
        registry._cached.cache_clear()
        written = populate(registry._cached(settings.REELM_STORAGE_URL), 5, seed=3)
        alias = _respelled(settings.REELM_STORAGE_URL)
        assert alias != settings.REELM_STORAGE_URL
        for extra in ([], ["--dry-run"], ["--verify-only"], ["--switch", "--purge-old"]):
            assert cli.main(["storage", "migrate", "--to", alias, *extra]) == 1, (kind, extra)
            err = capsys.readouterr().err
            assert "same store" in err or "already is the store" in err, (kind, extra, err)
        assert phase() == StorePhase.STEADY and not MigrationRun.objects.exists()
        assert checksums(registry._cached(settings.REELM_STORAGE_URL)) == written


def test_a_target_inside_the_source_or_around_it_is_refused(settings: Any, store_url: StoreUrl) -> None:
    kind = "s3" if "s3" in BACKENDS else "file"
    source = store_url(kind)
    settings.REELM_STORAGE_URL = source
    registry._cached.cache_clear()
    populate(registry._cached(source), 5)
    base, _, query = source.partition("?")
    inside = f"{base}/copy" + (f"?{query}" if query else "")
    around = base.rsplit("/", 1)[0] + (f"?{query}" if query else "")
    with pytest.raises(MigrationError, match="lies inside"):
        migration.migration_begin(target_url=inside)
    with pytest.raises(MigrationError, match="lies inside"):
        migration.migration_begin(target_url=around)
    assert phase() == StorePhase.STEADY and not MigrationRun.objects.exists()
    assert len(list(registry._cached(source).list(""))) == 5


def test_a_target_overlapping_another_realms_store_is_refused(settings: Any, store_url: StoreUrl) -> None:
    eu = store_url("file")
    settings.REELM_REALM_STORAGE_URLS = {"eu": eu}
    with pytest.raises(MigrationError, match="realm 'eu'"):
        migration.migration_begin(target_url=eu + "/default")


def test_two_names_for_one_store_are_found_by_a_probe_object(media_store: ObjectStore) -> None:
    """An alias no spelling rule sees (a second DNS name, a second endpoint of one server) shows itself when an
    object written through one name appears under the other."""
    one = registry._cached(media_store.url)
    other = registry.store_from_url(media_store.url)  # another client for the same folder
    with pytest.raises(PreflightFailed, match="one store under two names"):
        stores_apart(one, other)
    assert list(one.list("")) == []  # the probes are gone


def test_purge_never_deletes_the_only_copy(settings: Any, old: ObjectStore) -> None:
    """Even when the bookkeeping says a realm switched to a store that is its old one under another name (as an
    older release could record), the purge deletes nothing."""
    written = populate(old, 6)
    alias = old.url.replace("file:///", "file:////")
    config = StoreConfig.objects.create(
        realm="default", primary_url=alias, other_url=old.url, phase=StorePhase.SWITCHED, changed_at=_long_ago()
    )
    run = MigrationRun.objects.create(source_url=old.url, target_url=alias, state=RunState.SWITCHED)
    with pytest.raises(MigrationError, match="refusing to purge"):
        migration.migration_purge(run, sleep=no_wait)
    assert checksums(old) == written
    config.refresh_from_db()
    assert config.phase == StorePhase.SWITCHED


def test_purge_keeps_an_old_object_whose_copy_vanished_after_the_comparison(
    old: ObjectStore, new: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = populate(old, 6)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    migration.migration_switch(run)
    StoreConfig.objects.update(changed_at=_long_ago())
    victim = sorted(written)[0]
    original = migration._delete_if_copied

    def delete_copy_first(source: ObjectStore, target: ObjectStore, key: str) -> str | None:
        if key == victim:
            target.delete(key)  # the new store loses it between the comparison and the delete
        return original(source, target, key)

    monkeypatch.setattr(migration, "_delete_if_copied", delete_copy_first)
    with pytest.raises(MigrationError, match="kept 1 old objects"):
        migration.migration_purge(run, sleep=no_wait)
    assert old.exists(victim)
    assert phase() == StorePhase.SWITCHED


# --- preflight ------------------------------------------------------------------------------------------------


def test_preflight_passes_on_a_working_store_and_leaves_nothing(new: ObjectStore) -> None:
    store_probe(new)
    assert list(new.list("")) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _broken_targets(store_url: StoreUrl) -> list[tuple[str, str, dict[str, str]]]:
    """(what is wrong, URL, environment) for targets that must fail their preflight."""
    closed = f"s3://videos/x?endpoint=http://127.0.0.1:{_closed_port()}&region=us-east-1"
    targets = [("unreachable", closed, {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})]
    if "s3" in BACKENDS:  # (SeaweedFS makes a missing bucket on the first write: Azurite shows that case)
        good = store_url("s3")
        keys = {name: os.environ[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        targets.append(("wrong key", good, {**keys, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
    if "azure" in BACKENDS:
        targets.append(("no such container", store_url("azure").replace("az://videos/", "az://no-such-container/"), {}))
    targets.append(("unwritable folder", "file:///proc/reelm-cannot-write-here", {}))
    return targets


def test_a_target_that_fails_its_preflight_leaves_the_realm_steady(
    old: ObjectStore, store_url: StoreUrl, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    written = populate(old, 3)
    for what, target, env in _broken_targets(store_url):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        registry._cached.cache_clear()
        assert cli.main(["storage", "migrate", "--to", target]) == 1, what
        err = capsys.readouterr().err
        assert "preflight" in err, (what, err)
        assert "Traceback" not in err
        assert cli.main(["storage", "migrate", "--to", target, "--dry-run"]) == 1, what
        assert "preflight" in capsys.readouterr().err, what
        assert phase() == StorePhase.STEADY, what
        assert not MigrationRun.objects.exists(), what
    # Nothing is stuck: a working target is taken at once.
    assert cli.main(["storage", "migrate", "--to", store_url("file")]) == 0
    assert checksums(old) == written


def test_every_running_process_tries_the_target_first(old: ObjectStore, new: ObjectStore, monkeypatch: Any) -> None:
    """Processes that answer the store check (here two reporters driven by the wait loop): one without the target's
    credentials is named and nothing changes; once it can, the migration starts."""
    web, worker = Reporter("web", name="web-1:100"), Reporter("worker", name="worker-1:200")
    web.step(), worker.step()  # their heartbeats
    broken_url = f"az://videos/x?account=nobody&endpoint=http://127.0.0.1:{_closed_port()}"
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)

    def answer_while_waiting(_seconds: float) -> None:
        web.step(), worker.step()

    answers = processes_check(broken_url, sleep=answer_while_waiting)
    assert [(a.name, a.ok) for a in answers] == [("web-1:100", False), ("worker-1:200", False)]
    assert "AZURE_STORAGE_ACCOUNT_KEY" in answers[0].error

    monkeypatch.setattr(
        migration, "processes_check", lambda url: processes_check(url, sleep=answer_while_waiting, wait_seconds=5)
    )
    migration.migration_begin(target_url=new.url)
    assert phase() == StorePhase.MIGRATING


def test_a_process_that_does_not_answer_stops_the_migration(
    old: ObjectStore, new: ObjectStore, monkeypatch: Any
) -> None:
    Reporter("web", name="stuck:1").step()
    monkeypatch.setattr(migration, "processes_check", lambda url: processes_check(url, wait_seconds=0.5))
    with pytest.raises(MigrationError, match="stuck:1: did not answer"):
        migration.migration_begin(target_url=new.url)
    assert phase() == StorePhase.STEADY


# --- abort ----------------------------------------------------------------------------------------------------


def test_abort_before_any_copy_and_mid_copy(old: ObjectStore, new: ObjectStore) -> None:
    written = populate(old, 8)
    migration.migration_begin(target_url=new.url)
    report = migration.migration_abort(target_url=new.url, sleep=no_wait)
    assert (phase(), report.deleted) == (StorePhase.STEADY, 0)

    run = migration.migration_begin(target_url=new.url)
    rows = list(run.items.all())
    assert rows == []  # a new run: the aborted one is closed
    half = sorted(written)[:4]
    for key in half:  # some copies made, as a copier killed half-way leaves them
        new.put(key, old.read_bytes(key))
    media_store().put("videos/during.bin", b"written while migrating")  # reaches both stores
    new.put("videos/not-a-copy.bin", b"someone else's object")
    report = migration.migration_abort(target_url=new.url, sleep=no_wait)
    assert phase() == StorePhase.STEADY and media_store().url == old.url
    assert report.deleted == 5 and report.left == 1
    assert [info.key for info in new.list("")] == ["videos/not-a-copy.bin"]
    assert checksums(old) == {**written, "videos/during.bin": old.checksum("videos/during.bin")}
    assert MigrationRun.objects.get(id=run.id).state == RunState.ABORTED


def test_abort_after_the_switch_copies_back_what_only_the_new_store_has(old: ObjectStore, new: ObjectStore) -> None:
    written = populate(old, 6)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    migration.migration_switch(run)
    store = media_store()
    store.put("videos/after-switch.bin", b"only in the new store")
    store.put(sorted(written)[0], b"overwritten after the switch")
    store.delete(sorted(written)[1])

    assert cli.main(["storage", "migrate", "--to", new.url, "--abort", "--keep-copies"]) == 0
    assert phase() == StorePhase.STEADY and media_store().url == old.url
    assert old.read_bytes("videos/after-switch.bin") == b"only in the new store"
    assert old.read_bytes(sorted(written)[0]) == b"overwritten after the switch"
    assert not old.exists(sorted(written)[1])
    assert checksums(new) == checksums(old)  # --keep-copies


def test_abort_is_refused_after_the_purge_and_when_nothing_migrates(old: ObjectStore, new: ObjectStore) -> None:
    with pytest.raises(MigrationError, match="nothing to abort"):
        migration.migration_abort(target_url=new.url, sleep=no_wait)
    populate(old, 2)
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    migration.migration_switch(run)
    StoreConfig.objects.update(changed_at=_long_ago())
    migration.migration_purge(run, sleep=no_wait)
    with pytest.raises(MigrationError, match="nothing to abort"):
        migration.migration_abort(target_url=new.url, sleep=no_wait)
    assert len(list(new.list(""))) == 2


def test_abort_names_the_migration_under_way(old: ObjectStore, new: ObjectStore, store_url: StoreUrl) -> None:
    migration.migration_begin(target_url=new.url)
    elsewhere = store_url("file")
    with pytest.raises(MigrationError, match=f"migrating to {new.url}"):
        migration.migration_abort(target_url=elsewhere, sleep=no_wait)
    assert phase() == StorePhase.MIGRATING


# --- progress survives a kill ---------------------------------------------------------------------------------


class RecordedCheck(migration.NullProgress):
    """A progress sink that looks, each time an object is reported done, at what the database has recorded."""

    def __init__(self) -> None:
        self.done = 0
        self.behind: list[tuple[int, int]] = []

    def object_done(self, ok: bool) -> None:
        self.done += 1
        recorded = MigrationObject.objects.exclude(state=ObjectState.PENDING).count()
        if recorded < self.done:
            self.behind.append((self.done, recorded))


def test_every_object_reported_done_is_already_recorded(old: ObjectStore, new: ObjectStore) -> None:
    populate(old, 40)
    run = migration.migration_begin(target_url=new.url)
    progress = RecordedCheck()
    migration.migration_copy(run, progress=progress, concurrency=4)
    assert progress.done == 40
    assert progress.behind == []


def test_a_killed_copier_loses_only_what_was_in_flight(tmp_path: Path, store_url: StoreUrl) -> None:
    data = tmp_path / "data"
    env = child_env(data)
    subprocess.run([reelm_bin(), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    source = registry.store_from_url((data / "media").as_uri())
    for index in range(400):
        source.put(f"videos/v/{index:04}.bin", os.urandom(64 * 1024))
    target_url = store_url("file")
    target = registry.store_from_url(target_url)
    command = [reelm_bin(), "storage", "migrate", "--to", target_url, "--concurrency", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(target.list(""))) < 40 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.kill()  # SIGKILL: nothing gets to write down what it held
    process.wait(timeout=30)
    copied = len(list(target.list("")))
    assert 40 <= copied < 400
    # Copies in the new store that the database does not know as verified: only those in flight, that is the two
    # being copied and at most two that finished while the results before them were being written down.
    assert copied - _verified_in(data) <= 4


def _verified_in(data: Path) -> int:
    script = (
        "from reelm.storage.models import MigrationObject; "
        "print(MigrationObject.objects.filter(state='verified').count())"
    )
    done = subprocess.run(
        [reelm_bin(), "manage", "shell", "-c", script], env=child_env(data), capture_output=True, text=True, timeout=60
    )
    return int(done.stdout.strip().splitlines()[-1])


# --- helpers --------------------------------------------------------------------------------------------------


def _respelled(url: str) -> str:
    if url.startswith("file:"):
        return url + "/"
    base, _, query = url.partition("?")
    return f"{base}/?" + "&".join(reversed(query.split("&")))


def _long_ago() -> datetime:
    return timezone.now() - timedelta(hours=1)


def test_the_admin_lists_processes_and_their_answers(admin_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)
    Reporter("web", name="web-7:700").step()
    processes_check("az://videos/x?account=nobody", wait_seconds=0)
    Reporter("worker", name="worker-8:800").answer(StoreCheck.objects.get())
    page = admin_client.get("/admin/storage/storeprocess/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "web-7:700" in text and "worker-8:800" in text and "AZURE_STORAGE_ACCOUNT_KEY" in text


def test_purging_a_local_store_leaves_no_empty_folders(old: ObjectStore, new: ObjectStore, settings: Any) -> None:
    populate(old, 10)
    root = Path(settings.REELM_STORAGE_URL.removeprefix("file://"))
    assert any(path.is_dir() for path in root.rglob("*"))
    run = migration.migration_begin(target_url=new.url)
    migration.migration_copy(run)
    migration.migration_switch(run)
    StoreConfig.objects.update(changed_at=_long_ago())
    migration.migration_purge(run, sleep=no_wait)
    assert list(root.rglob("*")) == []
    assert root.is_dir()  # the store's own folder stays


def test_the_progress_bar_counts_failures_and_shows_no_empty_counter() -> None:
    from rich.console import Console
    from rich.progress import Progress, TextColumn

    from reelm.storage.console import BarProgress

    with Progress(TextColumn("{task.fields[objects]}"), console=Console(file=io.StringIO())) as bar:
        task = bar.add_task("comparing", total=0, objects="")
        progress = BarProgress(bar, task)
        progress.add_work(0, 0)
        assert bar.tasks[0].fields["objects"] == ""  # a stage with nothing to read shows no "0/0 objects"
        progress.add_work(3, 30)
        progress.object_done(True)
        progress.object_done(False)
        assert bar.tasks[0].fields["objects"] == "2/3 objects, 1 failed"


def test_ctrl_c_during_a_flush_lands_after_it(old: ObjectStore, new: ObjectStore) -> None:
    """A Ctrl-C between SQLite's BEGIN and Django noting it would leave a transaction Django does not know about;
    the copier holds it until its write is done, then stops as Ctrl-C should."""
    populate(old, 2)
    run = migration.migration_begin(target_url=new.url)
    migration._scan(run, old, new, migrating=True)
    row = run.items.order_by("key").first()
    assert row is not None
    outcome = migration.Outcome(row.id, ObjectState.VERIFIED, size=row.size, sha256="0" * 64)
    finished_inside = False
    with pytest.raises(KeyboardInterrupt), migration._interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        migration._write_outcomes([outcome])
        finished_inside = True
    assert finished_inside
    assert MigrationObject.objects.get(id=row.id).state == ObjectState.VERIFIED
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
