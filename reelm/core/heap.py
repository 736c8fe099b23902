"""A long-running process's start-up heap, kept out of the garbage collector's way."""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_startup_heap() -> float:
    """Load what every request needs (the URLconf: the API's routers and schemas), collect, then move every object
    alive into the collector's permanent generation (``gc.freeze``). Returns the collection's milliseconds.

    A web process holds about 120 000 such objects, and a full collection, set off by whichever request, scanned
    them all (``bench/foryou.py`` prints what that collection costs). Frozen, they are never scanned again; what
    requests create is collected as before."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf, which Django otherwise does on the first request
    started = time.perf_counter()
    gc.collect()
    took = (time.perf_counter() - started) * 1000
    gc.freeze()
    log.info(
        "start-up heap frozen: %d objects, which a full collection scanned in %.0f ms", gc.get_freeze_count(), took
    )
    return took
