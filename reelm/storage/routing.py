"""The store every part of Reelm talks to: one store normally, two while a realm moves to another store."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError

from reelm.core import realms
from reelm.storage.base import ObjectInfo, ObjectNotFound, ObjectStore, StorageError, WriteResult
from reelm.storage.breaker import StoreUnavailable, breaker_for
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
    if realms.configured():
        return realms.realm(realm).storage_url
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
    route = load_route(realm, cached[1] if cached else None)
    with _lock:
        _routes[realm] = (now, route)
    return route


def load_route(realm: str, last_known: Route | None = None) -> Route:
    """``realm``'s route as its database says now (``last_known`` if the database cannot say)."""
    from reelm.storage.models import StoreConfig  # models need the app registry; this module must not

    try:
        with realms.working_for(realm) if realms.configured() else contextlib.nullcontext():
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
    """An ``ObjectStore`` that follows its realm's ``StoreConfig`` on every call.

    While a realm moves, any failure of the new store (unreachable, no credentials in this process, an error)
    sends reads to the old store, which stays authoritative until the switch. The new store is read with a short
    connect timeout and one retry, through a per-store circuit breaker, so a dead target costs little.

    ``StoreConfig`` (in the database) says which phase a realm is in; every process re-reads it at most
    ``ROUTE_TTL`` seconds after the last look, so a change made by ``reelm storage migrate`` reaches web and
    worker processes within about a second, and ``PROPAGATION_SECONDS`` after a change every process follows it.

    - steady: one store.
    - migrating (old → new): writes go to the old store (it stays complete and authoritative) and then, best effort,
      to the new one; reads try the new store and fall back to the old on any failure; deletes go to both, the new
      store first, so that the new store never holds an object the old one lacks.
    - switched (new, old kept until purge): writes go to the new store only; reads still fall back to the old store;
      deletes go to both, the old store first, so that the old store never holds an object the new one lacks.

    A store that keeps failing is skipped for a while (``breaker``), so a dead migration target does not slow
    reads."""

    def __init__(self, realm: str, open_store: Callable[..., ObjectStore]):
        self.realm = realm
        # The registry's cache of store objects (one per URL and patience), passed in so routing never imports it.
        self._open = open_store

    @property
    def url(self) -> str:
        return current_route(self.realm).primary_url

    def _on_new[T](self, route: Route, call: Callable[[ObjectStore], T], *, fast: bool) -> T:
        """``call`` on the route's new store, through its breaker; "not found" counts as an answer."""
        breaker = breaker_for(route.new_url)
        if not breaker.allow():
            raise StoreUnavailable(f"{route.new_url} is skipped after failing repeatedly")
        try:
            store = self._open(route.new_url, fast=fast)
        except Exception as exc:  # e.g. its credentials are not in this process's environment
            breaker.failed(exc)
            raise StoreUnavailable(f"cannot use {route.new_url} in this process: {exc}") from exc
        try:
            result = call(store)
        except ObjectNotFound:
            breaker.succeeded()
            raise
        except (ValueError, TypeError):
            raise  # the call was wrong (an invalid key), not the store
        except Exception as exc:
            breaker.failed(exc)
            raise
        breaker.succeeded()
        return result

    def _read[T](self, call: Callable[[ObjectStore], T]) -> T:
        route = current_route(self.realm)
        if not route.old_url:
            return call(self._open(route.new_url))
        new_failed = False
        try:
            return self._on_new(route, call, fast=True)
        except ObjectNotFound:
            pass
        except Exception as exc:  # any failure: the old store answers instead (the breaker logs the outage)
            new_failed = True
            log.debug("storage: %s failed (%s); reading from %s", route.new_url, exc, route.old_url)
        try:
            return call(self._open(route.old_url))
        except ObjectNotFound:
            if route.phase != SWITCHED or not new_failed:
                raise  # while migrating the old store holds everything: its "not found" is the answer
        # Switched: the object may exist only in the new store, which is primary and failed; ask it again with its
        # full retries, so a failing primary is an error, never a false "not found".
        return self._on_new(route, call, fast=False)

    # --- reads ---------------------------------------------------------------------------------------------

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self._read(lambda store: store.stream(key, start, end))

    def read_bytes(self, key: str) -> bytes:
        return self._read(lambda store: store.read_bytes(key))

    def head(self, key: str) -> ObjectInfo:
        return self._read(lambda store: store.head(key))

    def exists(self, key: str) -> bool:
        try:
            return self._read(lambda store: _present(store, key))
        except ObjectNotFound:
            return False

    def download(self, key: str, path: Path) -> WriteResult:
        return self._read(lambda store: store.download(key, path))

    def checksum(self, key: str) -> str:
        return self._read(lambda store: store.checksum(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        route = current_route(self.realm)
        if not route.old_url:
            yield from self._open(route.new_url).list(prefix)
            return
        seen: set[str] = set()
        try:
            for info in self._new_listing(route, prefix):
                seen.add(info.key)
                yield info
        except Exception as exc:
            if route.phase == SWITCHED:
                raise  # the old store lacks what was written since the switch: its listing alone would be short
            log.debug("storage: listing %s failed (%s); listing %s", route.new_url, exc, route.old_url)
        yield from (info for info in self._open(route.old_url).list(prefix) if info.key not in seen)

    def _new_listing(self, route: Route, prefix: str) -> Iterator[ObjectInfo]:
        breaker = breaker_for(route.new_url)
        if not breaker.allow():
            raise StoreUnavailable(f"{route.new_url} is skipped after failing repeatedly")
        try:
            yield from self._open(route.new_url, fast=route.phase == MIGRATING).list(prefix)
        except Exception as exc:
            breaker.failed(exc)
            raise
        breaker.succeeded()

    def signed_url(self, key: str, expires_in: int) -> str | None:
        route = current_route(self.realm)
        if not route.old_url:
            return self._open(route.new_url).signed_url(key, expires_in)
        try:
            return self._read(lambda store: _signed(store, key, expires_in))
        except ObjectNotFound:
            return None  # in neither store: Reelm answers the request (with a 404) itself

    # --- writes --------------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        route = current_route(self.realm)
        primary = self._open(route.primary_url)
        if route.phase != MIGRATING:
            return primary.put(key, data)  # after the switch the new store is primary: its failure is the caller's
        result = primary.put(key, data)
        # A stream can be read once: the new store gets its copy back from the old one.
        self._mirror(
            route, key, lambda new: new.put(key, data if isinstance(data, bytes) else pumped(primary.stream(key)))
        )
        return result

    def put_file(self, key: str, path: Path) -> WriteResult:
        route = current_route(self.realm)
        primary = self._open(route.primary_url)
        if route.phase != MIGRATING:
            return primary.put_file(key, path)
        result = primary.put_file(key, path)
        self._mirror(route, key, lambda new: new.put_file(key, path))
        return result

    def copy(self, src_key: str, dst_key: str) -> None:
        route = current_route(self.realm)
        primary = self._open(route.primary_url)
        if not route.old_url:
            return primary.copy(src_key, dst_key)
        if route.phase == MIGRATING:
            primary.copy(src_key, dst_key)
            self._mirror(route, dst_key, lambda new: new.put(dst_key, pumped(primary.stream(dst_key))))
            return None
        try:
            primary.copy(src_key, dst_key)
        except ObjectNotFound:  # switched, and the source object is still only in the old store
            primary.put(dst_key, pumped(self._open(route.old_url).stream(src_key)))
        return None

    def _mirror(self, route: Route, key: str, write: Callable[[ObjectStore], object]) -> None:
        """Best effort while migrating: the old store has the object, and the copier's catch-up pass copies
        whatever this misses, so a new store that is down, or unusable in this process, never fails a write.
        A failed overwrite must not leave a stale version to be read first, though."""
        try:
            self._on_new(route, write, fast=True)
        except StoreUnavailable:
            return  # known to be down (the breaker logged it), or unusable here
        except Exception as exc:
            log.warning("storage: could not mirror %s to %s (%s); the migration will copy it", key, route.new_url, exc)
            try:
                self._open(route.new_url, fast=True).delete(key)
            except Exception:
                log.warning("storage: could not remove the stale copy of %s from %s", key, route.new_url)

    # --- deletes -------------------------------------------------------------------------------------------
    # Both stores, first the one that must never hold more than the other: while migrating the new store (an
    # object left only there would be read first and come back, and block the switch as an extra), after the
    # switch the old one (the purge needs every old object in the new store).

    def delete(self, key: str) -> None:
        route = current_route(self.realm)
        if not route.old_url:
            return self._open(route.primary_url).delete(key)
        if route.phase == MIGRATING:
            self._delete_from_new_first(route, key, lambda store: store.delete(key))
            return self._open(route.old_url).delete(key)
        self._open(route.old_url).delete(key)
        return self._open(route.new_url).delete(key)

    def delete_prefix(self, prefix: str) -> int:
        route = current_route(self.realm)
        if not route.old_url:
            return self._open(route.primary_url).delete_prefix(prefix)
        if route.phase == MIGRATING:
            removed = self._delete_from_new_first(route, prefix, lambda store: store.delete_prefix(prefix))
            return max(removed, self._open(route.old_url).delete_prefix(prefix))
        removed = self._open(route.old_url).delete_prefix(prefix)
        return max(removed, self._open(route.new_url).delete_prefix(prefix))

    def _delete_from_new_first[T](self, route: Route, what: str, delete: Callable[[ObjectStore], T]) -> T:
        try:
            return self._on_new(route, delete, fast=False)
        except StorageError as exc:
            raise StorageError(
                f"could not delete {what!r} from {route.new_url}, the store being migrated to ({exc}); nothing was"
                " deleted, so nothing can come back from there: try again once it answers"
            ) from exc


def _present(store: ObjectStore, key: str) -> bool:
    """True, or ``ObjectNotFound``: lets ``exists`` and ``signed_url`` fall back like every other read."""
    if not store.exists(key):
        raise ObjectNotFound(key)
    return True


def _signed(store: ObjectStore, key: str, expires_in: int) -> str | None:
    return store.signed_url(key, expires_in) if _present(store, key) else None
