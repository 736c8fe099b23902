"""Servers for tests that start real Reelm processes on the configuration under test.

On the embedded default the processes get a SQLite database and queue in their data directory. When the suite runs
on PostgreSQL and Redis (``./dev test --scaled``), they get a database of their own on that server, created for the
test and dropped after it, so they never meet the suite's test database or another test's rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from reelm.config import database_settings


def on_scaled_servers() -> bool:
    return os.environ.get("REELM_DATABASE_URL", "").startswith(("postgresql://", "postgres://"))


@contextlib.contextmanager
def process_backends(label: str) -> Iterator[dict[str, str]]:
    """Extra environment for ``child_env(..., keep_backends=True)``: a fresh PostgreSQL database and a Redis cache
    when the suite runs on those servers, nothing on the embedded default."""
    if not on_scaled_servers():
        yield {}
        return
    url = os.environ["REELM_DATABASE_URL"]
    db = database_settings(url, directory=Path())  # the directory only matters for SQLite
    name = f"reelm_{label}_{uuid.uuid4().hex[:8]}"
    admin = {
        "host": db["HOST"],
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "dbname": db["NAME"],
    }
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    extra = {"REELM_DATABASE_URL": urlsplit(url)._replace(path=f"/{name}").geturl()}
    queue = os.environ.get("REELM_QUEUE_URL", "")
    if queue.startswith("redis") and not os.environ.get("REELM_CACHE_URL"):
        # The processes share a Redis cache too, in the database after the queue's (never the same one).
        parts = urlsplit(queue)
        extra["REELM_CACHE_URL"] = parts._replace(path=f"/{(int(parts.path.strip('/') or 0) + 1) % 16}").geturl()
    try:
        yield extra
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
