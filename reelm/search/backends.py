"""The one full-text seam: everything specific to the database's own full-text search lives here.

SQLite (the embedded default) uses FTS5 tables kept in sync by **triggers** on the source tables, so writes
(captions, hashtag links, profiles) stay untouched and can never forget the index. Each FTS5 table's rowid comes
from a small ``search_*_doc`` table mapping it to the source row's UUID, so an update or delete finds its index
row by key rather than by scanning. Triggers live on their tables: a later migration that makes Django *remake*
one of ``accounts_user``, ``videos_video``, ``videos_hashtag`` or ``videos_videohashtag`` on SQLite drops them, so
such a migration must call ``install`` again (it is idempotent and rebuilds the index).

PostgreSQL comes later as another ``SearchBackend`` (tsvector columns and GIN indexes); callers only use
``backend()`` and the ``SearchBackend`` methods below.
"""

# SQL here is built only from the module's constant table and column names; user text is always a bound parameter.
# ruff: noqa: S608, S611

from __future__ import annotations

from typing import Any, Protocol

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"

# (doc table, key column, fts table, fts columns, source table)
_INDEXES = {
    "account": (
        "search_account_doc",
        "user_id",
        "search_account_fts",
        ("username", "display_name", "bio"),
        "accounts_user",
    ),
    "video": ("search_video_doc", "video_id", "search_video_fts", ("caption", "hashtags"), "videos_video"),
    "hashtag": ("search_hashtag_doc", "hashtag_id", "search_hashtag_fts", ("name",), "videos_hashtag"),
}
# Column weights for bm25: a username hit counts more than one in a bio, a hashtag more than a caption word.
_WEIGHTS = {"account": (10.0, 5.0, 1.0), "video": (1.0, 2.0), "hashtag": (1.0,)}

_VIDEO_TAGS = (
    "(SELECT coalesce(group_concat(h.name, ' '), '') FROM videos_videohashtag l "
    "JOIN videos_hashtag h ON h.id = l.hashtag_id WHERE l.video_id = {key})"
)


def _rowid(kind: str, key: str) -> str:
    doc, column, *_ = _INDEXES[kind]
    return f"(SELECT id FROM {doc} WHERE {column} = {key})"


def sqlite_install_sql() -> list[str]:
    statements: list[str] = []
    for kind, (doc, column, fts, columns, source) in _INDEXES.items():
        statements += [
            f"CREATE TABLE IF NOT EXISTS {doc} (id INTEGER PRIMARY KEY, {column} char(32) NOT NULL UNIQUE)",
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({', '.join(columns)}, {TOKENIZE})",
        ]
        # A new video has no hashtag links yet; the videohashtag triggers below fill that column.
        new_values = ", ".join("''" if c == "hashtags" else f"NEW.{c}" for c in columns)
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns if c != "hashtags")
        sets = ", ".join(f"{c} = NEW.{c}" for c in columns if c != "hashtags")
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {source} BEGIN "
            f"INSERT INTO {doc}({column}) VALUES (NEW.id); "
            f"INSERT INTO {fts}(rowid, {', '.join(columns)}) VALUES ({_rowid(kind, 'NEW.id')}, {new_values}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE ON {source} WHEN {changed} BEGIN "
            f"UPDATE {fts} SET {sets} WHERE rowid = {_rowid(kind, 'NEW.id')}; END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {source} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = {_rowid(kind, 'OLD.id')}; "
            f"DELETE FROM {doc} WHERE {column} = OLD.id; END",
        ]
    for event, ref in (("INSERT", "NEW"), ("DELETE", "OLD")):
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS search_video_fts_tag_{event.lower()} AFTER {event} ON videos_videohashtag "
            f"BEGIN UPDATE search_video_fts SET hashtags = {_VIDEO_TAGS.format(key=f'{ref}.video_id')} "
            f"WHERE rowid = {_rowid('video', f'{ref}.video_id')}; END"
        )
    statements += sqlite_rebuild_sql()
    return statements


def sqlite_rebuild_sql() -> list[str]:
    """Refill every index from its source table (after install, or after a table was remade)."""
    statements: list[str] = []
    for doc, column, fts, columns, source in _INDEXES.values():
        values = ", ".join(_VIDEO_TAGS.format(key="s.id") if c == "hashtags" else f"s.{c}" for c in columns)
        statements += [
            f"DELETE FROM {fts}",
            f"DELETE FROM {doc}",
            f"INSERT INTO {doc}({column}) SELECT id FROM {source}",
            f"INSERT INTO {fts}(rowid, {', '.join(columns)}) SELECT d.id, {values} FROM {source} s "
            f"JOIN {doc} d ON d.{column} = s.id",
        ]
    return statements


def sqlite_uninstall_sql() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS search_video_fts_tag_insert",
        "DROP TRIGGER IF EXISTS search_video_fts_tag_delete",
    ]
    for doc, _column, fts, _columns, _source in _INDEXES.values():
        statements += [f"DROP TRIGGER IF EXISTS {fts}_{suffix}" for suffix in ("ai", "au", "ad")]
        statements += [f"DROP TABLE IF EXISTS {fts}", f"DROP TABLE IF EXISTS {doc}"]
    return statements


class SearchBackend(Protocol):
    """``install`` and ``uninstall`` take anything with ``execute(sql)``: a migration's schema editor or a cursor."""

    def install(self, schema_editor: Any) -> None: ...

    def uninstall(self, schema_editor: Any) -> None: ...

    def match(self, kind: str, expression: str, *, within: QuerySet[Any], limit: int) -> list[str]:
        """Keys (hex UUIDs as stored) of ``kind`` rows matching ``expression``, best first, restricted to the rows
        of ``within`` (a queryset of the source model, e.g. the videos the viewer may see)."""
        ...


class SqliteBackend:
    def install(self, schema_editor: Any) -> None:
        for statement in sqlite_install_sql():
            schema_editor.execute(statement)

    def uninstall(self, schema_editor: Any) -> None:
        for statement in sqlite_uninstall_sql():
            schema_editor.execute(statement)

    def match(self, kind: str, expression: str, *, within: QuerySet[Any], limit: int) -> list[str]:
        doc, column, fts, _columns, _source = _INDEXES[kind]
        weights = ", ".join(str(w) for w in _WEIGHTS[kind])
        # Correlated on the primary key, so each full-text hit costs one lookup rather than the whole visible set
        # being computed first.
        subquery, params = within.filter(pk=RawSQL(f"d.{column}", ())).order_by().values("pk").query.sql_with_params()
        sql = (
            f"SELECT d.{column} FROM {fts} JOIN {doc} d ON d.id = {fts}.rowid "
            f"WHERE {fts} MATCH %s AND EXISTS ({subquery}) "
            f"ORDER BY bm25({fts}, {weights}), d.{column} DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [expression, *params, limit])
            return [row[0] for row in cursor.fetchall()]


def backend(vendor: str | None = None) -> SearchBackend:
    vendor = vendor or connection.vendor
    if vendor == "sqlite":
        return SqliteBackend()
    raise NotImplementedError(f"Full-text search is not implemented for {vendor} yet.")
