"""Mixed load on Reelm: the embedded default against PostgreSQL + Redis with 2 and 4 production web processes.

Three configurations, one run, each on a freshly started server on a free loopback port:

  embedded        ``reelm run``: SQLite, the SQLite queue, gunicorn with 2 processes and a worker
  pg+redis w2     ``reelm serve --prod --workers 2`` + ``reelm worker`` on PostgreSQL and Redis (queue and cache)
  pg+redis w4     the same with ``--workers 4``

PostgreSQL (initdb as Debian's ``postgres`` user when run as root, fsync off) and Redis (no persistence) are
throwaway servers on 127.0.0.1 in temporary directories, started and stopped here, as ``./dev test --scaled`` does.
Each database is seeded through the ORM by ``feed_web.seed`` (in a subprocess, so each gets its own settings); the
two PostgreSQL configurations share one seeded database (the second also sees the first's likes, comments, events).

A load generator *process* (``feed_web``-style keep-alive ``http.client`` connections, 127.0.0.1 only) sends an
open-loop paced load: request *i* is due at ``start + i / rate`` whatever the server's speed, for ``--duration``
seconds, then stops. Latency is measured from the due time (so queueing behind a slow server counts). Mix:

  feed            70 %: For You signed in 35 %, For You anonymous 15 %, Following 20 % (Bearer token of a sample user)
  like            10 %: PUT or DELETE /api/videos/<id>/like (half each), random sample user and public video
  comment          5 %: POST /api/videos/<id>/comments
  events          15 %: POST /api/events, a batch of 5 watch events (impression, watch, complete, skip …)

Target (from the issue): 0 errors and p99 <= 100 ms at 200 requests/s on this 2-core machine. By default each
configuration is also measured at 50 requests/s (``--rate 200 50``): latency below saturation, for the capacity model.

Run it with the project's interpreter:  .venv/bin/python bench/load.py [--rate 200] [--duration 20]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feed_web import add_seed_arguments
from rich.table import Table
from transcode import (
    PYTHON,
    REPO,
    SHARED_ENV,
    ReelmServer,
    _free_port,
    _interrupt_on_sigterm,
    _responds,
    console,
    machine_summary,
    settle,
    temporary_root,
)

P99_TARGET_MS = 100.0
RATE_TARGET = 200.0
KINDS = ("for-you auth", "for-you anon", "following", "like", "comment", "events")
MIX = (35, 15, 20, 10, 5, 15)  # percent, in the order of KINDS
EVENTS_PER_BATCH = 5


# --- seeding (a subprocess per database: Django's settings are read once per process) -------------------------


def seed_main(args: argparse.Namespace) -> int:
    from feed_web import seed

    secrets_out = seed(args)
    from django.db import connection

    from reelm.videos.models import Video, Visibility

    public = Video.objects.filter(visibility=Visibility.PUBLIC, owner__is_private=False).order_by("-created_at")
    videos = [str(v) for v in public.values_list("id", flat=True)[: args.targets]]
    connection.close()
    Path(args.out).write_text(json.dumps({"tokens": secrets_out, "videos": videos}))
    return 0


def run_seed(env: dict[str, str], out: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    command = [
        str(PYTHON), __file__, "_seed", "--out", str(out), "--videos", str(args.videos),
        "--accounts", str(args.accounts), "--sample-users", str(args.sample_users), "--likes", str(args.likes),
        "--comments", str(args.comments), "--seed", str(args.seed),
    ]  # fmt: skip
    env = {**env, "DJANGO_SETTINGS_MODULE": "reelm.settings"}
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode:
        raise RuntimeError(f"seeding failed:\n{done.stdout}\n{done.stderr}")
    console.print(done.stdout.strip(), highlight=False)
    data: dict[str, list[str]] = json.loads(out.read_text())
    return data


# --- throwaway PostgreSQL and Redis ----------------------------------------------------------------------------


def pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("bench/load.py needs PostgreSQL 15+: install Debian's postgresql package")
    return found[-1].parent


@contextlib.contextmanager
def postgres_and_redis() -> Iterator[tuple[str, str, str]]:
    """(database URL, queue URL, cache URL) of a throwaway PostgreSQL and Redis on loopback."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("bench/load.py needs Redis: install Debian's redis-server package")
    bindir = pg_bindir()
    servers = Path(tempfile.mkdtemp(prefix="reelm-bench-servers-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            user, entry = "nobody", pwd.getpwnam("nobody")
        os.chown(servers, entry.pw_uid, entry.pw_gid)
        run_as = ["runuser", "-u", user, "--"]
    pg_port, redis_port = _free_port(), _free_port()
    data = servers / "pg"
    redis: subprocess.Popen[bytes] | None = None
    started = False
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "reelm", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = (
            f"-k {servers} -h 127.0.0.1 -p {pg_port} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(servers / "pg.log"), "-w", "-s",
             "start", "-o", options],
            check=True, capture_output=True,
        )  # fmt: skip
        started = True
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "reelm", "reelm"],
            check=True,
            capture_output=True,
        )
        redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(servers), "--logfile", str(servers / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _redis_ready(redis_port):
            if time.monotonic() > deadline or redis.poll() is not None:
                raise RuntimeError("redis-server did not come up")
            time.sleep(0.1)
        yield (
            f"postgresql://reelm@127.0.0.1:{pg_port}/reelm",
            f"redis://127.0.0.1:{redis_port}/0",
            f"redis://127.0.0.1:{redis_port}/1",
        )
    finally:
        if redis is not None:
            redis.terminate()
            try:
                redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis.kill()
                redis.wait()
        if started:
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-s", "stop"],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(servers, ignore_errors=True)


def _redis_ready(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class ProdServer:
    """``reelm serve --prod --workers N`` and one ``reelm worker`` on PostgreSQL and Redis."""

    def __init__(self, root: Path, workers: int, urls: tuple[str, str, str]):
        self.root = root
        self.workers = workers
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"prod-w{workers}.log"
        self.urls = urls
        self.processes: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("REELM_")}
        env.update({key: os.environ[key] for key in SHARED_ENV if key in os.environ})
        env.pop("DJANGO_SETTINGS_MODULE", None)
        database, queue, cache = self.urls
        env.update(
            {
                "REELM_DATA_DIR": str(self.root / "data"),
                "REELM_DATABASE_URL": database,
                "REELM_QUEUE_URL": queue,
                "REELM_CACHE_URL": cache,
                "TMPDIR": str(self.root / "tmp"),
            }
        )
        return env

    def start(self, timeout: float = 120) -> None:
        (self.root / "tmp").mkdir(exist_ok=True)
        commands = [
            ["serve", "--prod", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"],
            ["worker"],
        ]
        with open(self.log_path, "ab") as log:
            for command in commands:
                self.processes.append(
                    subprocess.Popen(
                        [str(PYTHON), "-m", "reelm.cli", *command],
                        cwd=REPO,
                        env=self.env(),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{self.log_tail()}")
            if _responds(self.base + "/"):
                return
            time.sleep(0.25)
        raise RuntimeError(f"the production server did not come up in {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        processes, self.processes = self.processes, []
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


# --- the load generator (runs as its own process) -------------------------------------------------------------


def build_request(kind: str, rng: random.Random, tokens: list[str], videos: list[str]) -> tuple[str, str, Any]:
    """(method, path, JSON body or None) of one request of ``kind``."""
    video = rng.choice(videos)
    if kind in ("for-you auth", "for-you anon"):
        return "GET", "/api/feed/for-you", None
    if kind == "following":
        return "GET", "/api/feed/following", None
    if kind == "like":
        return rng.choice(("PUT", "DELETE")), f"/api/videos/{video}/like", None
    if kind == "comment":
        return "POST", f"/api/videos/{video}/comments", {"body": f"bench comment {rng.randrange(10**6)}"}
    session = uuid.UUID(int=rng.getrandbits(128)).hex
    events = []
    for _ in range(EVENTS_PER_BATCH):
        watched = rng.randint(0, 15000)
        events.append(
            {
                "video_id": rng.choice(videos),
                "kind": rng.choice(("impression", "watch", "complete", "replay", "skip")),
                "watched_ms": watched,
                "duration_ms": 15000,
                "position_ms": watched,
                "session_id": session,
            }
        )
    return "POST", "/api/events", {"events": events}


def load(args: argparse.Namespace) -> int:
    """Open-loop paced load: request i is due at start + i / rate; print per-kind JSON results."""
    data = json.loads(Path(args.data).read_text())
    tokens: list[str] = data["tokens"]
    videos: list[str] = data["videos"]
    total = int(args.rate * args.duration)
    plan_rng = random.Random(args.seed)
    plan = plan_rng.choices(KINDS, weights=MIX, k=total)
    lock = threading.Lock()
    next_index = [0]
    results: dict[str, dict[str, Any]] = {k: {"latencies": [], "service": [], "statuses": {}} for k in KINDS}
    start = time.perf_counter() + 0.2

    def worker(index: int) -> None:
        rng = random.Random(args.seed * 1000 + index)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        mine: list[tuple[str, float, float, str]] = []
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                break
            due = start + i / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            kind = plan[i]
            method, path, body = build_request(kind, rng, tokens, videos)
            headers = {} if kind == "for-you anon" else {"Authorization": f"Bearer {rng.choice(tokens)}"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            sent = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            done = time.perf_counter()
            mine.append((kind, done - due, done - sent, status))
        conn.close()
        with lock:
            for kind, latency, service, status in mine:
                entry = results[kind]
                entry["latencies"].append(latency)
                entry["service"].append(service)
                entry["statuses"][status] = entry["statuses"].get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "kinds": results}))
    return 0


@dataclass
class Measured:
    config: str
    offered: float
    wall: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    service: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)

    def all(self, kind: str | None = None, *, service: bool = False) -> list[float]:
        source = self.service if service else self.latencies
        return sorted(source[kind] if kind else [x for v in source.values() for x in v])

    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def rps(self) -> float:
        return self.count() / self.wall if self.wall else 0.0

    def errors(self, kind: str | None = None) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, statuses in self.statuses.items():
            if kind and k != kind:
                continue
            for status, n in statuses.items():
                if not (status.isdigit() and int(status) < 400):
                    out[status] = out.get(status, 0) + n
        return out


def pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def measure(
    config: str, offered: float, port: int, data_file: Path, rate: float, duration: float, seed: int
) -> Measured:
    connections = max(16, int(rate / 4))
    command = [
        str(PYTHON), __file__, "_load", "--port", str(port), "--data", str(data_file), "--rate", str(rate),
        "--duration", str(duration), "--connections", str(connections), "--seed", str(seed),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=True)
    raw = json.loads(done.stdout)
    m = Measured(config, offered, raw["wall"])
    for kind, entry in raw["kinds"].items():
        m.latencies[kind] = entry["latencies"]
        m.service[kind] = entry["service"]
        m.statuses[kind] = entry["statuses"]
    return m


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_load":  # internal: the load generator process
        sub = argparse.ArgumentParser(prog="load.py _load")
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--data", required=True)
        sub.add_argument("--rate", type=float, default=RATE_TARGET)
        sub.add_argument("--duration", type=float, default=20)
        sub.add_argument("--connections", type=int, default=50)
        sub.add_argument("--seed", type=int, default=1)
        args = sub.parse_args(argv[1:])
        args.mode = "load"
        return args
    seeding = argv and argv[0] == "_seed"  # internal: seed the configured database
    parser = argparse.ArgumentParser(
        prog="load.py _seed" if seeding else None,
        description="Run a bounded open-loop mix of feed reads, likes, comments and watch-event batches against "
        "the embedded default (reelm run, SQLite) and the production server with 2 and 4 processes on a "
        "throwaway PostgreSQL and Redis, all on loopback; report req/s, p50/p99 and errors.",
        epilog="Run with the project's interpreter: .venv/bin/python bench/load.py",
    )
    add_seed_arguments(parser, videos=20_000, accounts=5_000, likes=20_000, comments=5_000)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    if seeding:
        parser.add_argument("--out", required=True)
        parser.add_argument("--targets", type=int, default=2000)
        args = parser.parse_args(argv[1:])
        args.mode = "seed"
        return args
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=[RATE_TARGET, 50.0],
        help="requests/s, open loop, one measurement per rate and configuration (default 200 50: the target, and a "
        "rate below saturation for the capacity model)",
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per configuration (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load per configuration (default 3)")
    parser.add_argument(
        "--only", choices=("embedded", "pg"), help="run only the embedded default or only PostgreSQL + Redis"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=15, help="wait up to this long for an idle machine per configuration"
    )
    args = parser.parse_args(argv)
    args.mode = "bench"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "load":
        return load(args)
    if args.mode == "seed":
        return seed_main(args)
    _interrupt_on_sigterm()
    results: list[Measured] = []
    try:
        with temporary_root() as root, contextlib.ExitStack() as stack:
            # machine_summary reads Reelm's settings (the ffmpeg binary): give this process a throwaway data dir.
            os.environ["DJANGO_SETTINGS_MODULE"] = "reelm.settings"
            for key in [k for k in os.environ if k.startswith("REELM_") and k not in SHARED_ENV]:
                del os.environ[key]
            os.environ["REELM_DATA_DIR"] = str(root / "settings")
            (root / "settings").mkdir()
            console.print(f"machine: {machine_summary()}")
            console.print(
                f"load: {' and '.join(f'{r:g}' for r in args.rate)} req/s open loop for {args.duration:g} s per configuration (after "
                f"{args.warmup:g} s of warm-up); mix "
                + ", ".join(f"{k} {w} %" for k, w in zip(KINDS, MIX, strict=True))
            )

            def bench(config: str, port: int, data_file: Path) -> None:
                with console.status(f"{config}: warming up…"):
                    measure(config, 0, port, data_file, args.rate[0], args.warmup, args.seed + 99)
                for rate in args.rate:
                    settle(args.quiet_wait)
                    with console.status(f"{config}: {rate:g} req/s for {args.duration:g} s…"):
                        m = measure(config, rate, port, data_file, rate, args.duration, args.seed)
                    results.append(m)
                    everything = m.all()
                    console.print(
                        f"{config} at {rate:g} req/s: {m.rps():.0f} req/s, p50 {pct(everything, 0.5):.1f} ms, "
                        f"p99 {pct(everything, 0.99):.1f} ms, errors {m.errors() or 0}"
                    )

            if args.only != "pg":
                embedded = root / "embedded"
                (embedded / "data").mkdir(parents=True)
                env = {k: v for k, v in os.environ.items() if not k.startswith("REELM_")}
                env["REELM_DATA_DIR"] = str(embedded / "data")
                with console.status("embedded: seeding SQLite…"):
                    run_seed(env, embedded / "seed.json", args)
                server = ReelmServer(embedded, 0.05)
                with console.status(f"embedded: starting reelm run on {server.base}…"):
                    server.start()
                try:
                    bench("embedded (SQLite)", server.port, embedded / "seed.json")
                finally:
                    server.stop()
            if args.only != "embedded":
                with console.status("starting PostgreSQL and Redis on loopback…"):
                    urls = stack.enter_context(postgres_and_redis())
                scaled = root / "scaled"
                (scaled / "data").mkdir(parents=True)
                env = {k: v for k, v in os.environ.items() if not k.startswith("REELM_")}
                env.update(
                    {
                        "REELM_DATA_DIR": str(scaled / "data"),
                        "REELM_DATABASE_URL": urls[0],
                        "REELM_QUEUE_URL": urls[1],
                        "REELM_CACHE_URL": urls[2],
                    }
                )
                with console.status("pg+redis: seeding PostgreSQL…"):
                    run_seed(env, scaled / "seed.json", args)
                for workers in (2, 4):
                    prod = ProdServer(scaled, workers, urls)
                    with console.status(f"starting reelm serve --prod --workers {workers} on {prod.base}…"):
                        prod.start()
                    try:
                        bench(f"pg+redis w{workers}", prod.port, scaled / "seed.json")
                    finally:
                        prod.stop()
            report(results, args)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cleaned up[/yellow]")
        return 130
    return 0


def report(results: list[Measured], args: argparse.Namespace) -> None:
    table = Table(title=f"Mixed load, open loop, {args.duration:g} s per configuration and rate", title_justify="left")
    columns = (
        "configuration",
        "offered",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "target",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("configuration", "errors") else "right")
    verdicts = []
    for m in results:
        everything = m.all()
        errors = m.errors()
        ok = not errors and pct(everything, 0.99) <= P99_TARGET_MS and m.rps() >= 0.97 * m.offered
        if m.offered >= RATE_TARGET:
            verdicts.append((m.config, ok))
        table.add_row(
            m.config,
            f"{m.offered:g}",
            str(m.count()),
            f"{m.rps():.1f}",
            f"{pct(everything, 0.5):.1f}",
            f"{pct(everything, 0.9):.1f}",
            f"{pct(everything, 0.99):.1f}",
            f"{everything[-1] * 1000:.0f}" if everything else "-",
            " ".join(f"{k}×{v}" for k, v in sorted(errors.items())) or "0",
            "[green]met[/green]" if ok else "[red]missed[/red]",
        )
    console.print(table)
    kinds = Table(title="By request kind: p50 / p99 ms (errors, if any)", title_justify="left")
    kinds.add_column("kind")
    for m in results:
        kinds.add_column(f"{m.config} @{m.offered:g}", justify="right")
    for kind in KINDS:
        row = [kind]
        for m in results:
            ordered = m.all(kind)
            errors = " ".join(f"{s}×{n}" for s, n in sorted(m.errors(kind).items()))
            row.append(f"{pct(ordered, 0.5):.1f} / {pct(ordered, 0.99):.1f}" + (f" ({errors})" if errors else ""))
        kinds.add_row(*row)
    console.print(kinds)
    service = ", ".join(f"{m.config} @ {m.offered:g} {pct(m.all(service=True), 0.99):.1f} ms" for m in results)
    console.print(f"p99 of service time alone (from send, not from the due time): {service}")
    met = [name for name, ok in verdicts if ok]
    missed = [name for name, ok in verdicts if not ok]
    console.print(
        f"[bold]verdict[/bold] (target: 0 errors, p99 <= {P99_TARGET_MS:g} ms at {RATE_TARGET:g} req/s): "
        + (f"[green]met[/green] by {', '.join(met)}" if met else "met by none")
        + (f"; [red]missed[/red] by {', '.join(missed)}" if missed else "")
    )


if __name__ == "__main__":
    sys.exit(main())
