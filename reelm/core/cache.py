"""The embedded default's shared cache: Django's file cache, with room for a real site's feed state."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import time
import zlib
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache

from reelm.core import realms

#: Entries kept before a cull (Django's default is 300).
MAX_ENTRIES = 100_000
#: Seconds between two looks at the whole directory, per process.
CULL_EVERY = 30.0
#: Values this long or longer, pickled, are stored compressed (zlib's fastest level); shorter ones as they are, as
#: Django's Redis cache stores everything. A For You page's entries (its session, the viewer's "served" memory, the
#: candidate pool) are mostly shorter: compressing them was most of a write's time.
COMPRESS_FROM = 64 * 1024
#: A pickle (protocol 2 and later) starts with this byte; a zlib stream never does (the low four bits of its
#: first byte are 8, "deflate"), so every entry says for itself whether it was compressed.
_PICKLED = pickle.PROTO


class FileCache(FileBasedCache):
    """Django's file cache lists its whole directory on every write to decide whether to cull, and culls at 300
    entries: with a few hundred viewers that dropped feed sessions and candidate pools at random, and every
    write got slower as the directory grew. Here the directory is looked at once every :data:`CULL_EVERY`
    seconds per process, and there is room for :data:`MAX_ENTRIES` entries unless ``OPTIONS`` say otherwise.

    Reads and writes cost less than Django's (a For You page makes several of each). Django compresses every
    value at zlib's default level: here values shorter than :data:`COMPRESS_FROM` pickled are stored as they
    are, longer ones at zlib's fastest level. A read is one ``read()``; a write renames its temporary file over
    the entry at once (no directory check, no ``samefile`` stats). The layout is Django's (the expiry's pickle,
    then the value's, compressed or not), so entries Django's backend wrote still read; and writes stay atomic:
    a reader in any process sees the old file or the new one, never part of one."""

    if TYPE_CHECKING:  # Django's, private (so missing from django-stubs)
        _dir: str

        def _key_to_file(self, key: str, version: int | None = None) -> str: ...
        def _createdir(self) -> None: ...
        def _delete(self, fname: str) -> bool: ...

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

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        fname = self._key_to_file(key, version)
        found = self._read(fname)
        return default if found is None else found[0]

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        fname = self._key_to_file(key, version)
        self._cull()  # make some room if necessary
        data = _encode(self.get_backend_timeout(timeout), value)
        try:
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        except FileNotFoundError:  # the directory was deleted (as Django allows): make it again
            self._createdir()
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        renamed = False
        try:
            with open(fd, "wb") as f:
                f.write(data)
            os.replace(tmp_path, fname)
            renamed = True
        finally:
            if not renamed:
                os.remove(tmp_path)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        found = self._read(self._key_to_file(key, version))
        if found is None:
            return False
        self.set(key, found[0], timeout, version)
        return True

    def _read(self, fname: str) -> tuple[Any] | None:
        """The entry's value in a 1-tuple (None may be a value), or None when there is none or it expired (its
        file is then deleted, as Django does)."""
        try:
            with open(fname, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        stream = io.BytesIO(data)
        try:
            expiry = pickle.load(stream)  # noqa: S301 - our own cache directory, as in Django's backend
        except EOFError:
            expiry = 0  # an empty file is expired, as in Django
        if expiry is not None and expiry < time.time():
            self._delete(fname)
            return None
        payload = memoryview(data)[stream.tell() :]
        if payload[:1] != _PICKLED:
            payload = memoryview(zlib.decompress(payload))
        return (pickle.loads(payload),)  # noqa: S301 - as above


def _encode(expiry: float | None, value: Any) -> bytes:
    pickled = pickle.dumps(value, FileBasedCache.pickle_protocol)
    if len(pickled) >= COMPRESS_FROM:
        pickled = zlib.compress(pickled, 1)
    return pickle.dumps(expiry, FileBasedCache.pickle_protocol) + pickled


def generation(key: str) -> int:
    """The current stamp of the generation ``key``, made now if there is none. Data cached under a stamp is retired
    by :func:`generation_bump`; stamps never repeat, so a generation the cache evicted retires its data too."""
    from django.core.cache import cache

    stamp = cache.get(key)
    if stamp is None:
        cache.add(key, time.time_ns(), timeout=None)
        stamp = cache.get(key, time.time_ns())
    return int(stamp)


def generation_bump(key: str) -> None:
    """Retire what was cached under ``key``'s stamp: now, and again once the current transaction commits (a reader
    between the two saw the data before the commit and may have cached it under the stamp set now)."""
    from django.core.cache import cache

    def bump() -> None:
        cache.set(key, time.time_ns(), timeout=None)

    bump()
    realms.on_commit(bump)
