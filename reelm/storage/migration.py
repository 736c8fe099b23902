"""Move a realm's objects to another store while the site keeps serving.

Five steps, each safe to interrupt and repeat: ``migration_begin``, ``migration_copy``, ``stores_compare``,
``migration_switch``, ``migration_purge`` (docs/storage.md, "Inside a migration", says what each guarantees).

``migration_abort`` returns the realm to its old store at any point before the purge.

Database writes happen on the calling thread only; worker threads do storage I/O and return results.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from reelm.core import realms
from reelm.storage import presence, registry
from reelm.storage.base import ObjectInfo, ObjectNotFound, ObjectStore, hashing
from reelm.storage.location import overlap, same_location
from reelm.storage.models import (
    DEFAULT_REALM,
    MigrationObject,
    MigrationRun,
    ObjectState,
    RunState,
    StoreConfig,
    StorePhase,
)
from reelm.storage.preflight import PreflightFailed, is_probe, store_probe, stores_apart
from reelm.storage.presence import ProcessAnswer, processes_check
from reelm.storage.pump import pumped
from reelm.storage.routing import PROPAGATION_SECONDS, configured_url, forget_routes, load_route

DEFAULT_CONCURRENCY = 8
#: How long the copier waits for a copy to finish before looking again (results are recorded as they finish).
FLUSH_SECONDS = 0.5
#: Copy attempts for one object within one run of the copier (a busy object may change while being copied).
ATTEMPTS_PER_PASS = 3
TODO_STATES = (ObjectState.PENDING, ObjectState.COPIED, ObjectState.FAILED)


class MigrationError(Exception):
    """The operation was refused; the message tells the operator why and what to do."""


class Cancelled(Exception):
    """The operator stopped the copier (Ctrl-C); in-flight copies are abandoned and redone on resume."""


class Progress(Protocol):
    """What the copier reports; the CLI shows it as a progress bar or as log lines."""

    def stage(self, text: str) -> None: ...

    def add_work(self, objects: int, nbytes: int) -> None: ...

    def advance_bytes(self, nbytes: int) -> None:
        """Called from worker threads as bytes arrive."""
        ...

    def object_done(self, ok: bool) -> None: ...


class NullProgress:
    def stage(self, text: str) -> None:
        pass

    def add_work(self, objects: int, nbytes: int) -> None:
        pass

    def advance_bytes(self, nbytes: int) -> None:
        pass

    def object_done(self, ok: bool) -> None:
        pass


def etag_of(info: ObjectInfo) -> str:
    """The ETag without quotes or a weak marker: some backends quote it in HEAD answers but not in listings."""
    etag = info.etag or ""
    return etag.removeprefix("W/").strip('"')


def listed(store: ObjectStore) -> Iterator[ObjectInfo]:
    """The store's objects, less the probes that preflight checks write and remove."""
    return (info for info in store.list("") if not is_probe(info.key))


# --- refusing the wrong target --------------------------------------------------------------------------------


def stores_distinct(source_url: str, target_url: str, *, realm: str) -> None:
    """Refuse a target that is, contains or lies inside the source, or overlaps another realm's store."""
    why = overlap(source_url, target_url)
    if why:
        raise MigrationError(f"refusing: {why}. Choose a bucket, container or prefix of its own for realm {realm!r}.")
    for other_realm, url in _other_realms_urls(realm):
        why = overlap(url, target_url)
        if why:
            raise MigrationError(f"refusing: the store of realm {other_realm!r} is in the way: {why}")


def _other_realms_urls(realm: str) -> Iterator[tuple[str, str]]:
    """Every store another realm uses or is moving to (each realm's own database says, where realms are set)."""
    if realms.configured():
        names = set(realms.realm_names())
    else:
        names = {
            DEFAULT_REALM,
            *settings.REELM_REALM_STORAGE_URLS,
            *StoreConfig.objects.values_list("realm", flat=True),
        }
    for other in sorted(names - {realm}):
        route = load_route(other)
        yield other, route.primary_url
        if route.other_url:
            yield other, route.other_url


def _openable(url: str) -> None:
    """Refuse a malformed or unsupported URL, or a store that cannot even be opened, before changing anything."""
    try:
        registry.store_from_url(url)
    except OSError as exc:
        raise MigrationError(f"the new store failed its preflight check: cannot open {url}: {exc}") from exc


