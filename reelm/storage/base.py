"""The one storage seam: every media byte Reelm writes or reads goes through an ``ObjectStore``.

Keys are chosen by Reelm (never derived from user input), use ``/`` as separator and carry no leading slash. They are
ASCII letters, digits and ``._-/`` only (``validate_key``), so every backend stores them verbatim and no key needs
escaping in a URL; a non-ASCII key is refused, not stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")


class StorageError(Exception):
    """A store could not complete an operation (network, permissions, disk). Where known: the store's URL (no
    secrets in it), the HTTP status and the backend's own error code (``NoSuchBucket``, ``AuthenticationFailed``)."""

    def __init__(self, message: str, *, store: str | None = None, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.store = store
        self.status = status
        self.code = code


class ObjectNotFound(StorageError):
    def __init__(self, key: str):
        super().__init__(f"no object at {key!r}")
        self.key = key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class WriteResult:
    key: str
    size: int
    sha256: str
    #: The store's ETag for what was written, where the backend reports one.
    etag: str | None = None


def validate_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/") or "//" in key:
        raise ValueError(f"invalid object key {key!r}")
    return key


class ObjectStore(Protocol):
    """Operations every backend provides. Reads stream; nothing loads a whole video into memory."""

    @property
    def url(self) -> str:
        """Where the store is, with no secrets in it (safe to log)."""
        ...

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        """Stream ``data`` into ``key``. The object appears only once complete: a writer that fails publishes
        nothing (its own error comes through), and concurrent writers to one key never mix; one complete write
        wins (on Azure a losing writer gets a ``StorageError``)."""
        ...

    def put_file(self, key: str, path: Path) -> WriteResult: ...

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of the object, in chunks, as slicing would give them: a range reaching past the
        end is cut short, one starting past it is empty."""
        ...

    def read_bytes(self, key: str) -> bytes: ...

    def head(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def download(self, key: str, path: Path) -> WriteResult: ...

    def checksum(self, key: str) -> str:
        """SHA-256 of the object's content, computed by reading it (ETags are not content hashes everywhere)."""
        ...

    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object within this store, overwriting ``dst_key``."""
        ...

    def signed_url(self, key: str, expires_in: int) -> str | None:
        """A URL that lets anyone GET the object for ``expires_in`` seconds, or None where the backend cannot sign
        (callers then serve the object through Reelm)."""
        ...


def hashing(chunks: Iterable[bytes], digest: hashlib._Hash, counter: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        counter[0] += len(chunk)
        yield chunk


def file_chunks(handle: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk
