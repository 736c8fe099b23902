"""The online ranker's saved state: this process's copy (reloaded when another process saves a newer one) and
the online steps the worker saves (see ``tasks.ranker_learn``)."""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache import cache
from django.utils import timezone

from reelm.core import realms
from reelm.recommend.models import ModelState
from reelm.recommend.ranker import Ranker

log = logging.getLogger(__name__)

#: The ``ModelState`` row's name.
RANKER = "ranker"
_ranker_lock = threading.Lock()
_ranker: tuple[int, Ranker] | None = None
_ranker_checked = 0.0
RANKER_VERSION_KEY = "recommend:ranker-version"


class ModelUnavailable(Exception):
    """The ranker's saved state cannot be read: For You falls back to the transparent ranking."""


def ranker_current() -> Ranker:
    """This process's copy of the ranker, reloaded when another process saved a newer version (checked at most
    once a second, through the cache). A fresh, untrained ranker before the first lesson."""
    global _ranker, _ranker_checked
    now = time.monotonic()
    with _ranker_lock:
        if _ranker is not None and now - _ranker_checked < 1.0:
            return _ranker[1]
        _ranker_checked = now
        version = cache.get(RANKER_VERSION_KEY)
        if _ranker is not None and version is not None and version == _ranker[0]:
            return _ranker[1]
        state = ModelState.objects.filter(name=RANKER).only("version", "data").first()
        if state is None:
            _ranker = (0, Ranker())
        elif _ranker is None or _ranker[0] != state.version:
            try:
                _ranker = (state.version, Ranker.load(bytes(state.data)))
            except Exception as exc:
                _ranker = None
                raise ModelUnavailable(f"the saved ranker cannot be read: {exc}") from exc
            cache.set(RANKER_VERSION_KEY, state.version, None)
        return _ranker[1]


def ranker_forget_cached() -> None:
    """Drop this process's copy (tests, and after a rebuild)."""
    global _ranker
    with _ranker_lock:
        _ranker = None


#: Optimistic saves of one online step before it waits for the row's lock (see :func:`ranker_train`).
RANKER_SAVE_ATTEMPTS = 3


def ranker_train(rows: list[list[tuple[str, float]]], labels: list[float]) -> int:
    """One online step, saved at once; returns the saved version. No update is lost: the step is learned on the
    saved state outside any transaction, and saved only if no other worker saved since it was read (else learned
    again on the newer state). On SQLite a transaction that writes holds the whole database's write lock, and the
    worker runs at a lower CPU priority: learning inside it made the web's writes (watch events, likes) wait for
    the worker's numpy. After :data:`RANKER_SAVE_ATTEMPTS` lost races it learns under the row's lock."""
    for _ in range(RANKER_SAVE_ATTEMPTS):
        state = _ranker_state()
        if _ranker_save_if_unchanged(state.version, _learned(state, rows, labels)):
            break
    else:
        with realms.atomic():
            state = ModelState.objects.select_for_update().get(name=RANKER)
            _ranker_save_if_unchanged(state.version, _learned(state, rows, labels))  # locked: nobody else saves
    cache.set(RANKER_VERSION_KEY, state.version + 1, None)
    return state.version + 1


def _ranker_state() -> ModelState:
    state = ModelState.objects.filter(name=RANKER).first()
    if state is None:
        state, _ = ModelState.objects.get_or_create(name=RANKER, defaults={"data": Ranker().dump()})
    return state


def _learned(state: ModelState, rows: list[list[tuple[str, float]]], labels: list[float]) -> bytes:
    try:
        ranker = Ranker.load(bytes(state.data))
    except Exception:
        log.warning("the saved ranker could not be read; starting a new one")
        ranker = Ranker()
    ranker.learn(rows, labels)
    return ranker.dump()


def _ranker_save_if_unchanged(version: int, data: bytes) -> bool:
    """Save ``data`` as the next version if the saved one is still ``version``; False if another save came first."""
    saved = ModelState.objects.filter(name=RANKER, version=version).update(
        data=data, version=version + 1, updated_at=timezone.now()
    )
    return saved == 1