def target_preflight(source_url: str, target_url: str) -> list[ProcessAnswer]:
    """Try the target from here and from every running process before the realm depends on it; raise
    MigrationError with every reason in plain words. Returns the processes' answers."""
    try:
        target = registry.store_from_url(target_url)
        store_probe(target, label="migrate")
        stores_apart(registry._cached(source_url), target)
    except (PreflightFailed, ValueError, OSError) as exc:
        raise MigrationError(f"the new store failed its preflight check: {exc}") from exc
    answers = processes_check(target_url)
    failed = [answer for answer in answers if answer.ok is False]
    silent = [answer for answer in answers if answer.ok is None]
    if failed or silent:
        lines = [f"  {a.role} process {a.name}: {a.error}" for a in failed]
        lines += [f"  {a.role} process {a.name}: did not answer (stuck, or stopped without saying so)" for a in silent]
        raise MigrationError(
            "running processes cannot use the new store yet, so the realm stays where it is:\n"
            + "\n".join(lines)
            + "\nGive every web and worker process the store's settings and credentials and restart them, then run "
            f"again. A stopped process is forgotten {presence.ALIVE_SECONDS:.0f} s after its last report."
        )
    return answers


# --- state ---------------------------------------------------------------------------------------------------


def config_get(realm: str) -> StoreConfig | None:
    return StoreConfig.objects.filter(realm=realm).first()


def _config_save(config: StoreConfig, **changes: str) -> None:
    for name, value in changes.items():
        setattr(config, name, value)
    config.version += 1
    config.changed_at = timezone.now()
    config.save()
    # This process follows at once (and again after commit, in case it read the row meanwhile); others within
    # ROUTE_TTL.
    forget_routes()
    realms.on_commit(forget_routes)


def run_for(realm: str, target_url: str) -> MigrationRun | None:
    """The unfinished run of ``realm`` to ``target_url``, if any."""
    runs = MigrationRun.objects.filter(realm=realm).exclude(state__in=(RunState.PURGED, RunState.ABORTED))
    return next((run for run in runs if same_location(run.target_url, target_url)), None)


def source_url_for(realm: str, target_url: str) -> str:
    """The store a migration of ``realm`` to ``target_url`` copies from (the old store)."""
    config = config_get(realm)
    if config is None or config.phase == StorePhase.STEADY:
        return config.primary_url if config else configured_url(realm)
    if config.phase == StorePhase.MIGRATING and same_location(config.other_url, target_url):
        return config.primary_url
    if config.phase == StorePhase.SWITCHED and same_location(config.primary_url, target_url):
        return config.other_url
    raise MigrationError(_busy_message(config))


def _busy_message(config: StoreConfig) -> str:
    if config.phase == StorePhase.MIGRATING:
        return f"realm {config.realm!r} is already migrating to {config.other_url}; finish that migration first"
    return (
        f"realm {config.realm!r} switched to {config.primary_url} and still falls back to {config.other_url}; "
        "run `reelm storage migrate --to " + config.primary_url + " --purge-old` first"
    )


def migration_begin(*, realm: str = DEFAULT_REALM, target_url: str) -> MigrationRun:
    """Start a migration of ``realm`` to ``target_url`` or return the one already under way. A new migration
    starts only once the target passed its preflight here and in every running process."""
    _openable(target_url)
    config = config_get(realm)
    if config is None or config.phase == StorePhase.STEADY:
        source_url = config.primary_url if config else configured_url(realm)
        if same_location(source_url, target_url):
            raise MigrationError(f"{target_url} already is the store of realm {realm!r}")
        stores_distinct(source_url, target_url, realm=realm)
        target_preflight(source_url, target_url)
    with realms.atomic():
        config = config_get(realm)
        if config is None:
            config = StoreConfig(realm=realm, primary_url=configured_url(realm), changed_at=timezone.now())
        if config.phase == StorePhase.STEADY:
            if same_location(config.primary_url, target_url):
                raise MigrationError(f"{target_url} already is the store of realm {realm!r}")
            created = MigrationRun.objects.create(realm=realm, source_url=config.primary_url, target_url=target_url)
            _config_save(config, phase=StorePhase.MIGRATING, other_url=target_url)
            return created
    source_url_for(realm, target_url)  # raises when the realm is busy with another store
    existing = run_for(realm, target_url)
    if existing is None:
        raise MigrationError(f"realm {realm!r} is {config.phase} but no migration run is recorded for it")
    return existing


def _stores(run: MigrationRun) -> tuple[ObjectStore, ObjectStore]:
    return registry._cached(run.source_url), registry._cached(run.target_url)


def _phase_of(run: MigrationRun) -> tuple[str, datetime]:
    config = config_get(run.realm)
    if config is None:
        raise MigrationError(f"realm {run.realm!r} has no store configuration")
    return config.phase, config.changed_at


# --- listing into rows ------------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    added: int = 0
    changed: int = 0
    vanished: int = 0


def _scan(run: MigrationRun, source: ObjectStore, target: ObjectStore, *, migrating: bool) -> ScanResult:
    """Bring the rows in line with fresh listings: new keys, objects overwritten in the source, copies missing or
    rewritten in the target, objects deleted from the source."""
    known = {
        key: Known(size, etag, target_etag, state)
        for key, size, etag, target_etag, state in run.items.values_list(
            "key", "size", "source_etag", "target_etag", "state"
        )
    }
    copies = {info.key: info for info in listed(target)}  # before the source: writes reach the old store first
    result, seen, batch = ScanResult(), set(), []
    for info in listed(source):
        seen.add(info.key)
        previous = known.get(info.key)
        if previous is None:
            batch.append(MigrationObject(run=run, key=info.key, size=info.size, source_etag=etag_of(info)))
            if len(batch) >= 500:
                result.added += _insert(batch)
        elif previous.stale(info, copies.get(info.key)):
            run.items.filter(key=info.key).update(
                state=ObjectState.PENDING, size=info.size, source_etag=etag_of(info), sha256="", target_etag=""
            )
            result.changed += 1
    result.added += _insert(batch)
    vanished = [key for key, row in known.items() if key not in seen and row.state != ObjectState.GONE]
    for key in vanished:
        if migrating:
            # Deleted from the old store by a process that did not yet write to both: delete the copy too.
            target.delete(key)
        run.items.filter(key=key).update(state=ObjectState.GONE)
    result.vanished = len(vanished)
    return result


@dataclass(frozen=True)
class Known:
    size: int
    source_etag: str
    target_etag: str
    state: str

    def stale(self, source: ObjectInfo, copy: ObjectInfo | None) -> bool:
        """Whether the recorded state no longer describes the two stores, so the object must be copied again."""
        if self.state == ObjectState.GONE or (self.size, self.source_etag) != (source.size, etag_of(source)):
            return True
        if self.state != ObjectState.VERIFIED:
            return False  # copied anyway
        if copy is None or copy.size != source.size:
            return True  # the copy vanished or was cut short since it was verified
        return bool(self.target_etag and etag_of(copy) and etag_of(copy) != self.target_etag)


def _insert(batch: list[MigrationObject]) -> int:
    count = len(batch)
    MigrationObject.objects.bulk_create(batch, ignore_conflicts=True)
    batch.clear()
    return count


# --- copying ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a worker thread found for one object; the calling thread writes it to the database."""

    row_id: object
    state: str
    size: int = 0
    sha256: str = ""
    source_etag: str = ""
    target_etag: str = ""
    error: str = ""


def _cancellable(chunks: Iterable[bytes], stop: threading.Event, progress: Progress) -> Iterator[bytes]:
    for chunk in chunks:
        if stop.is_set():
            raise Cancelled
        progress.advance_bytes(len(chunk))
        yield chunk


