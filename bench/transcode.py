"""Benchmark Reelm's transcode pipeline against a plain ffmpeg HLS ladder.

Three variants run interleaved (A B C A B C ...) on one synthetic 15 s 1080x1920 30 fps clip with audio:

  A  plain ladder      one ffmpeg process with a split filter producing the same HLS renditions with the same
                       encoder settings as Reelm, HLS outputs only (no poster, previews or progressive MP4)
  B  Reelm pipeline    a real ``reelm run`` (web server + worker, embedded defaults, its own data directory):
                       upload through the API, poll the video until it is ready
  C  Reelm's ffmpeg    Reelm's own ladder command (poster, previews and the tee'd MP4 included), run alone

C separates what the extra outputs cost the encoder (C - A) from what the orchestration around ffmpeg costs
(B - C: queue latency, fetching and probing the original, segment publishing, CPU taken by the web server).

Run it with the project's interpreter:  .venv/bin/python bench/transcode.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from reelm.transcode import ffmpeg

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
PIPELINE_TARGET = 1.10  # pipeline wall time / plain ladder wall time
PLAYABLE_TARGET = 0.5  # time to first playable / clip duration
# Only these REELM_* variables reach the server; everything else about it is the embedded default.
SHARED_ENV = ("REELM_X264_PRESET", "REELM_FFMPEG")
CLAIM_LOG = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ reelm\.videos\.services: "
    r"video (?P<id>[0-9a-f-]{36}): transcode attempt"
)
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
WATCH_INTERVAL = 0.05  # how often the worker's ffmpeg process is looked for while a video transcodes

# Wide enough for the tables when the output is a file or a pipe (a terminal keeps its own width).
console = Console(width=None if sys.stdout.isatty() else 130)


# --- measurements ------------------------------------------------------------------------------------------


@dataclass
class LocalRun:
    """One ffmpeg process run here (variants A and C)."""

    wall: float  # seconds
    first_segment: float | None  # seconds until the lowest rendition's playlist listed a segment
    cpu: float  # user + system seconds of the ffmpeg process
    background: float  # CPU used meanwhile by processes outside the benchmark, in cores (0 = an idle machine)


@dataclass
class PipelineRun:
    """One upload through a running Reelm (variant B). Times are seconds after ``created_at`` unless noted."""

    video_id: str
    upload: float  # POST sent -> 201 received (client clock; before the pipeline's origin)
    accepted: float  # 201 received, client clock (the row is created a few ms before the response leaves)
    playable: float  # server: playable_at
    ready: float  # server: ready_at
    ready_polled: float  # client: first poll that saw state == ready
    claimed: float | None  # server log: the worker claimed the video (queue latency ends)
    ffmpeg_start: float | None  # /proc: the worker's ffmpeg process started
    ffmpeg_end: float | None  # /proc: the ffmpeg process was gone (seen by the watch loop, capped at ready_at)
    cpu_ffmpeg: float  # CPU seconds, accept -> ready
    cpu_worker: float  # the worker's Python (probe, segment publisher, storage copies, database)
    cpu_web: float  # the web server (answering the status polls)
    cpu_client: float  # this benchmark's own polling loop, which shares the machine too
    background: float  # cores used by processes outside the benchmark and this Reelm, accept -> ready
    polls: int


@dataclass
class Results:
    machine: str
    clip_seconds: float
    runs: int
    preset: str
    plain: list[LocalRun] = field(default_factory=list)
    pipeline: list[PipelineRun] = field(default_factory=list)
    reelm_ffmpeg: list[LocalRun] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Results:
        raw = json.loads(path.read_text())
        return cls(
            machine=raw["machine"],
            clip_seconds=raw["clip_seconds"],
            runs=raw["runs"],
            preset=raw["preset"],
            plain=[LocalRun(**run) for run in raw["plain"]],
            pipeline=[PipelineRun(**run) for run in raw["pipeline"]],
            reelm_ffmpeg=[LocalRun(**run) for run in raw["reelm_ffmpeg"]],
        )


# --- the clip and the two ffmpeg commands ------------------------------------------------------------------


def make_clip(path: Path, *, seconds: float, size: str, preset: str, crf: int) -> Path:
    """A synthetic phone-like clip: busy H.264 High picture (testsrc2) with a stereo AAC tone."""
    subprocess.run(
        [
            ffmpeg.ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def reelm_command(source: Path, media: ffmpeg.MediaProbe, preset: str) -> list[str]:
    """Exactly the command Reelm's worker runs for this source (variant C)."""
    return ffmpeg.ladder_command(source, media, ffmpeg.plan_outputs(media), preset=preset)


