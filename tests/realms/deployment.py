"""A deployment of three realms (us, eu, global) for tests, and a way to look at its databases without Reelm.

On the embedded default each realm is a SQLite file; in a run on PostgreSQL (``./dev test --scaled``) each realm
and the directory are databases of that server, made for the test and dropped after it. Either way every realm
has its own local store and SQLite queue.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import PASSWORD
from tests.e2e.live import Http, child_env

REALMS = ("us", "eu", "global")
COUNTRIES = {"us": ["US", "CA"], "eu": ["DE", "FR"], "global": []}
#: The directory's database is called "reelm" here, as in the data directory of the embedded default.
DIRECTORY = "reelm"


def _server_url() -> str:
    url = os.environ.get("REELM_DATABASE_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else ""


@dataclass
class Deployment:
    data: Path
    env: dict[str, str]
    #: database name (DIRECTORY or a realm) -> its URL, on PostgreSQL; empty on SQLite.
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def postgres(self) -> bool:
        return bool(self.urls)

    def rows(self, database: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """``sql`` (with ``?`` placeholders) on one database, read directly."""
        if self.postgres:
            import psycopg

            with psycopg.connect(self.urls[database]) as db:
                return list(db.execute(sql.replace("?", "%s"), args).fetchall())  # type: ignore[arg-type]
        with sqlite3.connect(self.data / f"{database}.sqlite3") as db:
            return list(db.execute(sql, args))

    def execute(self, database: str, sql: str, *args: object) -> None:
        """A write of the test's own on one database, behind Reelm's back (to plant what an audit must find)."""
        if self.postgres:
            import psycopg

            with psycopg.connect(self.urls[database]) as db:
                db.execute(sql.replace("?", "%s"), args)  # type: ignore[arg-type]
            return
        with sqlite3.connect(self.data / f"{database}.sqlite3") as db:
            db.execute(sql, args)

    def tables(self, database: str) -> set[str]:
        if self.postgres:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {str(row[0]) for row in self.rows(database, query)}

    def uuid_column(self, value: str) -> str:
        """How a UUID column stores ``value``: 32 hex digits in SQLite, the UUID itself in PostgreSQL."""
        return value if self.postgres else value.replace("-", "")

    def everything(self, database: str) -> bytes:
        """Every byte a database keeps: its files on SQLite (free pages too), every row as text on PostgreSQL."""
        if not self.postgres:
            return b"".join(path.read_bytes() for path in self.data.glob(f"{database}.sqlite3*"))
        out = []
        for table in sorted(self.tables(database)):
            query = f'SELECT * FROM "{table}"'  # noqa: S608 (names from pg_tables)
            out += [repr(row).encode() for row in self.rows(database, query)]
        return b"\n".join(out)

    def store(self, realm: str) -> Path:
        return self.data / "stores" / realm

    def drop(self) -> None:
        if not self.postgres:
            return
        import psycopg

        with psycopg.connect(_server_url(), autocommit=True) as db:
            for url in self.urls.values():
                name = urlsplit(url).path.lstrip("/")
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def three_realms(data: Path, **extra: str) -> Deployment:
    """Write the realm table into ``data`` and return the deployment (its databases empty, not yet migrated)."""
    server = _server_url()
    urls: dict[str, str] = {}
    if server:
        import psycopg

        parts = urlsplit(server)
        prefix = f"realms_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server, autocommit=True) as db:
            for name in (DIRECTORY, *REALMS):
                db.execute(f'CREATE DATABASE "{prefix}_{name}"')
                urls[name] = parts._replace(path=f"/{prefix}_{name}").geturl()
    lines = ['default = "global"']
    for realm in REALMS:
        database = urls.get(realm, f"sqlite:///{realm}.sqlite3")
        lines += [
            f"[realms.{realm}]",
            f'database = "{database}"',
            f'storage = "{(data / "stores" / realm).as_uri()}"',
            f'queue = "sqlite:///{realm}-queue.sqlite3"',
            f"countries = {COUNTRIES[realm]!r}".replace("'", '"'),
        ]
    (data / "realms.toml").write_text("\n".join(lines) + "\n")
    backends = {"REELM_DATABASE_URL": urls[DIRECTORY]} if urls else {}
    env = child_env(data, REELM_REALMS=str(data / "realms.toml"), **backends, **extra)
    return Deployment(data, env, urls)


def signed_in(base_url: str, username: str) -> Http:
    """A client holding a fresh token of ``username``, made through a signed-in session (as its owner would)."""
    session = Http(base_url)
    session.login(username, PASSWORD)
    return Http(base_url, token=session.create_token(f"{username} test client"))
