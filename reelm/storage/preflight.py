"""Try a store before trusting it with a realm: write, read, range-read, list and delete a probe object.

A migration runs this against its target before any process is sent there, and every web and worker process runs it
too (``presence``), so a wrong bucket, a bad key or a process without the credentials is found while the realm still
lives on one store. Probe objects live under ``PROBE_PREFIX``, which migrations neither copy nor compare.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid

from reelm.storage.base import ObjectStore, StorageError
from reelm.storage.errors import plain

PROBE_PREFIX = "reelm-preflight/"
_PROBE_SIZE = 4096


class PreflightFailed(Exception):
    """The store failed one step; the message names the store, the step and the backend's answer."""


def is_probe(key: str) -> bool:
    return key.startswith(PROBE_PREFIX)


def probe_key(label: str = "probe") -> str:
    return f"{PROBE_PREFIX}{label}-{uuid.uuid4().hex}"


def store_probe(store: ObjectStore, label: str = "probe") -> None:
    """Every operation a realm's store must allow, in the order a migration needs them; raises PreflightFailed."""
    key, data = probe_key(label), secrets.token_bytes(_PROBE_SIZE)
    step = "write"
    try:
        store.put(key, data)
        step = "read"
        if store.read_bytes(key) != data:
            raise PreflightFailed(f"{store.url} returned other bytes than were written to {key!r}")
        step = "range read"
        if b"".join(store.stream(key, 100, 300)) != data[100:300]:
            raise PreflightFailed(f"{store.url} returned the wrong bytes for a range of {key!r}")
        step = "list"
        if not any(info.key == key for info in store.list(PROBE_PREFIX)):
            raise PreflightFailed(f"{store.url} does not list the probe object {key!r} it just stored")
        step = "delete"
        store.delete(key)
        if store.exists(key):
            raise PreflightFailed(f"{store.url} still has the probe object {key!r} after deleting it")
    except PreflightFailed:
        _forget(store, key)
        raise
    except Exception as exc:  # whatever the backend raised, said in one line with the step it broke
        _forget(store, key)
        # A StorageError already names the store, the action and the backend's answer.
        detail = plain(exc) if isinstance(exc, StorageError) else f"{store.url}: {plain(exc)}"
        raise PreflightFailed(f"the {step} step failed: {detail}") from exc


def stores_apart(source: ObjectStore, target: ObjectStore) -> None:
    """Raise PreflightFailed when an object written to one store shows up in the other: two URLs for one place
    (a DNS alias, a second endpoint of the same server) that no spelling rule can see."""
    for first, second in ((target, source), (source, target)):
        key = probe_key("alias")
        try:
            first.put(key, b"reelm alias probe")
            if second.exists(key):
                raise PreflightFailed(
                    f"an object written to {first.url} appeared in {second.url}: they are one store under two names"
                )
        except PreflightFailed:
            raise
        except Exception as exc:
            raise PreflightFailed(f"could not compare {first.url} with {second.url}: {plain(exc)}") from exc
        finally:
            _forget(first, key)


def _forget(store: ObjectStore, key: str) -> None:
    with contextlib.suppress(Exception):
        store.delete(key)
