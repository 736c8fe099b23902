"""``reelm check``: plain-words answers to "is this deployment able to work?"."""

from __future__ import annotations

import subprocess
import uuid

from django.conf import settings
from django.core import checks
from django.db import connection
from rich.console import Console

console = Console()


def _report(ok: bool, what: str, detail: str) -> bool:
    mark = "[green]ok[/green]" if ok else "[red]FAIL[/red]"
    console.print(f"{mark:>18}  {what}: {detail}")
    return ok


def _storage() -> tuple[bool, str]:
    """Write, read back and delete a small object, and say in one sentence what went wrong."""
    from reelm.storage.registry import media_store

    # Every failure becomes a FAIL line, never a crash of ``reelm check``.
    try:
        store = media_store()
    except Exception as exc:
        return False, f"REELM_STORAGE_URL is not usable: {exc}"
    key = f"healthcheck/{uuid.uuid4()}"
    try:
        store.put(key, b"ok")
        readable = store.read_bytes(key) == b"ok"
        store.delete(key)
    except Exception as exc:
        return False, f"cannot write to {store.url}; is the server reachable and are its credentials right? ({exc})"
    if not readable:
        return False, f"{store.url} returned something else than what was written to it"
    return True, f"{store.url} is writable"


def run_checks() -> bool:
    results = []
    problems = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    results.append(_report(not problems, "Django configuration", "; ".join(map(str, problems)) or "valid"))
    try:
        connection.ensure_connection()
        results.append(_report(True, "database", f"{connection.vendor} {settings.DATABASES['default']['NAME']}"))
    except Exception as exc:
        results.append(_report(False, "database", str(exc)))
    storage_ok, storage_detail = _storage()
    results.append(_report(storage_ok, "object storage", storage_detail))
    try:
        from reelm.transcode.ffmpeg import ffmpeg_path

        out = subprocess.run([ffmpeg_path(), "-hide_banner", "-version"], capture_output=True, text=True, check=True)
        results.append(_report(True, "ffmpeg", out.stdout.splitlines()[0]))
    except Exception as exc:
        results.append(_report(False, "ffmpeg", str(exc)))
    return all(results)
