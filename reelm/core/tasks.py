"""Upkeep of the embedded database."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from reelm.core.sqlite import statistics_refresh


@db_periodic_task(crontab(hour="3", minute="41"))
def nightly_statistics_refresh() -> None:
    """Tables grow: refresh SQLite's planner statistics (see ``reelm.core.sqlite``)."""
    statistics_refresh()
