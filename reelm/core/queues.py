"""The named task queues, declared once: ``transcode``, ``recommend`` and ``gateway``.

Each is a huey instance per realm on the realm's queue URL (REELM_QUEUE_URL without realms): huey keys a queue's
tasks by its name, so one SQLite file or one Redis database holds them all. ``reelm worker`` consumes every queue
of every realm, or the queues named with ``--queue``.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from huey.api import Huey
from huey.consumer import Consumer
from huey.utils import load_class

from reelm.config import queue_settings
from reelm.core import realms

log = logging.getLogger(__name__)


class RealmTask:
    """A task registered with each realm's queue: calling it queues it in the queue of the realm being worked for,
    and the worker runs it working for that realm."""

    def __init__(self, fn: Callable[..., Any], per_realm: dict[str, Any]) -> None:
        self.call_local = fn
        self.per_realm = per_realm
        functools.update_wrapper(self, fn)

    def _here(self) -> Any:
        return self.per_realm[realms.current_realm()]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._here()(*args, **kwargs)

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        return self._here().schedule(*args, **kwargs)


class TaskQueue:
    """One named queue, kept in each realm's queue storage, with djhuey's decorators: ``db_task``,
    ``db_periodic_task`` and ``on_startup``."""

    def __init__(self, name: str, purpose: str) -> None:
        self.name = name
        self.purpose = purpose
        self._hueys: dict[str, Huey] = {}
        self._lock = threading.Lock()

    @property
    def hueys(self) -> dict[str, Huey]:
        """Each realm's huey for this queue (one, named as before realms, where none are configured)."""
        # Built on first use, once the settings are loaded: the command line lists the queues before that.
        with self._lock:
            if not self._hueys:
                for realm in realms.config().realms.values():
                    if realms.configured():
                        storage = queue_settings(realm.queue_url, directory=settings.DATA_DIR)
                        name = f"reelm.{realm.name}.{self.name}"
                    else:
                        storage, name = dict(settings.QUEUE_STORAGE), f"reelm.{self.name}"
                    huey_class = load_class(storage.pop("huey_class"))
                    self._hueys[realm.name] = huey_class(
                        name, results=False, immediate=settings.QUEUE_IMMEDIATE, **storage
                    )
            return self._hueys

    @property
    def immediate(self) -> bool:
        return all(huey.immediate for huey in self.hueys.values())

    @immediate.setter
    def immediate(self, value: bool) -> None:
        for huey in self.hueys.values():
            huey.immediate = value

    def pending_count(self) -> int:
        return sum(int(huey.pending_count()) for huey in self.hueys.values())

    def _wrapped(self, fn: Callable[..., Any], realm: str, huey: Huey) -> Callable[..., Any]:
        """Work for ``realm``; and, in a worker, drop the thread's database connections before and after the task
        if broken or past their age, as Django does around a request. Inline tasks share their caller's."""

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not huey.immediate:
                close_old_connections()
            try:
                with realms.working_for(realm):
                    return fn(*args, **kwargs)
            finally:
                if not huey.immediate:
                    close_old_connections()

        return inner

    def db_task(self, **options: Any) -> Callable[[Callable[..., Any]], RealmTask]:
        """``huey.task`` for a task that uses the database; ``call_local`` runs the function itself."""

        def decorator(fn: Callable[..., Any]) -> RealmTask:
            per_realm = {
                realm: huey.task(**options)(self._wrapped(fn, realm, huey)) for realm, huey in self.hueys.items()
            }
            return RealmTask(fn, per_realm)

        return decorator

    def db_periodic_task(self, schedule: Any, **options: Any) -> Callable[[Callable[..., Any]], RealmTask]:
        """``huey.periodic_task`` for a task that uses the database: each realm runs it on its own rows."""

        def decorator(fn: Callable[..., Any]) -> RealmTask:
            per_realm = {
                realm: huey.periodic_task(schedule, **options)(self._wrapped(fn, realm, huey))
                for realm, huey in self.hueys.items()
            }
            return RealmTask(fn, per_realm)

        return decorator

    def on_startup(self, name: str | None = None) -> Callable[[Callable[[], None]], Callable[[], None]]:
        """Run the function in each of this queue's worker threads as it starts, working for the thread's realm."""

        def decorator(fn: Callable[[], None]) -> Callable[[], None]:
            for realm, huey in self.hueys.items():
                huey.on_startup(name)(self._wrapped(fn, realm, huey))
            return fn

        return decorator


