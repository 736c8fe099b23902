"""The one full-text seam: everything specific to the database's own full-text search lives here."""

# SQL here is built only from the module's constant table and column names; user text is always a bound parameter.
# ruff: noqa: S608, S611

from __future__ import annotations

import re
from typing import Any, Protocol

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from reelm.core import realms

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
    """``install`` and ``uninstall`` take anything with ``execute(sql)``: a migration's schema editor or a cursor.

    SQLite (the embedded default) uses FTS5 tables kept in sync by **triggers** on the source tables, so writes
    (captions, hashtag links, profiles) stay untouched and can never forget the index. Each FTS5 table's rowid
    comes from a small ``search_*_doc`` table mapping it to the source row's UUID, so an update or delete finds
    its index row by key rather than by scanning. Triggers live on their tables: a later migration that makes
    Django *remake* one of ``accounts_user``, ``videos_video``, ``videos_hashtag`` or ``videos_videohashtag`` on
    SQLite drops them, so such a migration must call ``install`` again (it is idempotent and rebuilds the
    index).

    PostgreSQL uses its own full-text search the same way: a ``search_*_doc`` table per kind holding each source
    row's weighted ``tsvector`` under a GIN index, kept in sync by triggers, with a text search configuration
    that folds accents (``unaccent``) as SQLite's tokenizer does. Callers only use ``backend()`` and the
    ``SearchBackend`` methods below; both backends find the same rows for the same words, ranked with the same
    intent (username > display name > bio, hashtag > caption) and with the last word of each term matched as a
    prefix, for type-ahead."""

    def install(self, schema_editor: Any) -> None: ...

    def uninstall(self, schema_editor: Any) -> None: ...

    def match(self, kind: str, terms: list[str], *, within: QuerySet[Any], limit: int) -> list[str]:
        """Keys (UUIDs as text) of ``kind`` rows matching every one of ``terms`` (words of letters, digits and
        underscores), best first, restricted to the rows of ``within`` (a queryset of the source model, e.g. the
        videos the viewer may see)."""
        ...


class SqliteBackend:
    def install(self, schema_editor: Any) -> None:
        for statement in sqlite_install_sql():
            schema_editor.execute(statement)

    def uninstall(self, schema_editor: Any) -> None:
        for statement in sqlite_uninstall_sql():
            schema_editor.execute(statement)

    def match(self, kind: str, terms: list[str], *, within: QuerySet[Any], limit: int) -> list[str]:
        # Each word quoted (so ``AND``, ``NEAR(`` and ``*`` are only ever text) and matched as a prefix.
        expression = " ".join(f'"{term}"*' for term in terms)
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
        with realms.connection().cursor() as cursor:
            cursor.execute(sql, [expression, *params, limit])
            return [row[0] for row in cursor.fetchall()]


PG_CONFIG = "reelm_search"
# (doc table, key column, source table, the row's document as (weight, column of ``s`` or SQL expression) pairs)
_PG_INDEXES = {
    "account": (
        "search_account_doc",
        "user_id",
        "accounts_user",
        (("A", "username"), ("B", "display_name"), ("C", "bio")),
    ),
    "video": (
        "search_video_doc",
        "video_id",
        "videos_video",
        (
            ("B", "caption"),
            (
                "A",
                "(SELECT string_agg(h.name, ' ') FROM videos_videohashtag l "
                "JOIN videos_hashtag h ON h.id = l.hashtag_id WHERE l.video_id = s.id)",
            ),
        ),
    ),
    "hashtag": ("search_hashtag_doc", "hashtag_id", "videos_hashtag", (("A", "name"),)),
}
# ts_rank's weights for D, C, B, A (each at most 1): the same order of importance as the bm25 weights above.
_PG_WEIGHTS = "'{0.1, 0.1, 0.5, 1.0}'"
_PG_WORD_PARTS = re.compile(r"[^\W_]+")


