"""``reelm check``: plain-words answers to "is this deployment able to work?"."""

from __future__ import annotations

import subprocess
import uuid

from django.conf import settings
from django.core import checks
from django.db import connections
from rich.console import Console

from reelm.config import redacted
from reelm.core import realms

console = Console()


def report(ok: bool, what: str, detail: str) -> bool:
    mark = "[green]ok[/green]" if ok else "[red]FAIL[/red]"
    console.print(f"{mark:>18}  {what}: {detail}")
    return ok


def _storage(realm: str | None = None) -> tuple[bool, str]:
    """List, write, read back and delete a small object, and say in one sentence what went wrong."""
    from reelm.storage.base import StorageError
    from reelm.storage.registry import media_store

    setting = f"the store of realm {realm!r} in REELM_REALMS" if realm else "REELM_STORAGE_URL"
    # Every failure becomes a FAIL line, never a crash of ``reelm check``.
    try:
        store = media_store(realm)
    except Exception as exc:
        return False, f"{setting} is not usable: {exc}"
    key = f"healthcheck/{uuid.uuid4()}"
    try:
        # A listing first: a missing bucket or container answers it with its own error code, while a write into
        # it comes back from Azure and GCS as "not found", which would read like a missing object.
        next(iter(store.list("healthcheck/")), None)
        store.put(key, b"ok")
        readable = store.read_bytes(key) == b"ok"
        store.delete(key)
    except StorageError as exc:  # says which store, what it answered and what to do
        return False, str(exc)
    except Exception as exc:
        return False, f"cannot write to {store.url}; is the server reachable and are its credentials right? ({exc})"
    if not readable:
        return False, f"{store.url} returned something else than what was written to it"
    return True, f"{store.url} is writable"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _database(alias: str = "default", setting: str = "REELM_DATABASE_URL") -> tuple[bool, str]:
    """Connect; on failure, say which server or file could not be reached and why."""
    connection = connections[alias]
    db = settings.DATABASES[alias]
    if connection.vendor == "sqlite":
        where = f"SQLite file {db['NAME']}"
    else:
        where = f"{connection.display_name} database {db['NAME']!r} at {db['HOST']}:{db['PORT'] or 'default port'}"
    try:
        connection.ensure_connection()
    except Exception as exc:
        hint = (
            "can its directory be written to?"
            if connection.vendor == "sqlite"
            else "is the server running and reachable, and are the user, password and database name right?"
        )
        return False, f"cannot use the {where} ({setting}); {hint} ({_first_line(exc)})"
    return True, f"{where} answers"


def _queue() -> tuple[bool, str]:
    """Ask each named queue how many tasks wait; workers and web processes all use these queues."""
    from reelm.core.queues import QUEUES

    url = redacted(settings.REELM_QUEUE_URL)
    try:
        waiting = {name: queue.pending_count() for name, queue in QUEUES.items()}
    except Exception as exc:
        return (
            False,
            f"cannot reach the task queue {url} (REELM_QUEUE_URL); is the server running? ({_first_line(exc)})",
        )
    each = ", ".join(f"{name} {count}" for name, count in waiting.items())
    return True, f"{url} answers, {sum(waiting.values())} tasks waiting ({each})"


def _cache() -> tuple[bool, str]:
    """Write, read back and delete a key in the cache every web process shares."""
    from django.core.cache import cache

    if settings.REELM_CACHE_URL:
        where = f"Redis cache {redacted(settings.REELM_CACHE_URL)} (REELM_CACHE_URL)"
    else:
        where = f"file cache in {settings.CACHES['default']['LOCATION']} (this machine's processes only)"
    key = f"healthcheck:{uuid.uuid4()}"
    try:
        cache.set(key, "ok", 10)
        readable = cache.get(key) == "ok"
        cache.delete(key)
    except Exception as exc:
        return False, f"cannot use the {where}; is the server running and reachable? ({_first_line(exc)})"
    if not readable:
        return False, f"the {where} did not return what was written to it"
    return True, f"{where} answers"


def _realm_checks() -> list[bool]:
    """Where realms are configured: the directory's database, then each realm's database, store and queue."""
    from reelm.core.queues import QUEUES

    config = realms.config()
    results = []
    listed = ", ".join(
        f"{r.name} ({', '.join(r.countries) or 'no countries'}{', default' if r.name == config.default else ''})"
        for r in config.realms.values()
    )
    results.append(report(True, "realms", f"{len(config.realms)}: {listed}"))
    ok, detail = _database(realms.DIRECTORY_ALIAS, "REELM_DATABASE_URL, the directory")
    results.append(report(ok, "directory database", detail))
    for realm in config.realms.values():
        setting = f"the database of realm {realm.name!r} in REELM_REALMS"
        ok, detail = _database(realm.alias, setting)
        results.append(report(ok, f"realm {realm.name}: database", detail))
        ok, detail = _storage(realm.name)
        results.append(report(ok, f"realm {realm.name}: object storage", detail))
        try:
            waiting = sum(int(queue.hueys[realm.name].pending_count()) for queue in QUEUES.values())
            ok, detail = True, f"{redacted(realm.queue_url)} answers, {waiting} tasks waiting"
        except Exception as exc:
            ok, detail = (
                False,
                f"cannot reach the task queue {redacted(realm.queue_url)}; is it running? ({_first_line(exc)})",
            )
        results.append(report(ok, f"realm {realm.name}: task queue", detail))
    return results


def run_checks() -> bool:
    results = []
    problems = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    results.append(report(not problems, "Django configuration", "; ".join(map(str, problems)) or "valid"))
    if realms.configured():
        results.extend(_realm_checks())
        ok, detail = _cache()
        results.append(report(ok, "cache", detail))
    else:
        for what, check in (("database", _database), ("task queue", _queue), ("cache", _cache)):
            ok, detail = check()
            results.append(report(ok, what, detail))
        storage_ok, storage_detail = _storage()
        results.append(report(storage_ok, "object storage", storage_detail))
    try:
        from reelm.transcode.ffmpeg import ffmpeg_path

        out = subprocess.run([ffmpeg_path(), "-hide_banner", "-version"], capture_output=True, text=True, check=True)
        results.append(report(True, "ffmpeg", out.stdout.splitlines()[0]))
    except Exception as exc:
        results.append(report(False, "ffmpeg", str(exc)))
    return all(results)