TRANSCODE = TaskQueue("transcode", "video transcodes, the recovery of stalled ones, the database's nightly upkeep")
RECOMMEND = TaskQueue("recommend", "the recommender's lessons, viewers' candidate pools and the nightly refit")
GATEWAY = TaskQueue("gateway", "messages from this realm to the others (only where realms are configured)")
QUEUES: dict[str, TaskQueue] = {queue.name: queue for queue in (TRANSCODE, RECOMMEND, GATEWAY)}


def set_immediate(value: bool) -> None:
    """Run the tasks of every queue inline (True) or through the queue storage (False)."""
    for queue in QUEUES.values():
        queue.immediate = value


# --- consuming ---------------------------------------------------------------------------------------------

CONSUMER_OPTIONS: dict[str, Any] = {
    "worker_type": "thread",
    # An idle worker keeps looking at the queue often (huey's default backs off to many seconds), so an upload
    # starts transcoding at once; a poll of the SQLite queue costs next to nothing.
    "initial_delay": 0.05,
    "backoff": 1.5,
    "max_delay": 0.5,
}
HEALTH_CHECK_SECONDS = 10.0


class _SharedSignalsConsumer(Consumer):
    """A consumer that leaves the process's signals to ``consume``: each consumer would take them for itself."""

    def _set_signal_handlers(self) -> None:
        pass


def _running(consumers: list[_SharedSignalsConsumer]) -> bool:
    """Whether any worker thread or scheduler of the consumers is still at work."""
    return any(
        process.is_alive()
        for consumer in consumers
        for process in [consumer.scheduler, *(thread for _, thread in consumer.worker_threads)]
    )


def consume(threads: dict[str, int]) -> None:
    """Consume the named queues, each with its own worker threads (``{"transcode": 2, ...}``), until a signal.

    As huey's own consumer: SIGINT (Ctrl-C) lets running tasks finish, a second signal stops at once; SIGTERM stops
    at once; SIGHUP lets running tasks finish, then restarts the process. Each queue's scheduler queues its own
    periodic tasks.
    """
    unknown = sorted(set(threads) - set(QUEUES))
    if unknown:
        raise ValueError(f"no such queue: {', '.join(unknown)}")
    received: list[int] = []
    wake = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        wake.set()

    handled = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    consumers = []
    try:
        for name, count in threads.items():
            for realm, huey in QUEUES[name].hueys.items():
                consumer = _SharedSignalsConsumer(huey, workers=count, **CONSUMER_OPTIONS)
                consumers.append(consumer)
                consumer.start()
                where = f" of realm {realm}" if realms.configured() else ""
                log.info("consuming queue %s%s with %d thread(s)", name, where, count)
        while not wake.wait(HEALTH_CHECK_SECONDS):
            for consumer in consumers:
                consumer.check_worker_health()  # a thread that died is replaced
        graceful = received[0] != signal.SIGTERM
        log.info("received %s: stopping %s", signal.Signals(received[0]).name, "gracefully" if graceful else "now")
        for consumer in consumers:
            consumer.stop_flag.set()  # no queue starts a task while another finishes its own
        if graceful:
            log.info("waiting for running tasks to finish (a second signal stops at once)")
            while len(received) == 1 and _running(consumers):
                wake.clear()
                wake.wait(0.1)
        for consumer in consumers:
            consumer.stop()  # what still runs now stops with the process
        for consumer in consumers:
            consumer.huey.notify_interrupted_tasks()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received[0] == signal.SIGHUP:
        log.info("restarting")
        os.execl(sys.executable, sys.executable, *sys.argv)  # noqa: S606
    log.info("worker stopped")
