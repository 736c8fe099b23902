"""What ``reelm feed rebuild`` shows: a progress bar per step on a terminal, plain lines otherwise, then a table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelm.recommend.rebuild import Progress as ProgressCallback
from reelm.recommend.rebuild import RebuildReport


@contextmanager
def rebuild_progress(console: Console) -> Iterator[ProgressCallback]:
    """A callback for ``rebuild()`` that draws one bar per step (or prints each step once when not a terminal)."""
    if not console.is_terminal:
        said: set[str] = set()

        def plain(step: str, done: int, total: int) -> None:
            if step not in said:
                said.add(step)
                console.print(f"{step}…")

        yield plain
        return
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def draw(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))

        yield draw


def rebuild_table(report: RebuildReport) -> Table:
    table = Table(title="Recommender rebuilt", show_header=False)
    table.add_row("accounts with a new vector", f"{report.users:,}")
    table.add_row("videos with a new vector", f"{report.videos:,} ({report.cold_videos:,} from their hashtags)")
    table.add_row("engagements learned from", f"{report.interactions:,}")
    table.add_row("co-engagement pairs", f"{report.neighbour_pairs:,}")
    table.add_row("stale tastes expired", f"{report.expired_tastes:,}")
    table.add_row("seconds", ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    return table
