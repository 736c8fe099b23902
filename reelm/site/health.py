"""``reelm check``: plain-words answers to "is this deployment able to work?"."""

from __future__ import annotations

import subprocess
import uuid

from django.conf import settings
from django.core import checks
from django.db import connection
from rich.console import Console

from reelm.config import redacted

console = Console()


def report(ok: bool, what: str, detail: str) -> bool:
    mark = "[green]ok[/green]" if ok else "[red]FAIL[/red]"
    console.print(f"{mark:>18}  {what}: {detail}")
    return ok


def _storage() -> tuple[bool, str]:
    """List, write, read back and delete a small object, and say in one sentence what went wrong."""
    from reelm.storage.base import StorageError
    from reelm.storage.registry import media_store

    # Every failure becomes a FAIL line, never a crash of ``reelm check``.
    try:
        store = media_store()
    except Exception as exc:
        return False, f"REELM_STORAGE_URL is not usable: {exc}"
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


def _database() -> tuple[bool, str]:
    """Connect; on failure, say which server or file could not be reached and why."""
    db = settings.DATABASES["default"]
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
        return False, f"cannot use the {where} (REELM_DATABASE_URL); {hint} ({_first_line(exc)})"
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


def run_checks() -> bool:
    results = []
    problems = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    results.append(report(not problems, "Django configuration", "; ".join(map(str, problems)) or "valid"))
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
