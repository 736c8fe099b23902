"""Circuit breakers, one per store URL in each process: a store that keeps failing is left alone for a while, so
calls that have another store to turn to go there at once instead of waiting out retries and timeouts.

closed (calls go through) → open after ``FAILURES_TO_OPEN`` failures in a row (calls are skipped) → half-open once
``COOLDOWN_SECONDS`` have passed (one trial call goes through) → closed if it succeeds, open again if it fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reelm.storage.base import StorageError

log = logging.getLogger(__name__)

FAILURES_TO_OPEN = 3
COOLDOWN_SECONDS = 5.0

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class StoreUnavailable(StorageError):
    """A call not made: the store's breaker is open, or this process cannot build a client for it at all."""


class Breaker:
    """The health of one store as this process has seen it. Callers ask ``allow()`` before a call and report
    its outcome with ``succeeded()`` or ``failed()``; a store that answered "not found" succeeded."""

    def __init__(
        self,
        name: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        failures_to_open: int | None = None,
        cooldown: float | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        # None: the module's setting, read at each use, so a test (or an operator's shell) can change it.
        self._failures_to_open = failures_to_open
        self._cooldown = cooldown
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def cooldown(self) -> float:
        return COOLDOWN_SECONDS if self._cooldown is None else self._cooldown

    @property
    def failures_to_open(self) -> int:
        return FAILURES_TO_OPEN if self._failures_to_open is None else self._failures_to_open

    def allow(self) -> bool:
        """Whether a call may go to the store now: always when closed, never while open, and for one trial call
        at a time once half-open."""
        with self._lock:
            if self._state == CLOSED:
                return True
            now = self._clock()
            if self._state == OPEN:
                if now - self._opened_at < self.cooldown:
                    return False
                self._state = HALF_OPEN
                log.info("storage: trying %s again", self.name)
            elif self._trial_started is not None and now - self._trial_started < self.cooldown:
                return False  # a trial is under way; one that never reported back is replaced after a cooldown
            self._trial_started = now
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            if self._state != CLOSED:
                self._state, self._trial_started = CLOSED, None
                log.warning("storage: %s answers again", self.name)

    def failed(self, error: object = None) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.failures_to_open):
                was_closed = self._state == CLOSED
                self._state, self._opened_at, self._trial_started = OPEN, self._clock(), None
                if was_closed:
                    log.warning(
                        "storage: %d calls in a row to %s failed (%s); skipping it, trying again every %g s",
                        self._failures,
                        self.name,
                        error,
                        self.cooldown,
                    )
                else:
                    log.info("storage: %s still fails (%s)", self.name, error)
            # Already open: a call that started before it opened; the cooldown runs from the opening.


_breakers: dict[str, Breaker] = {}
_lock = threading.Lock()


def breaker_for(url: str) -> Breaker:
    """The breaker of the store at ``url`` in this process."""
    breaker = _breakers.get(url)
    if breaker is None:
        with _lock:
            breaker = _breakers.setdefault(url, Breaker(url))
    return breaker


def breakers_reset() -> None:
    """Forget every store's history (tests, and a reconfigured process)."""
    with _lock:
        _breakers.clear()
