"""The embedded default's shared cache: Django's file cache, with room for a real site's feed state."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache.backends.filebased import FileBasedCache

#: Entries kept before a cull (Django's default is 300).
MAX_ENTRIES = 100_000
#: Seconds between two looks at the whole directory, per process.
CULL_EVERY = 30.0


class FileCache(FileBasedCache):
    """Django's file cache lists its whole directory on every write to decide whether to cull, and culls at 300
    entries: with a few hundred viewers that dropped feed sessions and candidate pools at random, and every
    write got slower as the directory grew. Here the directory is looked at once every :data:`CULL_EVERY`
    seconds per process, and there is room for :data:`MAX_ENTRIES` entries unless ``OPTIONS`` say otherwise."""

    def __init__(self, directory: str, params: dict[str, Any]) -> None:
        options = {"MAX_ENTRIES": MAX_ENTRIES, **params.get("OPTIONS", {})}
        super().__init__(directory, {**params, "OPTIONS": options})
        self._looked = 0.0

    def _cull(self) -> None:
        now = time.monotonic()
        if now - self._looked < CULL_EVERY:
            return
        self._looked = now
        super()._cull()  # type: ignore[misc]  # private in django-stubs
