"""Upkeep of the embedded database."""

from __future__ import annotations

from huey import crontab

from reelm.core.queues import TRANSCODE
from reelm.core.sqlite import statistics_refresh


# On the transcode queue: every deployment consumes it, and its tasks are long already, while the recommender's pool
# refreshes are waited for by viewers.
@TRANSCODE.db_periodic_task(crontab(hour="3", minute="41"))
def nightly_statistics_refresh() -> None:
    """Tables grow: refresh SQLite's planner statistics (see ``reelm.core.sqlite``)."""
    statistics_refresh()
