"""What ``reelm storage`` shows: a progress bar on a terminal, plain log lines otherwise, and summary tables."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from reelm.storage.migration import AbortReport, Comparison, CopyReport, Plan, PurgeReport
from reelm.storage.models import MigrationObject, MigrationRun

LOG_EVERY_SECONDS = 2.0
LIST_LIMIT = 20


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class BarProgress:
    """A rich progress bar: objects, bytes, rate and ETA."""

    def __init__(self, bar: Progress, task: TaskID):
        self._bar, self._task = bar, task
        self._objects = [0, 0, 0]  # done, total, failed
        self._lock = threading.Lock()

    def stage(self, text: str) -> None:
        self._bar.update(self._task, description=text)

    def add_work(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._objects[1] += objects
            total = (self._bar.tasks[self._task].total or 0) + nbytes
        self._bar.update(self._task, total=total, objects=self._text())

    def advance_bytes(self, nbytes: int) -> None:
        self._bar.advance(self._task, nbytes)

    def object_done(self, ok: bool) -> None:
        with self._lock:
            self._objects[0] += 1
            self._objects[2] += 0 if ok else 1
        self._bar.update(self._task, objects=self._text())

    def _text(self) -> str:
        done, total, failed = self._objects
        if not total:
            return ""
        return f"{done}/{total} objects" + (f", {failed} failed" if failed else "")


class LogProgress:
    """The same reports as log lines, at most one every ``LOG_EVERY_SECONDS`` (for logs and pipes)."""

    def __init__(self, console: Console):
        self._console = console
        self._lock = threading.Lock()
        self._objects, self._objects_total, self._bytes, self._bytes_total = 0, 0, 0, 0
        self._failed = 0
        self._started = self._last = time.monotonic()

    def stage(self, text: str) -> None:
        self._console.print(f"{text}…")

    def add_work(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._objects_total += objects
            self._bytes_total += nbytes

    def advance_bytes(self, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes
        self._maybe_log()

    def object_done(self, ok: bool) -> None:
        with self._lock:
            self._objects += 1
            self._failed += 0 if ok else 1
        self._maybe_log()

    def _maybe_log(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < LOG_EVERY_SECONDS:
                return
            self._last = now
            rate = self._bytes / max(now - self._started, 1e-6)
            left = max(self._bytes_total - self._bytes, 0)
            eta = f"{left / rate:.0f} s" if rate > 0 else "?"
            failed = f" ({self._failed} failed)" if self._failed else ""
            line = (
                f"{self._objects}/{self._objects_total} objects{failed}, {human_bytes(self._bytes)}"
                f"/{human_bytes(self._bytes_total)}, {human_bytes(rate)}/s, ETA {eta}"
            )
        self._console.print(line)


class Output:
    def __init__(self) -> None:
        # soft_wrap: long URLs and keys stay on one line in logs (a pipe has no width to wrap to)
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(self, text: str) -> None:
        self.console.print(text)

    def error(self, text: str) -> None:
        self.errors.print(f"reelm: {text}", markup=False)

    @contextmanager
    def progress(self, title: str) -> Iterator[BarProgress | LogProgress]:
        if not self.console.is_terminal:
            self.say(title)
            yield LogProgress(self.console)
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[objects]}"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as bar:
            yield BarProgress(bar, bar.add_task(title, total=0, objects=""))

    def plan(self, plan: Plan) -> None:
        self.say(f"Dry run: nothing is changed.\nRealm {plan.realm!r} ({plan.phase})")
        self.say(f"  from {plan.source_url}\n  to   {plan.target_url}")
        if plan.resuming:
            self.say("  a migration run is recorded: it would resume")
        for number, step in enumerate(plan.steps, 1):
            self.say(f"  {number}. {step}")
        self.say(f"To copy: {plan.objects} objects, {human_bytes(plan.bytes)}")
        if plan.problem:
            self.error(plan.problem)
        elif not plan.resuming:
            ran = f" and {len(plan.processes)} running processes" if plan.processes else " (no running process seen)"
            self.say(f"Preflight: the new store passed every check from here{ran}.")

    def copy_summary(self, run: MigrationRun, report: CopyReport) -> None:
        table = Table(title=f"Migration of realm {run.realm!r}", show_header=False)
        table.add_row("from", run.source_url)
        table.add_row("to", run.target_url)
        table.add_row("copied and verified now", f"{report.copied} objects, {human_bytes(report.bytes)}")
        table.add_row("verified in total", f"{run.objects_verified} of {run.objects_total} objects")
        table.add_row("failed", str(run.objects_failed))
        table.add_row("deleted at the source meanwhile", str(report.gone))
        table.add_row("time", f"{report.seconds:.1f} s")
        self.console.print(table)
        for key, error in report.failures[:LIST_LIMIT]:
            self.error(f"failed: {key}: {error}")

    def unfinished(self, rows: list[MigrationObject]) -> None:
        """The objects a copy pass left behind, and why (a failure, or a change while copying)."""
        for row in rows[:LIST_LIMIT]:
            self.error(f"not copied yet: {row.key}: {row.error or row.get_state_display().lower()}")

    def comparison(self, comparison: Comparison, source: str, target: str) -> None:
        self.say(f"Compared {source}\n    with {target}")
        table = Table()
        table.add_column("result")
        table.add_column("objects", justify="right")
        for name in ("same", "missing", "differing", "extra"):
            table.add_row(name, str(len(getattr(comparison, name))))
        table.add_row("unreadable", str(len(comparison.errors)))
        self.console.print(table)
        for name in ("missing", "differing", "extra"):
            for key in getattr(comparison, name)[:LIST_LIMIT]:
                self.say(f"{name}: {key}")
        for key, error in comparison.errors[:LIST_LIMIT]:
            self.say(f"unreadable: {key}: {error}")

    def abort(self, report: AbortReport, realm: str, new_url: str, *, keep_copies: bool) -> None:
        self.say(f"Aborted: realm {realm!r} uses its old store alone again.")
        if report.copied_back:
            self.say(f"Copied {report.copied_back} objects written after the switch back to the old store.")
        if keep_copies:
            self.say(f"The copies in {new_url} are kept.")
        else:
            self.say(f"Deleted {report.deleted} copies from {new_url}.")
        if report.left:
            self.say(f"Left {report.left} objects in {new_url} that are not copies of the old store's.")

    def purge(self, report: PurgeReport, old_url: str) -> None:
        self.say(f"Purged {report.deleted} objects from {old_url}.")
