"""Benchmark ``reelm storage migrate`` (copy + read-back verification) against ``rclone copy`` + ``rclone check``.

Both move the same objects from a real S3 server (SeaweedFS) to a real Azure Blob emulator (Azurite), started with
``tests/storage/servers.py``, at the same concurrency, interleaved round by round:

  reelm            a fresh REELM_DATA_DIR (``reelm migrate``), REELM_STORAGE_URL = the S3 prefix, then the timed
                   subprocess ``reelm storage migrate --to az://... --concurrency N``: lists, copies (streaming,
                   hashing on the way), re-reads every copy from Azure and compares SHA-256, records it all in SQLite.
                   Meanwhile ``reelm serve`` runs on the same data directory and a reader fetches avatars through
                   the site (GET /media/avatars/<user>/<id>.jpg: served from the storage seam with no database
                   row needed, so they go through the migration's read-new-then-fall-back-to-old routing).
  rclone copy      ``rclone copy --transfers N --checkers N`` from the same S3 prefix to a fresh Azure prefix, then
  rclone check     ``rclone check --checkers N`` (MD5 where both sides have one, sizes otherwise: see the notes), and
  check --download ``rclone check --download``: reads both sides again and compares bytes, the counterpart of
                   Reelm's read-back verification.

The objects are written once, through Reelm's own S3 store (as a Reelm site would have written them: multipart
above 5 MiB, so large objects carry no MD5 ETag): ``--small`` objects of 1 MiB, ``--large`` of ``--large-mib`` MiB,
plus a few avatars for the reader; random bytes, all distinct. Every copy is checked afterwards (count and bytes).

Target (from the issue): Reelm >= 1.0x rclone's throughput (copy + check), while it also keeps the site serving.

Run it with the project's interpreter:  .venv/bin/python bench/migrate.py [--rounds 3] [--concurrency 8 16]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from transcode import (
    PYTHON,
    REPO,
    _free_port,
    _interrupt_on_sigterm,
    _median,
    _table,
    console,
    machine_busy,
    proc_stat,
    proc_tree,
    settle,
)

sys.path.insert(0, str(REPO))  # tests/ is not installed; its server helpers are imported, not copied
from tests.storage import servers

MiB = 1024 * 1024
TARGET = 1.0  # Reelm's throughput / rclone's (copy + check)
SOURCE_PREFIX = "src"
AVATARS = 4
AVATAR_BYTES = 64 * 1024


# --- measurements ------------------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds spent while one variant ran, by party, and what the rest of the machine used (cores)."""

    tool: float = 0.0  # the reelm migrate / rclone processes
    s3: float = 0.0  # SeaweedFS
    azurite: float = 0.0
    site: float = 0.0  # reelm serve + this benchmark's reader loop
    background: float = 0.0  # cores used by anything else meanwhile (0 = nothing else ran)


@dataclass
class SiteLoad:
    served: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class ReelmRun:
    round: int
    concurrency: int
    seconds: float  # wall clock of `reelm storage migrate`, process start to exit
    copy_seconds: float | None  # the copier's own figure, from its summary (listing + copy + verify)
    cpu: Cpu
    site: SiteLoad | None  # None: run without the site (--solo)


@dataclass
class RcloneRun:
    round: int
    concurrency: int
    copy: float
    check: float
    check_download: float
    check_notes: str  # what rclone check said about hashes
    cpu_copy: Cpu
    cpu_check: Cpu
    cpu_download: Cpu


@dataclass
class Results:
    machine: str
    objects: int
    bytes: int
    rounds: int
    reelm: list[ReelmRun] = field(default_factory=list)
    solo: list[ReelmRun] = field(default_factory=list)
    rclone: list[RcloneRun] = field(default_factory=list)
    concurrencies: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # variants that failed (the benchmark goes on without them)


# --- set-up --------------------------------------------------------------------------------------------------


def ensure_rclone() -> str:
    """rclone from Debian's packages: installed here when missing and running as root, else a clear error."""
    found = shutil.which("rclone")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("rclone is not installed: run `sudo apt-get install -y rclone` (Debian's package), then retry")
    with console.status("installing rclone from Debian's packages (apt-get install -y rclone)…"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "rclone"], env=env, capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
            subprocess.run(["apt-get", "install", "-y", "rclone"], env=env, capture_output=True, check=True)
    found = shutil.which("rclone")
    if not found:
        raise SystemExit("apt-get install rclone finished but no rclone is on PATH")
    return found


