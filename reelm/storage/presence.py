"""Running processes report themselves and try the stores a migration is about to send them to.

Each web and worker process runs one small thread: it records a heartbeat (``StoreProcess``) and, when
``reelm storage migrate`` posts a ``StoreCheck``, runs the preflight probe against that store with its own
configuration and credentials and records the answer. The migration waits for the answers of every process seen
recently, so a process that cannot reach the new store is named before the realm changes phase.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from reelm.storage import registry
from reelm.storage.errors import plain
from reelm.storage.models import StoreCheck, StoreProcess
from reelm.storage.preflight import store_probe

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
#: A process not seen for this long is taken to have stopped.
ALIVE_SECONDS = 45.0
#: How long a migration waits for every live process to answer a check.
ANSWER_SECONDS = 20.0
#: Checks older than this are not answered any more (a process started later has nothing to prove).
CHECK_FRESH_SECONDS = 60.0

_started: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def presence_start(role: str) -> None:
    """Start this process's reporting thread (once per process: a forked child starts its own)."""
    with _lock:
        if os.getpid() in _started:
            return
        thread = threading.Thread(target=_run, args=(role,), name="reelm-presence", daemon=True)
        _started[os.getpid()] = thread
    thread.start()
    atexit.register(presence_forget)


def _run(role: str) -> None:
    reporter = Reporter(role)
    while True:
        try:
            reporter.step()
        except DatabaseError as exc:  # no tables yet, a locked database: try again on the next tick
            log.debug("presence: %s", exc)
        finally:
            close_old_connections()
        time.sleep(POLL_SECONDS)


class Reporter:
    """One process's heartbeat and answers; ``step`` is one tick of its thread."""

    def __init__(self, role: str, name: str | None = None):
        self.role = role
        self.name = name or process_name()
        self.started_at = timezone.now()
        self._last_beat = 0.0
        self._answered: object = None

    def step(self) -> None:
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            self._beat()
        fresh = timezone.now() - timedelta(seconds=CHECK_FRESH_SECONDS)
        check = StoreCheck.objects.filter(created_at__gte=fresh).order_by("-created_at").first()
        if check is not None and check.id != self._answered:
            self.answer(check)

    def _beat(self) -> None:
        self._record(role=self.role)

    def answer(self, check: StoreCheck) -> None:
        try:
            store_probe(registry.store_from_url(check.url), label=f"process-{os.getpid()}")
            ok, error = True, ""
        except Exception as exc:  # the answer is the failure, in words, whatever raised it
            ok, error = False, plain(exc)
        self._record(answered=check, answer_ok=ok, answer_error=error)
        self._answered = check.id

    def _record(self, **fields: object) -> None:
        """Save this process's row (a heartbeat too), creating it on the first report."""
        now = timezone.now()
        StoreProcess.objects.update_or_create(
            name=self.name,
            defaults={"seen_at": now, **fields},
            create_defaults={"role": self.role, "started_at": self.started_at, "seen_at": now, **fields},
        )
        self._last_beat = time.monotonic()


def presence_forget() -> None:
    """Remove this process's row on a clean exit, so a migration does not wait for it."""
    with contextlib.suppress(DatabaseError):
        StoreProcess.objects.filter(name=process_name()).delete()
    with contextlib.suppress(Exception):
        connections.close_all()


@dataclass(frozen=True)
class ProcessAnswer:
    name: str
    role: str
    ok: bool | None  # None: no answer in time
    error: str = ""


def alive_processes() -> list[StoreProcess]:
    """The processes that reported in the last ``ALIVE_SECONDS``."""
    since = timezone.now() - timedelta(seconds=ALIVE_SECONDS)
    return list(StoreProcess.objects.filter(seen_at__gte=since).order_by("name"))


def processes_check(
    url: str,
    *,
    wait_seconds: float = ANSWER_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ProcessAnswer]:
    """Ask every live process to try the store at ``url``; their answers once all are in, or when time is up."""
    check = StoreCheck.objects.create(url=url)
    deadline = time.monotonic() + wait_seconds
    while True:
        alive = alive_processes()
        waiting = [process for process in alive if process.answered_id != check.id]
        if not waiting or time.monotonic() >= deadline:
            break
        sleep(0.25)
    StoreCheck.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).delete()
    return [
        ProcessAnswer(p.name, p.role, p.answer_ok if p.answered_id == check.id else None, p.answer_error) for p in alive
    ]