def plain_ladder_command(source: Path, media: ffmpeg.MediaProbe, preset: str) -> list[str]:
    """Reelm's ladder minus the poster, the previews and the tee'd MP4 (variant A).

    The renditions come from Reelm's planner, and each rendition's scale chain and encoder arguments are taken
    verbatim from Reelm's own command, so sizes, x264 preset/CRF/maxrate/bufsize/GOP and AAC settings cannot
    drift apart. Only the split width, the extra branches and the tee differ.
    """
    outputs = ffmpeg.plan_outputs(media)
    renditions = sorted(outputs.renditions, key=lambda r: r.width * r.height)  # Reelm's output order
    assert [r.name for r in renditions] == [r.name for r in ffmpeg.plan_ladder(media.width, media.height)][::-1]
    full = reelm_command(source, media, preset)
    graph_at = full.index("-filter_complex")
    chains = full[graph_at + 1].split(";")[1 : 1 + len(renditions)]
    graph = [f"[0:v:0]split={len(renditions)}" + "".join(f"[s{i}]" for i in range(len(renditions)))]
    command = full[:graph_at]
    for index, rendition in enumerate(renditions):
        chain = chains[index]
        assert chain.startswith(f"[s{index}]scale={rendition.width}:{rendition.height}:"), chain
        assert chain.endswith(f"[v{index}]"), chain
        graph.append(chain)
    command += ["-filter_complex", ";".join(graph)]
    for index, rendition in enumerate(renditions):
        start = _index_of_pair(full, "-map", f"[v{index}]")
        end = full.index("-f", start)  # this rendition's mapping and encoder arguments end at its muxer
        command += full[start:end]
        command += ["-f", "hls"]
        for key, value in ffmpeg._hls_options(rendition).items():
            command += [f"-{key}", value]
        command.append(outputs.playlist(rendition))
    return command


def _index_of_pair(items: list[str], first: str, second: str) -> int:
    for index in range(len(items) - 1):
        if items[index] == first and items[index + 1] == second:
            return index
    raise ValueError(f"{first} {second} not in the command")


def run_local(command: list[str], media: ffmpeg.MediaProbe, scratch: Path) -> LocalRun:
    """Run one ladder command in a fresh work directory; time its wall clock, first segment and CPU."""
    workdir = Path(tempfile.mkdtemp(prefix="ladder-", dir=scratch))
    try:
        outputs = ffmpeg.plan_outputs(media)
        ffmpeg.prepare_workdir(workdir, outputs)
        lowest = workdir / outputs.playlist(min(outputs.renditions, key=lambda r: r.width * r.height))
        errors = workdir / "stderr.txt"
        before, machine = resource.getrusage(resource.RUSAGE_CHILDREN), CpuMeter()
        started = time.perf_counter()
        first_segment = None
        with open(errors, "wb") as stderr:
            process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while process.poll() is None:
                if first_segment is None and _lists_a_segment(lowest):
                    first_segment = time.perf_counter() - started
                time.sleep(0.02)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            raise RuntimeError(f"ffmpeg exited with {process.returncode}: {errors.read_text()[-2000:]}")
        for playlist in workdir.glob("hls/*/index.m3u8"):
            if "#EXT-X-ENDLIST" not in playlist.read_text():
                raise RuntimeError(f"{playlist} is unfinished")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return LocalRun(wall=wall, first_segment=first_segment, cpu=cpu, background=machine.background(cpu))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _lists_a_segment(playlist: Path) -> bool:
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return False
    return any(line and not line.startswith("#") for line in text.splitlines())


# --- /proc ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    own: float  # user + system CPU seconds of the process itself
    children: float  # of its children that have exited and been waited for
    started: float  # wall clock (time.time()) when the process started


def _boot_time() -> float:
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime


BOOT_TIME = _boot_time()


def proc_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # fields from the 3rd (state) on
    utime, stime, cutime, cstime = (int(value) / CLOCK_TICK for value in fields[11:15])
    return ProcStat(own=utime + stime, children=cutime + cstime, started=BOOT_TIME + int(fields[19]) / CLOCK_TICK)


def proc_children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def proc_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def proc_tree(pid: int) -> list[int]:
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue += proc_children(current)
    return tree


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (all CPUs; steal counts as busy)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICK


class CpuMeter:
    """How busy the machine was with work that is not ours: other processes, or a hypervisor's steal."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.busy = machine_busy()
        self.own = _own_cpu()

    def background(self, ours: float) -> float:
        """Cores used by others since construction, given the CPU seconds ``ours`` used besides this process."""
        wall = time.perf_counter() - self.wall
        others = machine_busy() - self.busy - (_own_cpu() - self.own) - ours
        return max(others, 0.0) / wall if wall > 0 else 0.0


def wait_for_quiet(limit: float, *, threshold: float = 0.3, window: float = 1.0) -> float:
    """Wait (at most ``limit`` seconds) for a window in which other work uses under ``threshold`` cores.

    On a shared machine this keeps a burst of someone else's work from landing in one variant only. Returns
    the seconds waited.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        meter = CpuMeter()
        time.sleep(window)
        if meter.background(0.0) < threshold:
            break
    return time.monotonic() - started


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- a running Reelm -----------------------------------------------------------------------------------------


class ReelmServer:
    """``reelm run`` on a free loopback port with its own data directory, driven through its HTTP API."""

    def __init__(self, root: Path, poll_interval: float, extra_env: dict[str, str] | None = None):
        self.root = root
        self.extra_env = extra_env or {}
        self.data_dir = root / "data"
        self.log_path = root / "server.log"
        self.poll_interval = poll_interval
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("REELM_")}
        env.update({key: os.environ[key] for key in SHARED_ENV if key in os.environ})
        tmp = self.root / "tmp"  # uploads and transcode work directories land in the benchmark's temp dir
        tmp.mkdir(exist_ok=True)
        env.update({"REELM_DATA_DIR": str(self.data_dir), "REELM_LOG_LEVEL": "INFO", "TMPDIR": str(tmp)})
        env.update(self.extra_env)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return env

    def start(self, timeout: float = 120) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(PYTHON), "-m", "reelm.cli", "run", "--bind", f"127.0.0.1:{self.port}"],
                cwd=REPO,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl-C here is handled by stop()
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"reelm run exited with {self.process.returncode}:\n{self.log_tail()}")
            if _responds(self.base + "/") and self.worker_pid() is not None:
                return
            time.sleep(0.25)
        raise RuntimeError(f"reelm run did not come up in {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # reelm run stops its web server and worker
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Anything its children left behind (an ffmpeg mid-transcode) is still in the group we created.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    # process tree

    def worker_pid(self) -> int | None:
        assert self.process is not None
        for pid in proc_tree(self.process.pid):
            command = proc_cmdline(pid)
            if "reelm.cli" in command and "worker" in command:
                return pid
        return None

    def web_pids(self) -> list[int]:
        assert self.process is not None
        return [pid for pid in proc_tree(self.process.pid) if "gunicorn" in proc_cmdline(pid)]

    def ffmpeg_pid(self, worker: int) -> int | None:
        for pid in proc_children(worker):
            if "ffmpeg" in Path(proc_cmdline(pid)[0]).name:
                return pid
        return None

    def cpu_snapshot(self, worker: int) -> tuple[float, float, float]:
        """(ffmpeg children of the worker that have finished, the worker's own Python, the web server)."""
        stat = proc_stat(worker)
        assert stat is not None, "the worker is gone"
        web = sum(s.own for s in map(proc_stat, self.web_pids()) if s is not None)
        return stat.children, stat.own, web

    # HTTP

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} -> {exc.code}: {exc.read()[:500]!r}") from exc

    def sign_up(self) -> None:
        """An account through the API; its token through ``reelm manage shell`` (token creation needs a login)."""
        username, password = "bench", "bench-" + secrets.token_urlsafe(18)
        self.request(
            "POST",
            "/api/accounts",
            json.dumps({"username": username, "password": password}).encode(),
            {"Content-Type": "application/json"},
        )
        script = (
            "from reelm.accounts.models import User; from reelm.accounts.services import token_create; "
            f"print(token_create(user=User.objects.get(username={username!r}), name='bench').secret)"
        )
        shell = subprocess.run(
            [str(PYTHON), "-m", "reelm.cli", "manage", "shell", "-c", script],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = shell.stdout.strip().splitlines()[-1]

    def upload(self, clip: Path, caption: str) -> dict[str, Any]:
        boundary = "reelm-bench-" + secrets.token_hex(12)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="visibility"\r\n\r\nprivate\r\n'.encode(),
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{clip.name}"\r\n'
                "Content-Type: video/mp4\r\n\r\n"
            ).encode(),
            clip.read_bytes(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        result: dict[str, Any] = self.request(
            "POST", "/api/videos", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        return result

    def video(self, video_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/api/videos/{video_id}")
        return result

    def claim_time(self, video_id: str) -> datetime | None:
        """When the worker claimed the video, from its log line (the log is in UTC, to the millisecond)."""
        for line in self.log_path.read_text(errors="replace").splitlines():
            found = CLAIM_LOG.match(line)
            if found and found["id"] == video_id:
                return datetime.strptime(found["at"], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
        return None

    def transcode(self, clip: Path, caption: str, timeout: float = 900) -> PipelineRun:
        worker = self.worker_pid()
        assert worker is not None, "no worker process"
        sent = time.time()
        created = self.upload(clip, caption)
        accepted = time.time()
        cpu_accepted, machine, client_accepted = self.cpu_snapshot(worker), CpuMeter(), _own_cpu()
        video_id = created["id"]
        ffmpeg_pid: int | None = None
        ffmpeg_start = ffmpeg_end = None
        polls, next_poll = 0, 0.0
        deadline = time.monotonic() + timeout
        while True:
            # Watch the worker's ffmpeg at least every WATCH_INTERVAL, whatever the API poll interval: its start
            # time comes from /proc, its end is when this loop no longer finds it.
            current = self.worker_ffmpeg(worker)
            if current is not None and ffmpeg_pid is None:
                ffmpeg_pid, ffmpeg_start = current
            elif current is None and ffmpeg_pid is not None and ffmpeg_end is None:
                ffmpeg_end = time.time()
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.poll_interval
                video = self.video(video_id)
                polls += 1
                if video["state"] == "ready":
                    ready_polled = time.time()
                    break
                if video["state"] == "failed":
                    raise RuntimeError(f"video {video_id} failed: {video['failure_reason']}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"video {video_id} not ready after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(min(self.poll_interval, WATCH_INTERVAL))
        cpu_ready, client = self.cpu_snapshot(worker), _own_cpu() - client_accepted
        ours = sum(cpu_ready) - sum(cpu_accepted)
        background = machine.background(ours)
        origin = _timestamp(video["created_at"])
        if ffmpeg_pid is not None:  # it exited before the video was marked ready, whenever the loop noticed
            ffmpeg_end = min(ffmpeg_end or ready_polled, _timestamp(video["ready_at"]))
        claimed = self.claim_time(video_id)

        def since(moment: float | None) -> float | None:
            return None if moment is None else moment - origin

        return PipelineRun(
            video_id=video_id,
            upload=accepted - sent,
            accepted=accepted - origin,
            playable=_timestamp(video["playable_at"]) - origin,
            ready=_timestamp(video["ready_at"]) - origin,
            ready_polled=ready_polled - origin,
            claimed=since(claimed.timestamp() if claimed else None),
            ffmpeg_start=since(ffmpeg_start),
            ffmpeg_end=since(ffmpeg_end),
            cpu_ffmpeg=cpu_ready[0] - cpu_accepted[0],
            cpu_worker=cpu_ready[1] - cpu_accepted[1],
            cpu_web=cpu_ready[2] - cpu_accepted[2],
            cpu_client=client,
            background=background,
            polls=polls,
        )

    def worker_ffmpeg(self, worker: int) -> tuple[int, float] | None:
        pid = self.ffmpeg_pid(worker)
        if pid is None:
            return None
        stat = proc_stat(pid)
        return None if stat is None else (pid, stat.started)


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- reporting -----------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _gap(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else later - earlier


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right")
    return table


def _add_rows(table: Table, rows: list[list[float | None]]) -> list[float | None]:
    """Add one row per run and a bold row of medians; return the medians."""
    for index, row in enumerate(rows, 1):
        table.add_row(str(index), *(_s(v) for v in row))
    medians = [_median([row[i] for row in rows]) for i in range(len(rows[0]))]
    table.add_row("median", *(_s(v) for v in medians), style="bold")
    return medians


def report(results: Results) -> None:
    triples = list(zip(results.plain, results.pipeline, results.reelm_ffmpeg, strict=True))
    wall = _table(
        "Wall clock, seconds. B is measured from the video's created_at to the server's ready_at / playable_at.",
        ["run", "A plain ladder", "B upload→ready", "C reelm ffmpeg", "B upload→playable", "A 1st seg.", "C 1st seg."],
    )
    plain, ready, alone, playable, *_ = _add_rows(
        wall, [[a.wall, b.ready, c.wall, b.playable, a.first_segment, c.first_segment] for a, b, c in triples]
    )
    console.print(wall)

    stages = _table(
        "B stage by stage, seconds (queue: created_at→worker's claim log line; fetch+probe: claim→ffmpeg start; "
        "tail: ffmpeg exit→ready_at; 1st seg.: ffmpeg start→playable_at)",
        ["run", "201 sent", "queue", "fetch+probe", "ffmpeg", "tail", "1st seg.", "ready (poll)"],
    )
    _add_rows(
        stages,
        [
            [
                b.accepted,
                b.claimed,
                _gap(b.ffmpeg_start, b.claimed),
                _gap(b.ffmpeg_end, b.ffmpeg_start),
                _gap(b.ready, b.ffmpeg_end),
                _gap(b.playable, b.ffmpeg_start),
                b.ready_polled,
            ]
            for b in results.pipeline
        ],
    )
    console.print(stages)

    cpu = _table(
        "CPU seconds (user + system) and background load (cores busy with work outside the benchmark)",
        ["run", "A ffmpeg", "C ffmpeg", "B ffmpeg", "B worker py", "B web", "B client", "bg A", "bg B", "bg C"],
    )
    _add_rows(
        cpu,
        [
            [
                a.cpu,
                c.cpu,
                b.cpu_ffmpeg,
                b.cpu_worker,
                b.cpu_web,
                b.cpu_client,
                a.background,
                b.background,
                c.background,
            ]
            for a, b, c in triples
        ],
    )
    console.print(cpu)

    assert plain and ready and alone and playable is not None
    verdict = Table(
        title=f"Ratios (clip {results.clip_seconds:g} s, x264 preset {results.preset}). The verdict uses the ratio "
        "of medians; the median of per-run ratios pairs each B with the A and C run next to it.",
        title_justify="left",
    )
    for column in ("ratio", "of medians", "median per run", "target", "result"):
        verdict.add_column(column)
    paired = {
        "B / A": statistics.median(b.ready / a.wall for a, b, _ in triples),
        "C / A": statistics.median(c.wall / a.wall for a, _, c in triples),
        "B / C": statistics.median(b.ready / c.wall for _, b, c in triples),
        "playable": statistics.median(b.playable / results.clip_seconds for b in results.pipeline),
    }
    pipeline_ratio, playable_ratio = ready / plain, playable / results.clip_seconds
    verdict.add_row("pipeline / plain ffmpeg ladder (B / A)", f"{pipeline_ratio:.3f}", f"{paired['B / A']:.3f}",
                    f"≤ {PIPELINE_TARGET:.2f}", _verdict(pipeline_ratio <= PIPELINE_TARGET))  # fmt: skip
    verdict.add_row("first playable / clip duration (B)", f"{playable_ratio:.3f}", f"{paired['playable']:.3f}",
                    f"≤ {PLAYABLE_TARGET:.2f}", _verdict(playable_ratio <= PLAYABLE_TARGET))  # fmt: skip
    verdict.add_row("extra outputs: reelm ffmpeg / plain (C / A)", f"{alone / plain:.3f}", f"{paired['C / A']:.3f}")
    verdict.add_row("orchestration: pipeline / reelm ffmpeg (B / C)", f"{ready / alone:.3f}", f"{paired['B / C']:.3f}")
    console.print(verdict)


def _verdict(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]missed[/red]"


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time Reelm's transcode pipeline (a real `reelm run`, upload -> ready) against one plain "
        "ffmpeg command producing the same HLS ladder, and Reelm's own ffmpeg command alone; interleaved runs.",
        epilog="Run with the project's interpreter: .venv/bin/python bench/transcode.py",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each variant (default 3)")
    parser.add_argument("--duration", type=float, default=15, help="clip length in seconds (default 15)")
    parser.add_argument("--size", default="1080x1920", help="clip size WxH (default 1080x1920, portrait)")
    parser.add_argument("--poll", type=float, default=0.05, help="status poll interval in seconds (default 0.05)")
    parser.add_argument(
        "--source-preset", default="medium", help="x264 preset used to make the clip, at CRF 18 (default medium)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="before each variant, wait up to this many seconds for the machine to be idle (default 60, 0: never)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw measurements to this file")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print the tables of an earlier --json file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _interrupt_on_sigterm() -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def temporary_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="reelm-bench-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        results = Results.load(args.report)
        console.print(f"machine: {results.machine}")
        report(results)
        return 0
    _interrupt_on_sigterm()
    try:
        with temporary_root() as root, contextlib.ExitStack() as stack:
            # Reelm's settings (the ffmpeg binary, the x264 preset) are read here exactly as the server reads them.
            os.environ["DJANGO_SETTINGS_MODULE"] = "reelm.settings"
            for key in [k for k in os.environ if k.startswith("REELM_") and k not in SHARED_ENV]:
                del os.environ[key]
            os.environ["REELM_DATA_DIR"] = str(root / "data")
            from django.conf import settings

            preset: str = settings.REELM_X264_PRESET
            scratch = root / "ladders"
            scratch.mkdir()
            results = run(args, root, scratch, preset, stack)
            report(results)
            if args.json:
                args.json.write_text(json.dumps(asdict(results), indent=2) + "\n")
                console.print(f"raw measurements written to {args.json}")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cleaned up[/yellow]")
        return 130
    return 0


def run(args: argparse.Namespace, root: Path, scratch: Path, preset: str, stack: contextlib.ExitStack) -> Results:
    with console.status(f"making a {args.duration:g} s {args.size} clip (x264 {args.source_preset}, CRF 18)…"):
        clip = make_clip(root / "clip.mp4", seconds=args.duration, size=args.size, preset=args.source_preset, crf=18)
        warmup = make_clip(root / "warmup.mp4", seconds=2, size="360x640", preset="ultrafast", crf=23)
    machine = machine_summary()
    console.print(f"machine: {machine}")
    media = ffmpeg.probe(clip)
    console.print(
        f"clip: {media.width}x{media.height} {media.frame_rate:g} fps {media.duration:.2f} s "
        f"{media.video_codec}/{media.audio_codec}, {clip.stat().st_size / 1e6:.1f} MB; "
        f"ladder: {', '.join(f'{r.name} {r.width}x{r.height}' for r in ffmpeg.plan_ladder(media.width, media.height))}"
    )
    plain_cmd = plain_ladder_command(clip, media, preset)
    reelm_cmd = reelm_command(clip, media, preset)

    server = ReelmServer(root, args.poll)
    stack.callback(server.stop)
    with console.status(f"starting reelm run on {server.base} and warming it up…"):
        server.start()
        server.sign_up()
        for _ in range(4):
            server.request("GET", "/api/videos")
        server.transcode(warmup, "warm-up")
    console.print(f"reelm run is up on {server.base} (data in {server.data_dir}); {args.runs} run(s) of A B C")

    results = Results(machine=machine, clip_seconds=media.duration, runs=args.runs, preset=preset)
    for index in range(1, args.runs + 1):
        settle(args.quiet_wait)
        with console.status(f"run {index}/{args.runs}: A plain ffmpeg ladder…"):
            results.plain.append(run_local(plain_cmd, media, scratch))
        a = results.plain[-1]
        console.print(f"run {index} A plain ladder: {a.wall:.2f} s (background {a.background:.2f} cores)")
        settle(args.quiet_wait)
        with console.status(f"run {index}/{args.runs}: B Reelm pipeline (upload, poll until ready)…"):
            results.pipeline.append(server.transcode(clip, f"bench run {index}"))
        b = results.pipeline[-1]
        console.print(
            f"run {index} B pipeline: ready {b.ready:.2f} s, first playable {b.playable:.2f} s "
            f"(background {b.background:.2f} cores)"
        )
        settle(args.quiet_wait)
        with console.status(f"run {index}/{args.runs}: C Reelm's ffmpeg command alone…"):
            results.reelm_ffmpeg.append(run_local(reelm_cmd, media, scratch))
        c = results.reelm_ffmpeg[-1]
        console.print(f"run {index} C reelm ffmpeg alone: {c.wall:.2f} s (background {c.background:.2f} cores)")
    return results


def machine_summary() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown CPU",
    )  # fmt: skip
    version = subprocess.run([ffmpeg.ffmpeg_path(), "-version"], capture_output=True, text=True, check=True)
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return (
        f"{os.cpu_count()} CPUs ({model}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{' '.join(version.stdout.split()[:3])}, reelm {commit.stdout.strip() or 'unknown'}"
    )


def settle(limit: float) -> None:
    if limit <= 0:
        return
    with console.status("waiting for the machine to be idle…"):
        waited = wait_for_quiet(limit)
    if waited >= limit:
        console.print(f"[yellow]the machine was still busy after {limit:g} s; measuring anyway[/yellow]")


if __name__ == "__main__":
    sys.exit(main())
