"""ObjectStore on top of ``obstore``, which speaks to local disk, S3, GCS and Azure with one API."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import obstore

from reelm.storage.base import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    WriteResult,
    file_chunks,
    hashing,
    validate_key,
)

if TYPE_CHECKING:
    from obstore import GetOptions  # defined in the type stubs only


def _info(meta: Any) -> ObjectInfo:
    return ObjectInfo(
        key=meta["path"], size=meta["size"], etag=meta.get("e_tag"), last_modified=meta.get("last_modified")
    )


# A local store writes ``key#<n>`` and renames it into place; a writer killed in between leaves that staging
# file behind, and listing never shows it.
_STAGING_SUFFIX = re.compile(r"#[0-9]+$")


class ObstoreObjectStore:
    def __init__(self, store: Any, url: str, *, local_root: Path | None = None):
        self._store = store
        self.url = url
        self._local_root = local_root

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        validate_key(key)
        if isinstance(data, bytes):
            chunks: Iterable[bytes] = [data]
        elif hasattr(data, "read"):
            chunks = file_chunks(cast(BinaryIO, data))
        else:
            chunks = cast(Iterable[bytes], data)
        digest, counter = hashlib.sha256(), [0]
        try:
            obstore.put(self._store, key, hashing(chunks, digest, counter), chunk_size=CHUNK_SIZE * 5)
        except OSError as exc:
            raise StorageError(f"could not write {key!r}: {exc}") from exc
        return WriteResult(key=key, size=counter[0], sha256=digest.hexdigest())

    def put_file(self, key: str, path: Path) -> WriteResult:
        with open(path, "rb") as handle:
            return self.put(key, handle)

    def _get(self, key: str, options: GetOptions | None = None) -> Any:
        validate_key(key)
        try:
            return obstore.get(self._store, key, options=options)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"could not read {key!r}: {exc}") from exc

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return iter(())
        options: GetOptions | None = None
        if end is not None:
            options = {"range": (start, end)}
        elif start:
            options = {"range": {"offset": start}}
        result = self._get(key, options)
        return (bytes(chunk) for chunk in result.stream(min_chunk_size=CHUNK_SIZE))

    def read_bytes(self, key: str) -> bytes:
        return bytes(self._get(key).bytes())

    def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        try:
            return _info(obstore.head(self._store, key))
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"could not stat {key!r}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        try:
            for batch in obstore.list(self._store, prefix=prefix or None):
                for meta in batch:
                    yield _info(meta)
        except FileNotFoundError:
            return

    def delete(self, key: str) -> None:
        validate_key(key)
        with contextlib.suppress(FileNotFoundError):  # deleting is idempotent
            obstore.delete(self._store, key)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError("delete_prefix takes a folder-like prefix ending in '/'")
        keys = [info.key for info in self.list(prefix)]
        for key in keys:
            self.delete(key)
        if self._local_root is not None:
            folder = self._local_root / validate_key(prefix.rstrip("/"))
            for leftover in folder.rglob("*#*"):
                if _STAGING_SUFFIX.search(leftover.name) and leftover.is_file():
                    leftover.unlink(missing_ok=True)
        return len(keys)

    def download(self, key: str, path: Path) -> WriteResult:
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as handle:
            for chunk in self.stream(key):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        return WriteResult(key=key, size=size, sha256=digest.hexdigest())

    def checksum(self, key: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.stream(key):
            digest.update(chunk)
        return digest.hexdigest()

    def copy(self, src_key: str, dst_key: str) -> None:
        validate_key(src_key)
        validate_key(dst_key)
        try:
            obstore.copy(self._store, src_key, dst_key)
        except FileNotFoundError as exc:
            raise ObjectNotFound(src_key) from exc
        except OSError as exc:
            raise StorageError(f"could not copy {src_key!r} to {dst_key!r}: {exc}") from exc

    def signed_url(self, key: str, expires_in: int) -> str | None:
        if self._local_root is not None:
            return None  # local disk has no URL of its own; Reelm serves it
        raise NotImplementedError