def copy_object(
    source: ObjectStore,
    target: ObjectStore,
    row: MigrationObject,
    *,
    migrating: bool,
    stop: threading.Event,
    progress: Progress,
) -> Outcome:
    """Copy one object (streaming, never whole in memory) and verify the copy."""
    key = row.key
    try:
        if row.state == ObjectState.COPIED and row.sha256:
            return _verify_copy(source, target, row, row.sha256, row.size, migrating=migrating)
        digest, counter = hashlib.sha256(), [0]
        written = target.put(key, hashing(_cancellable(pumped(source.stream(key)), stop, progress), digest, counter))
        return _verify_copy(
            source, target, row, digest.hexdigest(), counter[0], migrating=migrating, written_etag=written.etag
        )
    except ObjectNotFound:
        return _gone(target, row, migrating=migrating)
    except Cancelled:
        raise
    except Exception as exc:  # any backend's failure is recorded on the row and retried on the next run
        return Outcome(row.id, ObjectState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


def _verify_copy(
    source: ObjectStore,
    target: ObjectStore,
    row: MigrationObject,
    sha256: str,
    size: int,
    *,
    migrating: bool,
    written_etag: str | None = None,
) -> Outcome:
    # Read the copy back and hash it: ETags are not content hashes on S3 (multipart) or Azure, so this is the one
    # check that holds on every backend and catches a truncated or corrupted write.
    copied = target.checksum(row.key)
    if copied != sha256:
        return Outcome(row.id, ObjectState.FAILED, error=f"the copy's checksum {copied} differs from {sha256}")
    try:
        now = source.head(row.key)
    except ObjectNotFound:
        return _gone(target, row, migrating=migrating)
    if now.size != size or (row.source_etag and etag_of(now) and etag_of(now) != row.source_etag):
        # Overwritten while we copied: what we copied may be the previous version. Copy again.
        why = (
            f"changed while it was copied: {size} bytes read (listed with ETag {row.source_etag or 'none'}), "
            f"now {now.size} bytes with ETag {etag_of(now) or 'none'}"
        )
        return Outcome(row.id, ObjectState.PENDING, size=now.size, source_etag=etag_of(now), error=why)
    # The ETag our own write got saves a request; a later overwrite changes it, and the switch's comparison, which
    # trusts only unchanged ETags, then reads both sides again.
    target_etag = etag_of(ObjectInfo(row.key, size, written_etag)) if written_etag else etag_of(target.head(row.key))
    return Outcome(row.id, ObjectState.VERIFIED, size, sha256, etag_of(now), target_etag)


def _gone(target: ObjectStore, row: MigrationObject, *, migrating: bool) -> Outcome:
    """Deleted from the source meanwhile. While migrating, the copy must go too, or it would outlive the delete;
    after the switch, deletes reach both stores anyway and the new store is not ours to prune."""
    if migrating:
        target.delete(row.key)
    return Outcome(row.id, ObjectState.GONE)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done: one arriving between SQLite's BEGIN and Django noting it
    would leave the connection in a transaction Django does not know about, and the final flush would then fail."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {number: signal.signal(number, lambda n, _f: received.append(n)) for number in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for arrived in received:
            signal.raise_signal(arrived)  # now handled as it would have been


_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _flush(outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    with _interrupts_deferred():
        _write_outcomes(outcomes)


def _write_outcomes(outcomes: list[Outcome]) -> None:
    rows = MigrationObject.objects.in_bulk([o.row_id for o in outcomes])
    now = timezone.now()
    for outcome in outcomes:
        row = rows[outcome.row_id]
        row.state, row.error, row.updated_at = outcome.state, outcome.error, now
        row.attempts += 1
        if outcome.state == ObjectState.VERIFIED:
            row.size, row.sha256 = outcome.size, outcome.sha256
            row.source_etag, row.target_etag = outcome.source_etag, outcome.target_etag
        elif outcome.state == ObjectState.PENDING:
            row.size, row.source_etag, row.sha256, row.target_etag = outcome.size, outcome.source_etag, "", ""
    with realms.atomic():
        MigrationObject.objects.bulk_update(
            rows.values(), ["state", "error", "updated_at", "attempts", "size", "sha256", "source_etag", "target_etag"]
        )
    outcomes.clear()


@dataclass
class CopyReport:
    copied: int = 0
    failed: int = 0
    gone: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)


def _copy_rows(
    rows: list[MigrationObject],
    source: ObjectStore,
    target: ObjectStore,
    *,
    migrating: bool,
    concurrency: int,
    progress: Progress,
    report: CopyReport,
) -> None:
    """Copy ``rows`` with ``concurrency`` threads, keeping at most twice that many submitted at once."""
    stop = threading.Event()
    pending_rows = iter(rows)
    inflight: dict[Future[Outcome], MigrationObject] = {}
    finished: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reelm-copy")
    try:
        while True:
            while len(inflight) < concurrency * 2 and (row := next(pending_rows, None)) is not None:
                task = pool.submit(copy_object, source, target, row, migrating=migrating, stop=stop, progress=progress)
                inflight[task] = row
            if not inflight:
                break
            done, _ = wait(inflight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
            counted = []
            for task in done:
                row = inflight.pop(task)
                outcome = task.result()
                finished.append(outcome)
                counted.append((row, outcome))
            # Recorded as soon as they finish, so a kill loses only the copies in flight.
            _flush(finished)
            for row, outcome in counted:
                _count(report, row, outcome, progress)
    except BaseException:
        stop.set()  # workers stop at their next chunk; what they finished is still recorded below
        for task in inflight:
            if task.done() and not task.cancelled() and task.exception() is None:
                finished.append(task.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _flush(finished)


def _count(report: CopyReport, row: MigrationObject, outcome: Outcome, progress: Progress) -> None:
    if outcome.state == ObjectState.VERIFIED:
        report.copied += 1
        report.bytes += outcome.size
    elif outcome.state == ObjectState.FAILED:
        report.failed += 1
        report.failures.append((row.key, outcome.error))
    elif outcome.state == ObjectState.GONE:
        report.gone += 1
    progress.object_done(outcome.state != ObjectState.FAILED)


def migration_copy(
    run: MigrationRun,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CopyReport:
    """Copy and verify everything not yet verified, then list again until nothing new turns up."""
    progress = progress or NullProgress()
    source, target = _stores(run)
    report, started = CopyReport(), time.monotonic()
    attempts: dict[object, int] = {}
    while True:
        phase, changed_at = _phase_of(run)
        migrating = phase == StorePhase.MIGRATING
        # Only a listing that starts once every process writes to both stores can be the last one.
        settled_at = changed_at + timedelta(seconds=PROPAGATION_SECONDS) if migrating else changed_at
        listing_started = timezone.now()
        progress.stage("listing the old store")
        _scan(run, source, target, migrating=migrating)
        rows = [
            row
            for row in run.items.filter(state__in=TODO_STATES).order_by("id")
            if attempts.get(row.id, 0) < ATTEMPTS_PER_PASS
        ]
        if not rows:
            if listing_started >= settled_at:
                break
            sleep((settled_at - listing_started).total_seconds())
            continue
        for row in rows:
            attempts[row.id] = attempts.get(row.id, 0) + 1
        progress.add_work(len(rows), sum(row.size for row in rows if row.state != ObjectState.COPIED))
        progress.stage("copying")
        _copy_rows(rows, source, target, migrating=migrating, concurrency=concurrency, progress=progress, report=report)
    report.seconds = time.monotonic() - started
    _update_counts(run)
    return report


def _update_counts(run: MigrationRun) -> None:
    live = run.items.exclude(state=ObjectState.GONE)
    run.objects_total = live.count()
    run.bytes_total = sum(live.values_list("size", flat=True))
    run.objects_verified = live.filter(state=ObjectState.VERIFIED).count()
    run.objects_failed = live.filter(state=ObjectState.FAILED).count()
    if run.state in (RunState.COPYING, RunState.VERIFIED):
        complete = run.objects_verified == run.objects_total
        run.state = RunState.VERIFIED if complete else RunState.COPYING
        run.verified_at = timezone.now() if complete else None
    run.save()


def unfinished_rows(run: MigrationRun) -> list[MigrationObject]:
    return list(run.items.filter(state__in=TODO_STATES).order_by("key"))


# --- comparing two stores -------------------------------------------------------------------------------------


@dataclass
class Comparison:
    same: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.differing or self.extra or self.errors)

    @property
    def covered(self) -> bool:
        """Every source object is in the target, identical (extra objects in the target aside)."""
        return not (self.missing or self.differing or self.errors)


def stores_compare(
    source: ObjectStore,
    target: ObjectStore,
    *,
    run: MigrationRun | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    reread: bool = False,
    progress: Progress | None = None,
) -> Comparison:
    """Compare by content, like ``rclone check``: missing from the target, differing, extra in the target.

    An object the run verified whose ETags are unchanged on both sides is known identical without reading it
    (an ETag changes whenever an object is rewritten, on every backend); ``reread`` hashes every object anyway.
    """
    progress = progress or NullProgress()
    progress.stage("listing both stores")
    # The target first: a concurrent write reaches the old store before the new one, so an object in this listing
    # is in the source listing too, and a write does not show up as "extra".
    target_list = {info.key: info for info in listed(target)}
    source_list = {info.key: info for info in listed(source)}
    known = _verified_rows(run) if run is not None and not reread else {}
    result = Comparison()
    to_hash: list[str] = []
    for key, info in sorted(source_list.items()):
        other = target_list.get(key)
        if other is None:
            result.missing.append(key)
        elif other.size != info.size:
            result.differing.append(key)
        elif _unchanged(known.get(key), info, other):
            result.same.append(key)
        else:
            to_hash.append(key)
    result.extra = sorted(set(target_list) - set(source_list))
    progress.add_work(len(to_hash), sum(source_list[key].size for key in to_hash))
    progress.stage("comparing checksums")
    _hash_both(source, target, {key: source_list[key].size for key in to_hash}, concurrency, progress, result)
    _recheck_listing_races(source, target, result)
    return result


def _verified_rows(run: MigrationRun) -> dict[str, tuple[str, str]]:
    rows = run.items.filter(state=ObjectState.VERIFIED).values_list("key", "source_etag", "target_etag")
    return {key: (source_etag, target_etag) for key, source_etag, target_etag in rows}


def _unchanged(recorded: tuple[str, str] | None, source: ObjectInfo, target: ObjectInfo) -> bool:
    if recorded is None or not etag_of(source) or not etag_of(target):
        return False
    return recorded == (etag_of(source), etag_of(target))


def _hash_both(
    source: ObjectStore,
    target: ObjectStore,
    sizes: dict[str, int],
    concurrency: int,
    progress: Progress,
    result: Comparison,
) -> None:
    def both(key: str) -> tuple[str, str | None, str | None, str]:
        try:
            hashes = key, source.checksum(key), target.checksum(key), ""
            progress.advance_bytes(sizes[key])
            return hashes
        except ObjectNotFound:
            return key, None, None, ""  # deleted meanwhile: settled by the re-check below
        except Exception as exc:  # an unreadable object is reported, not fatal to the comparison
            return key, None, None, f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reelm-check") as pool:
        for key, a, b, error in pool.map(both, sizes):
            progress.object_done(not error)
            if error:
                result.errors.append((key, error))
            elif a is None:
                result.missing.append(key)
            else:
                (result.same if a == b else result.differing).append(key)


def _recheck_listing_races(source: ObjectStore, target: ObjectStore, result: Comparison) -> None:
    """The two listings are not one snapshot: look again, one by one, at what they disagree on."""

    def now_same(key: str) -> bool:
        try:
            return source.checksum(key) == target.checksum(key)
        except ObjectNotFound:
            return not source.exists(key) and not target.exists(key)

    for name in ("missing", "differing"):
        still = [key for key in getattr(result, name) if not now_same(key)]
        result.same.extend(key for key in getattr(result, name) if key not in still)
        setattr(result, name, still)
    result.extra = [key for key in result.extra if target.exists(key) and not source.exists(key)]


# --- switch and purge -----------------------------------------------------------------------------------------


def migration_switch(
    run: MigrationRun, *, concurrency: int = DEFAULT_CONCURRENCY, progress: Progress | None = None
) -> Comparison:
    """Make the target primary, once a comparison of the two stores finds no difference at all."""
    config = config_get(run.realm)
    if config is None or config.phase != StorePhase.MIGRATING or not same_location(config.other_url, run.target_url):
        raise MigrationError(f"realm {run.realm!r} is not migrating to {run.target_url}; nothing to switch")
    # From the switch on, processes write to the new store only: each must be able to.
    target_preflight(run.source_url, run.target_url)
    source, target = _stores(run)
    comparison = stores_compare(source, target, run=run, concurrency=concurrency, progress=progress)
    if not comparison.clean:
        _recopy(run, comparison.missing + comparison.differing)
        raise MigrationError(
            "refusing to switch: the stores differ "
            f"({_differences(comparison)}); run `reelm storage migrate --to {run.target_url}` again"
        )
    with realms.atomic():
        _config_save(config, phase=StorePhase.SWITCHED, primary_url=run.target_url, other_url=run.source_url)
        run.state, run.switched_at = RunState.SWITCHED, timezone.now()
        run.save()
    return comparison


def _recopy(run: MigrationRun, keys: list[str]) -> None:
    """Mark objects found missing or differing for the next copy pass."""
    for start in range(0, len(keys), 500):
        run.items.filter(key__in=keys[start : start + 500]).update(state=ObjectState.PENDING, sha256="", target_etag="")


def _differences(comparison: Comparison) -> str:
    parts = [
        f"{len(comparison.missing)} missing",
        f"{len(comparison.differing)} differing",
        f"{len(comparison.extra)} extra",
        f"{len(comparison.errors)} unreadable",
    ]
    return ", ".join(part for part in parts if not part.startswith("0 "))


def purge_delay() -> float:
    """Seconds after the switch before old copies may go: every process must have seen the switch, and signed URLs
    to the old store handed out before it (when media are served by redirect) must have expired."""
    redirects = getattr(settings, "REELM_MEDIA_DIRECT_ORIGINS", None)
    signed = float(getattr(settings, "REELM_MEDIA_URL_SECONDS", 0)) if redirects else 0.0
    return PROPAGATION_SECONDS + signed


@dataclass
class PurgeReport:
    deleted: int = 0
    comparison: Comparison = field(default_factory=Comparison)


def migration_purge(
    run: MigrationRun,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PurgeReport:
    """Delete the old copies, after the switch, and only those found identical in the new store."""
    config = config_get(run.realm)
    if config is None or config.phase != StorePhase.SWITCHED or not same_location(config.primary_url, run.target_url):
        raise MigrationError(f"realm {run.realm!r} has not switched to {run.target_url}: run with --switch first")
    wait = (config.changed_at + timedelta(seconds=purge_delay()) - timezone.now()).total_seconds()
    if wait > 0:
        (progress or NullProgress()).stage(f"waiting {wait:.0f} s until nothing can still point at the old store")
        sleep(wait)
    source, target = _stores(run)
    # Deleting is the one step that cannot be undone: the two stores must be two places, and every object is read
    # again on both sides, no shortcut.
    _refuse_one_place(run, source, target, "purge")
    comparison = stores_compare(source, target, concurrency=concurrency, reread=True, progress=progress)
    if not comparison.covered:
        raise MigrationError(
            f"refusing to purge: the new store lacks copies of old objects ({_differences(comparison)}); "
            f"run `reelm storage migrate --to {run.target_url}` again to copy them"
        )
    _recheck_sample(source, target, comparison.same)
    (progress or NullProgress()).stage("deleting the old copies")
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reelm-purge") as pool:
        kept = [key for key in pool.map(lambda key: _delete_if_copied(source, target, key), comparison.same) if key]
    if kept:
        raise MigrationError(
            f"kept {len(kept)} old objects whose copy changed or vanished after the comparison (first: {kept[0]}); "
            f"run `reelm storage migrate --to {run.target_url} --purge-old` again"
        )
    with realms.atomic():
        _config_save(config, phase=StorePhase.STEADY, other_url="")
        run.state, run.purged_at = RunState.PURGED, timezone.now()
        run.save()
    return PurgeReport(deleted=len(comparison.same), comparison=comparison)


def _refuse_one_place(run: MigrationRun, source: ObjectStore, target: ObjectStore, step: str) -> None:
    why = overlap(run.source_url, run.target_url)
    try:
        stores_apart(source, target)
    except PreflightFailed as exc:
        why = why or str(exc)
    if why:
        raise MigrationError(f"refusing to {step}: {why}")


#: Objects whose content is read again on both sides right before the first delete.
RECHECK_SAMPLE = 16


def _recheck_sample(source: ObjectStore, target: ObjectStore, keys: list[str]) -> None:
    for key in random.sample(keys, min(RECHECK_SAMPLE, len(keys))):
        if source.checksum(key) != target.checksum(key):
            raise MigrationError(f"refusing to purge: {key} changed in the new store during the comparison; run again")


def _delete_if_copied(source: ObjectStore, target: ObjectStore, key: str) -> str | None:
    """Delete ``key`` from the old store if the new store still has a copy of its size; else return the key."""
    try:
        if target.head(key).size != source.head(key).size:
            return key
    except ObjectNotFound:
        return key if source.exists(key) else None
    source.delete(key)
    return None


# --- abort ----------------------------------------------------------------------------------------------------


@dataclass
class AbortReport:
    phase: str
    copied_back: int = 0
    deleted: int = 0
    #: Objects in the new store that the old one does not hold as they are: not copies, so left alone.
    left: int = 0


#: Passes of copying back what only the new store holds, before giving up (writes keep reaching both meanwhile).
COPY_BACK_PASSES = 3


def migration_abort(
    *,
    realm: str = DEFAULT_REALM,
    target_url: str,
    keep_copies: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AbortReport:
    """Return ``realm`` to the store it is migrating from, safe at any point before the purge.

    Before the switch the old store holds everything (it took every write first), so the realm goes back at once.
    After it, writes went to the new store only: the realm first returns to dual writes with the old store primary,
    what only the new store holds is copied back and verified, and only then is the old store alone again. The
    copies in the new store are deleted last, unless ``keep_copies``; an object there that the old store lacks is
    never deleted.
    """
    progress = progress or NullProgress()
    config, run = abortable(realm, target_url)
    old, new = _stores(run)
    if not keep_copies:
        _refuse_one_place(run, old, new, "delete the copies")
    report = AbortReport(config.phase)
    if run.state == RunState.SWITCHED:
        if config.phase == StorePhase.SWITCHED:
            with realms.atomic():
                _config_save(config, phase=StorePhase.MIGRATING, primary_url=run.source_url, other_url=run.target_url)
            progress.stage("waiting until every process writes to both stores again")
            sleep(PROPAGATION_SECONDS)
        report.copied_back = _copy_back(new, old, concurrency=concurrency, progress=progress)
    with realms.atomic():
        _config_save(config, phase=StorePhase.STEADY, primary_url=run.source_url, other_url="")
        run.state, run.aborted_at = RunState.ABORTED, timezone.now()
        run.save()
    if not keep_copies:
        progress.stage("waiting until no process writes to the new store")
        sleep(PROPAGATION_SECONDS)
        report.deleted, report.left = _delete_copies(old, new, concurrency=concurrency, progress=progress)
    return report


def abortable(realm: str, target_url: str) -> tuple[StoreConfig, MigrationRun]:
    """The realm's store configuration and the run that ``--abort`` would undo; MigrationError when there is none."""
    config = config_get(realm)
    if config is None or config.phase == StorePhase.STEADY:
        raise MigrationError(f"realm {realm!r} is not migrating; there is nothing to abort")
    current_target = config.other_url if config.phase == StorePhase.MIGRATING else config.primary_url
    run = run_for(realm, target_url)
    if run is None or not same_location(current_target, target_url):
        raise MigrationError(f"realm {realm!r} is migrating to {current_target}, not to {target_url}")
    return config, run


def _copy_back(new: ObjectStore, old: ObjectStore, *, concurrency: int, progress: Progress) -> int:
    """Copy what the new store holds and the old one lacks (or holds otherwise) into the old store, verified."""
    copied = 0
    for _ in range(COPY_BACK_PASSES):
        comparison = stores_compare(new, old, concurrency=concurrency, progress=progress)
        if comparison.covered:
            return copied
        todo = comparison.missing + comparison.differing
        progress.stage(f"copying {len(todo)} objects back to the old store")
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reelm-back") as pool:
            copied += sum(pool.map(lambda key: _copy_one(new, old, key), todo))
    raise MigrationError(
        "could not copy everything back to the old store (is the new store answering?); meanwhile every write goes "
        "to the old store first and reads fall back to it. Run the same command again."
    )


def _copy_one(source: ObjectStore, target: ObjectStore, key: str) -> bool:
    digest, counter = hashlib.sha256(), [0]
    try:
        target.put(key, hashing(pumped(source.stream(key)), digest, counter))
    except ObjectNotFound:
        return False  # deleted meanwhile (from both stores)
    return target.checksum(key) == digest.hexdigest()


def _delete_copies(old: ObjectStore, new: ObjectStore, *, concurrency: int, progress: Progress) -> tuple[int, int]:
    progress.stage("deleting the copies from the new store")
    originals = {info.key: info.size for info in listed(old)}
    copies, left = [], 0
    for info in listed(new):
        if originals.get(info.key) == info.size:
            copies.append(info.key)
        else:
            left += 1
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reelm-abort") as pool:
        list(pool.map(new.delete, copies))
    return len(copies), left


# --- dry run ---------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    realm: str
    source_url: str
    target_url: str
    phase: str
    resuming: bool
    objects: int = 0
    bytes: int = 0
    already_verified: int = 0
    steps: list[str] = field(default_factory=list)
    #: What the preflight found wrong with the target, or "" when it passed (or was not needed: resuming).
    problem: str = ""
    processes: list[ProcessAnswer] = field(default_factory=list)


def migration_plan(*, realm: str, target_url: str, switch: bool, purge: bool) -> Plan:
    """What ``migrate`` would do; reads the stores and the database, changes nothing (the preflight's probe
    objects are removed again)."""
    _openable(target_url)
    source_url = source_url_for(realm, target_url)
    if same_location(source_url, target_url):
        raise MigrationError(f"{target_url} already is the store of realm {realm!r}")
    config = config_get(realm)
    phase = config.phase if config else StorePhase.STEADY
    run = run_for(realm, target_url) if phase != StorePhase.STEADY else None
    verified = _verified_rows(run) if run else {}
    plan = Plan(realm, source_url, target_url, phase, resuming=run is not None)
    if phase == StorePhase.STEADY:
        stores_distinct(source_url, target_url, realm=realm)
        try:
            plan.processes = target_preflight(source_url, target_url)
        except MigrationError as exc:
            plan.problem = str(exc)
    for info in listed(registry._cached(source_url)):
        if info.key in verified:
            plan.already_verified += 1
        else:
            plan.objects += 1
            plan.bytes += info.size
    plan.steps = _plan_steps(plan, switch=switch, purge=purge)
    return plan


def _plan_steps(plan: Plan, *, switch: bool, purge: bool) -> list[str]:
    steps = []
    if plan.phase == StorePhase.STEADY:
        steps.append("try the new store from here and from every running process (write, read, list, delete)")
        steps.append("record a migration run; every process starts writing to both stores and reading the new one")
    steps.append(
        f"copy and verify {plan.objects} objects ({plan.bytes} bytes); {plan.already_verified} already verified"
    )
    steps.append("list the old store again until nothing new appears, then compare both stores")
    if switch and plan.phase != StorePhase.SWITCHED:
        steps.append("if they are identical: make the new store primary (reads still fall back to the old one)")
    if purge:
        steps.append("re-read every old object and its copy; if all are identical, delete the old copies")
    return steps
