"""SQLite's table statistics, which its query planner needs.

Without them the planner guesses, and with a million videos it guessed that a lookup of a few videos by id was
best served by the index on their state: it read every ready video instead of a few rows (a new viewer's first
For You page: p50 443 ms instead of 43, docs/benchmarks.md). A migration that rebuilds a table drops that table's
statistics too. So Reelm refreshes them after every migration and nightly: a full ANALYZE reads each index once
(4.7 s for the benchmark's 4.6 GB database of a million videos). Sampled statistics (``analysis_limit``) were
quicker but misled the planner on the followed-creators query (an index on visibility and state instead of the
one on the creator). PostgreSQL keeps its own statistics (autovacuum); there this does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import connections


def statistics_refresh(using: str = "default") -> bool:
    """Refresh the planner's statistics of every table of the ``using`` database; False if it is not SQLite."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return True


def statistics_refresh_after_migrate(using: str = "default", **_: Any) -> None:
    """``post_migrate`` receiver (sent once per app: connected for the core app alone, it runs once)."""
    statistics_refresh(using)
