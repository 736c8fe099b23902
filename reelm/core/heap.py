"""A long-running process's start-up heap, kept out of the garbage collector's way."""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

#: The collector's thresholds in a web process, instead of Python's (700, 10, 10). A For You page holds more than 700
#: container objects at its peak (the unpickled pool's lists and tuples), though reference counting frees nearly all
#: of them when it ends, so the default ran a young collection every other page, and one page in a few hundred
#: carried a full one (``bench/foryou.py``'s collections table). Pages leave no cyclic garbage (counted there), which
#: is all a collection is needed for, so collections come far less often.
WEB_THRESHOLDS = (10_000, 10, 100)


def freeze_startup_heap() -> float:
    """Load what every request needs (the URLconf: the API's routers and schemas), collect, then move every object
    alive into the collector's permanent generation (``gc.freeze``), and set :data:`WEB_THRESHOLDS`. Returns the
    collection's milliseconds.

    A web process holds about 120 000 such objects, and a full collection, set off by whichever request, scanned
    them all (``bench/foryou.py`` prints what that collection costs). Frozen, they are never scanned again; what
    requests create is collected as before."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf, which Django otherwise does on the first request
    started = time.perf_counter()
    gc.collect()
    took = (time.perf_counter() - started) * 1000
    gc.freeze()
    gc.set_threshold(*WEB_THRESHOLDS)
    log.info(
        "start-up heap frozen: %d objects, which a full collection scanned in %.0f ms", gc.get_freeze_count(), took
    )
    return took
