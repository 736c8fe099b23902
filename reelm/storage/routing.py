"""The store every part of Reelm talks to: one store normally, two while a realm moves to another store.

``StoreConfig`` (in the database) says which phase a realm is in; every process re-reads it at most ``ROUTE_TTL``
seconds after the last look, so a change made by ``reelm storage migrate`` reaches web and worker processes within
about a second, and ``PROPAGATION_SECONDS`` after a change every process follows it.

- steady: one store.
- migrating (old → new): writes go to the old store (it stays complete and authoritative) and then to the new one;
  reads try the new store and fall back to the old; deletes go to both.
- switched (new, old kept until purge): writes go to the new store only; reads still fall back to the old store;
  deletes go to both, so that the old store never holds an object the new one lacks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError

from reelm.storage import registry
from reelm.storage.base import ObjectInfo, ObjectNotFound, ObjectStore, StorageError, WriteResult
from reelm.storage.pump import pumped

log = logging.getLogger(__name__)

ROUTE_TTL = 1.0
#: After a routing change, how long until every process is known to follow it (the TTL plus slack for a request
#: that read the old route just before the change).
PROPAGATION_SECONDS = ROUTE_TTL + 1.5

STEADY, MIGRATING, SWITCHED = "steady", "migrating", "switched"


@dataclass(frozen=True)
class Route:
    phase: str
    primary_url: str
    other_url: str = ""
    version: int = 0

    @property
    def new_url(self) -> str:
        """The store reads try first: the migration target while migrating, the primary otherwise."""
        return self.other_url if self.phase == MIGRATING else self.primary_url

    @property
    def old_url(self) -> str:
        """The store reads fall back to, or "" when there is none."""
        if self.phase == MIGRATING:
            return self.primary_url
        return self.other_url if self.phase == SWITCHED else ""


def configured_url(realm: str) -> str:
    """The store the settings name for ``realm`` (used until a migration records another in the database)."""
    if realm == "default":
        return str(settings.REELM_STORAGE_URL)
    urls: dict[str, str] = settings.REELM_REALM_STORAGE_URLS
    if realm not in urls:
        raise ValueError(f"no store configured for realm {realm!r} (set REELM_REALM_STORAGE_URLS)")
    return urls[realm]


_lock = threading.Lock()
_routes: dict[str, tuple[float, Route]] = {}


def forget_routes() -> None:
    """Drop the cached routes, so this process reads the database on its next storage call."""
    with _lock:
        _routes.clear()


def current_route(realm: str) -> Route:
    now = time.monotonic()
    with _lock:
        cached = _routes.get(realm)
    if cached and now - cached[0] < ROUTE_TTL:
        return cached[1]
    route = _load_route(realm, cached[1] if cached else None)
    with _lock:
        _routes[realm] = (now, route)
    return route


def _load_route(realm: str, last_known: Route | None) -> Route:
    from reelm.storage.models import StoreConfig  # models need the app registry; this module must not

    try:
        row = StoreConfig.objects.filter(realm=realm).first()
    except (DatabaseError, RuntimeError) as exc:
        # No table yet (before the first `reelm migrate`), a broken transaction, or no database access allowed
        # here (pytest-django): keep the last route this process knew, or the configured store.
        log.debug("storage routing: cannot read StoreConfig (%s); using the last known route", exc)
        return last_known or Route(STEADY, configured_url(realm))
    if row is None:
        return Route(STEADY, configured_url(realm))
    return Route(row.phase, row.primary_url, row.other_url, row.version)


class RoutingStore:
    """An ``ObjectStore`` that follows its realm's ``StoreConfig`` on every call."""

    def __init__(self, realm: str = "default"):
        self.realm = realm

    @property
    def url(self) -> str:
        return current_route(self.realm).primary_url

    def _stores(self) -> tuple[str, ObjectStore, ObjectStore | None]:
        route = current_route(self.realm)
        old = registry._cached(route.old_url) if route.old_url else None
        return route.phase, registry._cached(route.new_url), old

    def _read[T](self, call: Callable[[ObjectStore], T]) -> T:
        _, new, old = self._stores()
        if old is None:
            return call(new)
        try:
            return call(new)
        except ObjectNotFound:
            return call(old)
        except StorageError as exc:
            # The old store still holds everything: a failing new store must not fail a play.
            log.warning("storage: %s failed (%s); reading from %s", new.url, exc, old.url)
            return call(old)

    # --- reads ---------------------------------------------------------------------------------------------

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self._read(lambda store: store.stream(key, start, end))

    def read_bytes(self, key: str) -> bytes:
        return self._read(lambda store: store.read_bytes(key))

    def head(self, key: str) -> ObjectInfo:
        return self._read(lambda store: store.head(key))

    def exists(self, key: str) -> bool:
        _, new, old = self._stores()
        return new.exists(key) or (old is not None and old.exists(key))

    def download(self, key: str, path: Path) -> WriteResult:
        return self._read(lambda store: store.download(key, path))

    def checksum(self, key: str) -> str:
        return self._read(lambda store: store.checksum(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        _, new, old = self._stores()
        seen: set[str] = set()
        for info in new.list(prefix):
            seen.add(info.key)
            yield info
        if old is not None:
            yield from (info for info in old.list(prefix) if info.key not in seen)

    def signed_url(self, key: str, expires_in: int) -> str | None:
        _, new, old = self._stores()
        if old is not None and not new.exists(key) and old.exists(key):
            return old.signed_url(key, expires_in)
        return new.signed_url(key, expires_in)

    # --- writes --------------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        phase, new, old = self._stores()
        if phase != MIGRATING or old is None:
            return new.put(key, data)
        result = old.put(key, data)
        # A stream can be read once: the new store gets its copy back from the old one.
        self._mirror(new, key, lambda: new.put(key, data if isinstance(data, bytes) else pumped(old.stream(key))))
        return result

    def put_file(self, key: str, path: Path) -> WriteResult:
        phase, new, old = self._stores()
        if phase != MIGRATING or old is None:
            return new.put_file(key, path)
        result = old.put_file(key, path)
        self._mirror(new, key, lambda: new.put_file(key, path))
        return result

    def copy(self, src_key: str, dst_key: str) -> None:
        phase, new, old = self._stores()
        if old is None:
            return new.copy(src_key, dst_key)
        if phase == MIGRATING:
            old.copy(src_key, dst_key)
            self._mirror(new, dst_key, lambda: new.put(dst_key, pumped(old.stream(dst_key))))
            return None
        try:
            new.copy(src_key, dst_key)
        except ObjectNotFound:  # switched, and the source object is still only in the old store
            new.put(dst_key, pumped(old.stream(src_key)))
        return None

    @staticmethod
    def _mirror(new: ObjectStore, key: str, write: Callable[[], object]) -> None:
        """Best effort while migrating: the old store has the object, and the copier's catch-up pass copies
        whatever this misses. A failed overwrite must not leave a stale version to be read first, though."""
        try:
            write()
        except (StorageError, OSError) as exc:
            log.warning("storage: could not mirror %s to %s (%s); the migration will copy it", key, new.url, exc)
            try:
                new.delete(key)
            except (StorageError, OSError):
                log.warning("storage: could not remove the stale copy of %s from %s", key, new.url)

    def delete(self, key: str) -> None:
        _, new, old = self._stores()
        if old is not None:
            old.delete(key)
        new.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        _, new, old = self._stores()
        removed = old.delete_prefix(prefix) if old is not None else 0
        return max(removed, new.delete_prefix(prefix))
