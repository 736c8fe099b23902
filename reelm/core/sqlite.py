"""SQLite's table statistics, which its query planner needs.

Without them the planner guesses, and at a million videos it read every ready video through the state index to
find a few by id (docs/benchmarks.md). A migration that rebuilds a table drops its statistics too, so they are
refreshed after every migration and nightly with a full ANALYZE: sampled statistics misled the planner on the
followed-creators query. PostgreSQL keeps its own (autovacuum); there this does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from reelm.core import realms


def statistics_refresh(using: str | None = None) -> bool:
    """Refresh the planner's statistics of every table of the ``using`` database (by default the realm's); False
    if it is not SQLite."""
    connection = connections[using or realms.current_alias()]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return True


def statistics_refresh_after_migrate(using: str = "default", **_: Any) -> None:
    """``post_migrate`` receiver (sent once per app: connected for the core app alone, it runs once)."""
    statistics_refresh(using)