def tool_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for the timed commands: no REELM_* or Django settings from outside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("REELM_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def rclone_env(config: Path) -> dict[str, str]:
    env = tool_env({"RCLONE_CONFIG": str(config)})
    # Debian's rclone 1.60 cannot apply AWS_CA_BUNDLE at all ("LoadCustomCABundleError ... unsupported transport"),
    # even when it names a readable file; the servers here speak plain http anyway.
    env.pop("AWS_CA_BUNDLE", None)
    return env


def write_rclone_config(path: Path, s3: servers.Server, azurite: servers.Server) -> None:
    path.write_text(
        "[s3]\n"
        "type = s3\n"
        "provider = SeaweedFS\n"
        f"access_key_id = {s3.env['AWS_ACCESS_KEY_ID']}\n"
        f"secret_access_key = {s3.env['AWS_SECRET_ACCESS_KEY']}\n"
        f"endpoint = {s3.endpoint}\n"
        "region = us-east-1\n"
        "force_path_style = true\n"
        "\n"
        "[az]\n"
        "type = azureblob\n"
        "use_emulator = true\n"
        # rclone 1.60 ignores the emulator's port unless the endpoint is given explicitly.
        f"endpoint = {azurite.endpoint}\n"
    )


@dataclass
class Seeded:
    objects: int
    bytes: int
    avatars: dict[str, str]  # URL path -> sha256


def seed(args: argparse.Namespace, source_url: str) -> Seeded:
    """Distinct random objects, written through Reelm's own S3 store (as a Reelm site would have written them)."""
    from reelm.storage.registry import store_from_url

    store = store_from_url(source_url)
    jobs = [(f"bench/small/{i:05d}.bin", MiB) for i in range(args.small)]
    jobs += [(f"bench/large/{i:03d}.bin", args.large_mib * MiB) for i in range(args.large)]
    avatars: dict[str, str] = {}
    for _ in range(AVATARS):
        user, image = uuid.uuid4(), uuid.uuid4()
        key = f"avatars/{user}/{image}.jpg"
        jobs.append((key, AVATAR_BYTES))
        avatars[f"/media/{key}"] = ""

    def put(job: tuple[str, int]) -> tuple[str, str]:
        key, size = job
        data = secrets.token_bytes(size)
        store.put(key, data)
        return key, hashlib.sha256(data).hexdigest()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for key, digest in pool.map(put, jobs):
            if f"/media/{key}" in avatars:
                avatars[f"/media/{key}"] = digest
    return Seeded(objects=len(jobs), bytes=sum(size for _, size in jobs), avatars=avatars)


def check_copy(url: str, seeded: Seeded) -> None:
    """Every object arrived, at full size (the tools verify content; this guards the benchmark itself)."""
    from reelm.storage.registry import store_from_url

    listed = list(store_from_url(url).list(""))
    count, size = len(listed), sum(info.size for info in listed)
    if (count, size) != (seeded.objects, seeded.bytes):
        raise RuntimeError(f"{url}: {count} objects / {size} bytes, expected {seeded.objects} / {seeded.bytes}")


def drop_prefix(azurite: servers.Server, prefix: str) -> None:
    """Free Azurite's memory (it keeps every blob in RAM) once a variant's copy has been checked."""
    from reelm.storage.registry import store_from_url

    root = store_from_url(f"az://{servers.BUCKET}?account={servers.AZURE_ACCOUNT}&endpoint={azurite.endpoint}")
    root.delete_prefix(f"{prefix}/")


# --- CPU accounting --------------------------------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    return sum(stat.own for stat in map(proc_stat, proc_tree(pid)) if stat is not None)


class CpuWatch:
    """CPU by party over one timed command; the command itself is a waited-for child (RUSAGE_CHILDREN)."""

    def __init__(self, s3: servers.Server, azurite: servers.Server, site_pid: int | None = None):
        self._pids = (s3.process.pid, azurite.process.pid, site_pid)
        self._start = self._sample()

    def _sample(self) -> tuple[float, ...]:
        s3, azurite, site = self._pids
        return (
            time.perf_counter(),
            machine_busy(),
            _children_cpu(),
            _tree_cpu(s3),
            _tree_cpu(azurite),
            _tree_cpu(site) + _self_cpu(),
        )

    def stop(self) -> Cpu:
        end = self._sample()
        wall, busy, tool, s3, azurite, site = (b - a for a, b in zip(self._start, end, strict=True))
        others = max(busy - tool - s3 - azurite - site, 0.0)
        return Cpu(tool=tool, s3=s3, azurite=azurite, site=site, background=others / wall if wall > 0 else 0.0)


# --- the site during Reelm's migration ----------------------------------------------------------------------------


class Site:
    """``reelm serve`` (gunicorn, its defaults) on the run's data directory."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.port = _free_port()
        self.log = root / "serve.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [str(PYTHON), "-m", "reelm.cli", "serve", "--bind", f"127.0.0.1:{self.port}"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"reelm serve exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    connection.close()
                    return
                connection.close()
            time.sleep(0.2)
        raise RuntimeError(f"reelm serve did not serve {path} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:]) if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Reader(threading.Thread):
    """Fetches the avatars through the site in turn, at most ``rate`` requests a second, checking every body."""

    def __init__(self, port: int, avatars: dict[str, str], rate: float):
        super().__init__(name="site-reader", daemon=True)
        self.port, self.avatars, self.interval = port, list(avatars.items()), 1.0 / rate
        self.load = SiteLoad()
        self._halt = threading.Event()

    def run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        index = 0
        while not self._halt.is_set():
            started = time.perf_counter()
            path, digest = self.avatars[index % len(self.avatars)]
            index += 1
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                if response.status != 200 or hashlib.sha256(body).hexdigest() != digest:
                    self._fail(f"{path}: HTTP {response.status}, {len(body)} bytes")
                else:
                    self.load.served += 1
                    self.load.latencies_ms.append((time.perf_counter() - started) * 1000)
            except (OSError, http.client.HTTPException) as exc:
                self._fail(f"{path}: {type(exc).__name__}: {exc}")
                if connection is not None:
                    connection.close()
                connection = None
            self._halt.wait(max(0.0, self.interval - (time.perf_counter() - started)))
        if connection is not None:
            connection.close()

    def _fail(self, error: str) -> None:
        self.load.failed += 1
        if len(self.load.errors) < 5:
            self.load.errors.append(error)

    def finish(self) -> SiteLoad:
        self._halt.set()
        self.join(timeout=15)
        return self.load


# --- the variants ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    root: Path
    s3: servers.Server
    azurite: servers.Server
    rclone: str
    rclone_env: dict[str, str]
    source_url: str
    seeded: Seeded


_COPY_SECONDS = re.compile(r"\btime\s*│?\s*([0-9.]+) s\b")


def run_reelm(ctx: Context, index: int, concurrency: int, *, with_site: bool) -> ReelmRun:
    name = f"reelm{'' if with_site else '-solo'}-c{concurrency}-r{index}"
    work = ctx.root / name
    work.mkdir()
    target_url = servers.store_url("azure", ctx.azurite, name, ctx.root)
    env = tool_env({**ctx.s3.env, **ctx.azurite.env})
    env.update({"REELM_DATA_DIR": str(work / "data"), "REELM_STORAGE_URL": ctx.source_url, "TMPDIR": str(work)})
    subprocess.run([str(PYTHON), "-m", "reelm.cli", "migrate"], cwd=REPO, env=env, capture_output=True, check=True)
    reader: Reader | None = None
    with contextlib.ExitStack() as cleanup:
        site = None
        if with_site:
            site = Site(work, env)
            cleanup.callback(site.stop)  # also when anything below fails
            for path in ctx.seeded.avatars:  # up, and each avatar served once before the timed part
                site.wait_ready(path)
        settle(ctx.args.quiet_wait)
        if site is not None:
            reader = Reader(site.port, ctx.seeded.avatars, ctx.args.read_rate)
            reader.start()
            cleanup.callback(reader.finish)
        watch = CpuWatch(ctx.s3, ctx.azurite, site.process.pid if site else None)
        command = [str(PYTHON), "-m", "reelm.cli", "storage", "migrate", "--to", target_url]
        command += ["--concurrency", str(concurrency)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        load = reader.finish() if reader else None
        cpu = watch.stop()
    output = done.stdout + done.stderr
    (work / "migrate.log").write_text(output)
    if done.returncode != 0:
        raise RuntimeError(f"reelm storage migrate exited with {done.returncode}:\n{output[-3000:]}")
    check_copy(target_url, ctx.seeded)
    drop_prefix(ctx.azurite, name)
    match = _COPY_SECONDS.search(output)
    return ReelmRun(index, concurrency, seconds, float(match.group(1)) if match else None, cpu, load)


_HASH_NOTES = re.compile(r"(\d+ hashes could not be checked|no hashes in common[^\n]*|\d+ matching files)")


def run_rclone(ctx: Context, index: int, concurrency: int) -> RcloneRun:
    name = f"rclone-c{concurrency}-r{index}"
    source, target = f"s3:{servers.BUCKET}/{SOURCE_PREFIX}", f"az:{servers.BUCKET}/{name}"
    flags = ["--transfers", str(concurrency), "--checkers", str(concurrency)]

    def timed(*command: str) -> tuple[float, str, Cpu]:
        settle(ctx.args.quiet_wait)
        watch = CpuWatch(ctx.s3, ctx.azurite)
        started = time.perf_counter()
        done = subprocess.run(
            [ctx.rclone, *command, source, target, *flags], env=ctx.rclone_env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        cpu = watch.stop()
        with open(ctx.root / f"{name}.log", "a") as log:
            log.write(f"$ rclone {' '.join(command)}\n{done.stdout}{done.stderr}\n")
        if done.returncode != 0:
            raise RuntimeError(f"rclone {' '.join(command)} exited with {done.returncode}:\n{done.stderr[-3000:]}")
        return seconds, done.stdout + done.stderr, cpu

    copy, _, cpu_copy = timed("copy")
    check, check_out, cpu_check = timed("check")
    download, _, cpu_download = timed("check", "--download")
    check_copy(servers.store_url("azure", ctx.azurite, name, ctx.root), ctx.seeded)
    drop_prefix(ctx.azurite, name)
    notes = "; ".join(dict.fromkeys(_HASH_NOTES.findall(check_out))) or "no hash notes"
    return RcloneRun(index, concurrency, copy, check, download, notes, cpu_copy, cpu_check, cpu_download)


# --- reporting -------------------------------------------------------------------------------------------------


def _mbps(nbytes: int, seconds: float | None) -> str:
    return "—" if not seconds else f"{nbytes / 1e6 / seconds:.1f}"


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(results: Results) -> bool:
    """Print the tables and the verdict; return whether the target was met at the first concurrency."""
    size = results.bytes
    met: bool | None = None
    for concurrency in dict.fromkeys([*results.concurrencies]):
        reelm = [r for r in results.reelm if r.concurrency == concurrency]
        solo = [r for r in results.solo if r.concurrency == concurrency]
        rclone = [r for r in results.rclone if r.concurrency == concurrency]
        table = _table(
            f"Concurrency {concurrency}: wall clock, seconds ({results.objects} objects, {size / 1e6:.0f} MB)",
            ["round", "reelm", "reelm solo", "rc copy", "rc check", "check --dl",
             "copy+check", "copy+chk --dl", "ratio", "ratio --dl"],
        )  # fmt: skip
        rows: list[list[float | None]] = []
        for index in range(1, results.rounds + 1):
            r = next((run.seconds for run in reelm if run.round == index), None)
            s = next((run.seconds for run in solo if run.round == index), None)
            c = next((run for run in rclone if run.round == index), None)
            times = (
                [c.copy, c.check, c.check_download, c.copy + c.check, c.copy + c.check_download] if c else [None] * 5
            )
            basic, full = times[3], times[4]
            ratios = [basic / r, full / r] if r and basic and full else [None, None]
            rows.append([r, s, *times, *ratios])
        for i, row in enumerate(rows, 1):
            table.add_row(str(i), *(_f(v) for v in row))
        med = [_median([row[i] for row in rows]) for i in range(len(rows[0]))]
        if med[0] is None or med[5] is None or med[6] is None:
            console.print(table)
            console.print(f"[red]concurrency {concurrency}: no complete Reelm/rclone pair; no verdict[/red]")
            met = False if met is None else met
            continue
        # Ratios of medians (throughput ratio = rclone time / Reelm time), not medians of per-round ratios.
        med[7], med[8] = med[5] / med[0], med[6] / med[0]
        table.add_row("median", *(_f(v) for v in med), style="bold")
        table.add_row("MB/s", *(_mbps(size, v) for v in med[:7]), "", "", style="italic")
        console.print(table)
        console.print(
            "reelm: `reelm storage migrate` (copy + read-back verify) while the site serves; reelm solo: without the "
            "site; rc: rclone; ratio: Reelm's throughput / rclone copy+check's (= rclone time / Reelm time; the "
            "median row is a ratio of medians); ratio --dl: against copy + check --download"
        )

        cpu = _table(
            f"Concurrency {concurrency}: CPU seconds per run (medians) and other work on the machine",
            ["variant", "tool", "SeaweedFS", "Azurite", "site+reader", "total", "background cores"],
        )
        for label, cpus in (
            ("reelm migrate (+ site)", [r.cpu for r in reelm]),
            ("reelm migrate, no site", [r.cpu for r in solo]),
            ("rclone copy", [c.cpu_copy for c in rclone]),
            ("rclone check", [c.cpu_check for c in rclone]),
            ("rclone check --download", [c.cpu_download for c in rclone]),
        ):
            if not cpus:
                continue
            parts = [statistics.median(getattr(c, name) for c in cpus) for name in ("tool", "s3", "azurite", "site")]
            cpu.add_row(
                label, *(_f(p, 1) for p in parts), _f(sum(parts), 1), _f(statistics.median(c.background for c in cpus))
            )
        console.print(cpu)

        loads = [r.site for r in reelm if r.site is not None]
        served, failed = sum(s.served for s in loads), sum(s.failed for s in loads)
        latencies = SiteLoad(latencies_ms=[ms for s in loads for ms in s.latencies_ms])
        console.print(
            f"site during Reelm's migrations: {served} avatar requests served, {failed} failed "
            f"(p50 {_f(latencies.percentile(0.5), 1)} ms, p95 {_f(latencies.percentile(0.95), 1)} ms, "
            f"max {_f(max(latencies.latencies_ms, default=None), 1)} ms)"
        )
        for load in loads:
            for error in load.errors:
                console.print(f"  [red]{error}[/red]")
        if rclone:
            console.print(f"rclone check on this pair: {rclone[0].check_notes}")
        copier = [r.copy_seconds for r in reelm if r.copy_seconds is not None]
        if copier:
            console.print(
                f"reelm's own copy summary (listing + copy + verify, no process start-up): median "
                f"{statistics.median(copier):.2f} s"
            )
        ratio = med[7]
        ok = ratio >= TARGET and failed == 0
        verdict = "[green]met[/green]" if ok else "[red]missed[/red]"
        console.print(
            f"[bold]verdict (concurrency {concurrency}): Reelm {_mbps(size, med[0])} MB/s vs rclone copy+check "
            f"{_mbps(size, med[5])} MB/s = {ratio:.2f}x (target >= {TARGET:.1f}x, site failures {failed}): {verdict}; "
            f"vs copy+check --download {med[8]:.2f}x[/bold]"
        )
        met = ok if met is None else met
    for failure in results.failures:
        console.print(f"[red]failed run (left out of the medians): {failure}[/red]")
    return bool(met)


# --- main ------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `reelm storage migrate` (with verification, site serving) against `rclone copy` + "
        "`rclone check`, S3 (SeaweedFS) -> Azure Blob (Azurite), interleaved rounds.",
        epilog="Run with the project's interpreter: .venv/bin/python bench/migrate.py",
    )
    parser.add_argument("--small", type=int, default=500, help="objects of 1 MiB (default 500)")
    parser.add_argument("--large", type=int, default=5, help="large objects (default 5)")
    parser.add_argument("--large-mib", type=int, default=50, help="size of each large object in MiB (default 50)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per concurrency (default 2)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8], help="one or more concurrencies to measure (default 8)"
    )
    parser.add_argument("--read-rate", type=float, default=10, help="site reader requests per second (default 10)")
    parser.add_argument(
        "--solo", action="store_true", help="also time Reelm's migration without the site and its reader"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30,
        help="before each timed command, wait up to this many seconds for the machine to be idle (default 30)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw measurements to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, data dirs) at the end")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.small < 0 or args.large < 0 or min(args.concurrency) < 1 or args.read_rate <= 0:
        parser.error("--rounds and --concurrency must be >= 1, --small/--large >= 0, --read-rate > 0")
    return args


@contextlib.contextmanager
def temporary_root(keep: bool) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="reelm-bench-migrate-"))
    try:
        yield root
    finally:
        if keep:
            console.print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def machine_summary(rclone: str) -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown CPU",
    )  # fmt: skip
    version = subprocess.run([rclone, "version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return (
        f"{os.cpu_count()} CPUs ({model}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {version.strip()}, "
        f"reelm {commit.stdout.strip() or 'unknown'}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    _interrupt_on_sigterm()
    rclone = ensure_rclone()
    try:
        with temporary_root(args.keep) as root, contextlib.ExitStack() as stack:
            results = run(args, root, rclone, stack)
            met = report(results)
            if args.json:
                args.json.write_text(json.dumps(asdict(results), indent=2) + "\n")
                console.print(f"raw measurements written to {args.json}")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cleaned up[/yellow]")
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        console.print(f"[red]benchmark failed (servers stopped, temp files removed unless --keep):[/red] {exc}")
        return 1
    console.print("target met" if met else "target missed (the benchmark itself ran fine)")
    return 0


def run(args: argparse.Namespace, root: Path, rclone: str, stack: contextlib.ExitStack) -> Results:
    machine = machine_summary(rclone)
    console.print(f"machine: {machine}")
    with console.status("starting SeaweedFS (S3) and Azurite…"):
        s3 = stack.enter_context(servers.running("s3", root))
        azurite = stack.enter_context(servers.running("azure", root))
    # This process seeds, checks and clears the stores through Reelm's registry, which reads credentials from here.
    os.environ.update({**s3.env, **azurite.env})
    config = root / "rclone.conf"
    write_rclone_config(config, s3, azurite)
    source_url = servers.store_url("s3", s3, SOURCE_PREFIX, root)
    total = args.small + args.large * args.large_mib
    with console.status(f"seeding {args.small} × 1 MiB + {args.large} × {args.large_mib} MiB into {source_url}…"):
        started = time.perf_counter()
        seeded = seed(args, source_url)
    console.print(
        f"seeded {seeded.objects} objects ({seeded.bytes / 1e6:.0f} MB, {total} MiB + {AVATARS} avatars) in "
        f"{time.perf_counter() - started:.1f} s; S3 {s3.endpoint}, Azurite {azurite.endpoint}"
    )
    ctx = Context(
        args, root, s3, azurite, rclone, rclone_env(config), source_url, seeded
    )  # fmt: skip
    results = Results(machine=machine, objects=seeded.objects, bytes=seeded.bytes, rounds=args.rounds)
    results.concurrencies = list(args.concurrency)
    for concurrency in args.concurrency:
        for index in range(1, args.rounds + 1):
            variants = ["reelm", "rclone", *(["solo"] if args.solo else [])]
            shift = (index - 1) % len(variants)
            for variant in variants[shift:] + variants[:shift]:  # rotate the order round by round
                label = f"concurrency {concurrency}, round {index}/{args.rounds}"
                try:
                    run_variant(ctx, results, variant, label, index, concurrency)
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    # One failed run (an emulator timing out, say) is reported, not fatal to the others.
                    first = str(exc).strip().splitlines()
                    results.failures.append(f"{label}, {variant}: {first[0] if first else type(exc).__name__}")
                    console.print(f"[red]{label}: {variant} failed:[/red] {str(exc)[-1500:]}")
                    prefix = f"{'rclone' if variant == 'rclone' else variant.replace('solo', 'reelm-solo')}"
                    with contextlib.suppress(Exception):
                        drop_prefix(azurite, f"{prefix}-c{concurrency}-r{index}")
    return results


def run_variant(ctx: Context, results: Results, variant: str, label: str, index: int, concurrency: int) -> None:
    if variant == "rclone":
        with console.status(f"{label}: rclone copy, check, check --download…"):
            c = run_rclone(ctx, index, concurrency)
        results.rclone.append(c)
        console.print(
            f"{label}: rclone copy {c.copy:.2f} s, check {c.check:.2f} s, check --download {c.check_download:.2f} s"
        )
        return
    with_site = variant == "reelm"
    with console.status(f"{label}: reelm storage migrate{'' if with_site else ' (no site)'}…"):
        r = run_reelm(ctx, index, concurrency, with_site=with_site)
    (results.reelm if with_site else results.solo).append(r)
    site = f", site served {r.site.served} / failed {r.site.failed}" if r.site else ", no site"
    console.print(f"{label}: reelm storage migrate {r.seconds:.2f} s{site} (background {r.cpu.background:.2f} cores)")


if __name__ == "__main__":
    sys.exit(main())