def pg_install_sql() -> list[str]:
    statements = [
        # A trusted extension: the database's owner may create it without being a superuser.
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{PG_CONFIG}') THEN
                CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = simple);
                ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG}
                    ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart WITH unaccent, simple;
            END IF;
        END $$""",
    ]
    for kind, (doc, column, source, document) in _PG_INDEXES.items():
        vector = " || ".join(
            f"setweight(to_tsvector('{PG_CONFIG}', coalesce({f's.{text}' if text.isidentifier() else text}, '')), "
            f"'{weight}')"
            for weight, text in document
        )
        # Hashtag links have their own triggers; a row's update matters only when one of its own columns changed.
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for _w, c in document if c.isidentifier())
        statements += [
            f"CREATE TABLE IF NOT EXISTS {doc} ({column} uuid PRIMARY KEY, document tsvector NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {doc}_document ON {doc} USING gin (document)",
            f"CREATE OR REPLACE FUNCTION search_{kind}_document(key uuid) RETURNS tsvector LANGUAGE sql STABLE "
            f"AS $$ SELECT {vector} FROM {source} s WHERE s.id = key $$",
            f"""CREATE OR REPLACE FUNCTION search_{kind}_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                IF TG_OP = 'DELETE' THEN
                    DELETE FROM {doc} WHERE {column} = OLD.id;
                    RETURN OLD;
                END IF;
                INSERT INTO {doc} ({column}, document) VALUES (NEW.id, search_{kind}_document(NEW.id))
                    ON CONFLICT ({column}) DO UPDATE SET document = EXCLUDED.document;
                RETURN NEW;
            END $$""",
            f"CREATE OR REPLACE TRIGGER search_{kind}_fts_ai AFTER INSERT ON {source} "
            f"FOR EACH ROW EXECUTE FUNCTION search_{kind}_sync()",
            f"CREATE OR REPLACE TRIGGER search_{kind}_fts_au AFTER UPDATE ON {source} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION search_{kind}_sync()",
            f"CREATE OR REPLACE TRIGGER search_{kind}_fts_ad AFTER DELETE ON {source} "
            f"FOR EACH ROW EXECUTE FUNCTION search_{kind}_sync()",
        ]
    statements += [
        """CREATE OR REPLACE FUNCTION search_video_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            UPDATE search_video_doc SET document = search_video_document(video_id)
                WHERE video_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.video_id ELSE NEW.video_id END;
            RETURN NULL;
        END $$""",
        *(
            f"CREATE OR REPLACE TRIGGER search_video_fts_tag_{event.lower()} AFTER {event} ON videos_videohashtag "
            f"FOR EACH ROW EXECUTE FUNCTION search_video_tags_sync()"
            for event in ("INSERT", "DELETE")
        ),
    ]
    return statements + pg_rebuild_sql()


def pg_rebuild_sql() -> list[str]:
    """Refill every index from its source table."""
    statements: list[str] = []
    for kind, (doc, column, source, _document) in _PG_INDEXES.items():
        statements += [
            f"DELETE FROM {doc}",
            f"INSERT INTO {doc} ({column}, document) SELECT id, search_{kind}_document(id) FROM {source}",
        ]
    return statements


def pg_uninstall_sql() -> list[str]:
    statements = [
        *(
            f"DROP TRIGGER IF EXISTS search_video_fts_tag_{event} ON videos_videohashtag"
            for event in ("insert", "delete")
        ),
        "DROP FUNCTION IF EXISTS search_video_tags_sync()",
    ]
    for kind, (doc, _column, source, _document) in _PG_INDEXES.items():
        statements += [
            f"DROP TRIGGER IF EXISTS search_{kind}_fts_{suffix} ON {source}" for suffix in ("ai", "au", "ad")
        ]
        statements += [
            f"DROP FUNCTION IF EXISTS search_{kind}_sync()",
            f"DROP FUNCTION IF EXISTS search_{kind}_document(uuid)",
            f"DROP TABLE IF EXISTS {doc}",
        ]
    # The unaccent extension stays: other schemas of the same database may use it.
    return [*statements, f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG}"]


def pg_tsquery(terms: list[str]) -> str | None:
    """``to_tsquery`` text for ``terms``: a term's parts (``skater_jo`` is ``skater``, ``jo``) must follow each
    other, the last as a prefix, as in an FTS5 phrase; every term must match. Only letters and digits are kept, so
    no query operator can come from the user. None when nothing searchable is left."""
    phrases = []
    for term in terms:
        parts = _PG_WORD_PARTS.findall(term)
        if parts:
            phrases.append(" <-> ".join(parts) + ":*")
    return " & ".join(phrases) or None


class PostgresBackend:
    def install(self, schema_editor: Any) -> None:
        for statement in pg_install_sql():
            schema_editor.execute(statement)

    def uninstall(self, schema_editor: Any) -> None:
        for statement in pg_uninstall_sql():
            schema_editor.execute(statement)

    def match(self, kind: str, terms: list[str], *, within: QuerySet[Any], limit: int) -> list[str]:
        tsquery = pg_tsquery(terms)
        if tsquery is None:
            return []
        doc, column, _source, _document = _PG_INDEXES[kind]
        # Correlated on the primary key, as on SQLite: each full-text hit costs one lookup.
        subquery, params = within.filter(pk=RawSQL(f"d.{column}", ())).order_by().values("pk").query.sql_with_params()
        sql = (
            f"SELECT d.{column} FROM {doc} d, to_tsquery('{PG_CONFIG}', %s) q "
            f"WHERE d.document @@ q AND EXISTS ({subquery}) "
            f"ORDER BY ts_rank({_PG_WEIGHTS}, d.document, q) DESC, d.{column} DESC LIMIT %s"
        )
        with realms.connection().cursor() as cursor:
            cursor.execute(sql, [tsquery, *params, limit])
            return [str(row[0]) for row in cursor.fetchall()]


def backend(vendor: str | None = None) -> SearchBackend:
    vendor = vendor or realms.connection().vendor
    if vendor == "sqlite":
        return SqliteBackend()
    if vendor == "postgresql":
        return PostgresBackend()
    raise NotImplementedError(f"Full-text search is not implemented for {vendor}.")
