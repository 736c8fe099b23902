"""ObjectStore on top of ``obstore``, which speaks to local disk, S3, GCS and Azure with one API."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import obstore
from obstore.exceptions import BaseError

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
from reelm.storage.errors import storage_failure

if TYPE_CHECKING:
    from obstore import GetOptions  # defined in the type stubs only

# Parts of a multipart upload: large objects stream through in pieces this big, never whole.
PART_SIZE = CHUNK_SIZE * 5
# Parts uploaded at once; each holds its bytes until sent, so this times PART_SIZE bounds a put's memory.
_PARTS_IN_FLIGHT = 2
# S3's DeleteObjects takes at most 1000 keys a request.
_DELETE_BATCH = 1000


def _info(meta: Any) -> ObjectInfo:
    return ObjectInfo(
        key=meta["path"], size=meta["size"], etag=meta.get("e_tag"), last_modified=meta.get("last_modified")
    )


def as_chunks(data: bytes | Iterable[bytes] | BinaryIO) -> Iterable[bytes]:
    if isinstance(data, bytes):
        return [data]
    if hasattr(data, "read"):
        return file_chunks(cast(BinaryIO, data))
    return cast(Iterable[bytes], data)


# A local store writes ``key#<n>`` and renames it into place; a writer killed in between leaves that staging
# file behind, and listing never shows it.
_STAGING_SUFFIX = re.compile(r"#[0-9]+$")


def _first_part(chunks: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """Up to one part's worth of ``chunks``, and whether anything is left after it."""
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > PART_SIZE:
            return head, True
    return head, False


def _drained(items: list[bytes]) -> Iterator[bytes]:
    """The items, each let go of once handed on, so a multipart upload does not keep its first part alive."""
    items.reverse()
    while items:
        yield items.pop()


class ObstoreObjectStore:
    """Local disk, S3 and Azure Blob (and GCS reads, see ``gcs_backend``): the obstore ``store`` is already scoped
    to the URL's bucket and prefix, so keys here are relative to that prefix."""

    #: What the clients behind this store raise when a request fails.
    _client_errors: tuple[type[BaseException], ...] = (OSError, BaseError)

    def __init__(self, store: Any, url: str, *, local_root: Path | None = None, secret_variables: Sequence[str] = ()):
        self._store = store
        self.url = url
        self._local_root = local_root
        # The environment variables this store's secrets come from, named in errors that point at them.
        self._secret_variables = tuple(secret_variables)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        """Missing objects become ``ObjectNotFound``, every other client failure a one-line ``StorageError`` that
        names the store, the server's answer and what to do (``errors.storage_failure``)."""
        try:
            yield
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except self._client_errors as exc:
            raise storage_failure(
                exc, action=action, target=repr(key), url=self.url, secret_variables=self._secret_variables
            ) from exc

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        validate_key(key)
        digest, counter = hashlib.sha256(), [0]
        chunks = hashing(as_chunks(data), digest, counter)
        head, more = _first_part(chunks)
        with self._errors("write", key):
            if not more:
                # One request instead of a multipart upload's three; S3 then also gives an MD5 ETag.
                put = obstore.put(self._store, key, b"".join(head), use_multipart=False)
            else:
                # Larger objects go up in parts, a few in memory at most; the object only appears once complete,
                # so concurrent writers never leave a torn object.
                put = obstore.put(
                    self._store,
                    key,
                    itertools.chain(_drained(head), chunks),
                    chunk_size=PART_SIZE,
                    max_concurrency=_PARTS_IN_FLIGHT,
                )
        return WriteResult(key=key, size=counter[0], sha256=digest.hexdigest(), etag=put.get("e_tag"))

    def put_file(self, key: str, path: Path) -> WriteResult:
        with open(path, "rb") as handle:
            return self.put(key, handle)

    def _get(self, key: str, options: GetOptions | None = None) -> Any:
        validate_key(key)
        with self._errors("read", key):
            return obstore.get(self._store, key, options=options)

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Like slicing the content: ranges past the end are cut short, or empty. Only explicit offsets are used
        (Azure has no suffix ranges)."""
        if start < 0 or (end is not None and end < 0):
            raise ValueError("stream takes non-negative offsets")
        if end is not None and end <= start:
            self.head(key)  # a missing object is still an error
            return iter(())
        options: GetOptions | None = None
        if end is not None:
            options = {"range": (start, end)}
        elif start:
            options = {"range": {"offset": start}}
        try:
            result = self._get(key, options)
        except ObjectNotFound:
            raise
        except StorageError:
            # Servers answer a range that starts past the end with 416; slicing semantics say empty.
            if options is None or start < self.head(key).size:
                raise
            return iter(())
        return self._chunks(key, result)

    def _chunks(self, key: str, result: Any) -> Iterator[bytes]:
        with self._errors("read", key):
            for chunk in result.stream(min_chunk_size=CHUNK_SIZE):
                yield bytes(chunk)

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.stream(key))

    def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        with self._errors("stat", key):
            return _info(obstore.head(self._store, key))

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
            return  # a local store whose folder does not exist yet holds nothing
        except self._client_errors as exc:
            target = f"the keys under {prefix!r}" if prefix else "the store"
            raise storage_failure(
                exc, action="list", target=target, url=self.url, secret_variables=self._secret_variables
            ) from exc

    def delete(self, key: str) -> None:
        validate_key(key)
        self._delete_keys([key])

    def _delete_keys(self, keys: Sequence[str]) -> None:
        for first in range(0, len(keys), _DELETE_BATCH):
            batch = keys[first : first + _DELETE_BATCH]
            with contextlib.suppress(ObjectNotFound), self._errors("delete", batch[0]):
                # Deleting is idempotent. A batch with a missing key still deletes the others (Azure reports it).
                obstore.delete(self._store, batch)
        if self._local_root is not None:
            self._prune_empty_folders(keys)

    def _prune_empty_folders(self, keys: Sequence[str]) -> None:
        """Remove the folders the deleted keys leave empty (a cloud store has no folders to leave behind). rmdir
        refuses a folder with anything in it, and a writer recreates a folder it needs, so this races no write."""
        assert self._local_root is not None
        folders = {parent for key in keys for parent in PurePosixPath(key).parents if parent != PurePosixPath(".")}
        for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(self._local_root / folder)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError("delete_prefix takes a folder-like prefix ending in '/'")
        validate_key(prefix.rstrip("/"))
        keys = [info.key for info in self.list(prefix)]
        self._delete_keys(keys)
        if self._local_root is not None:
            folder = self._local_root / prefix.rstrip("/")
            for leftover in folder.rglob("*#*"):
                if _STAGING_SUFFIX.search(leftover.name) and leftover.is_file():
                    leftover.unlink(missing_ok=True)
        return len(keys)

    def download(self, key: str, path: Path) -> WriteResult:
        digest, size = hashlib.sha256(), 0
        chunks = self.stream(key)  # before opening, so a missing object leaves no empty file behind
        with open(path, "wb") as handle:
            for chunk in chunks:
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
        with self._errors("copy", src_key):
            obstore.copy(self._store, src_key, dst_key)

    def signed_url(self, key: str, expires_in: int) -> str | None:
        validate_key(key)
        if self._local_root is not None:
            return None  # local disk has no URL of its own; Reelm serves it
        with self._errors("sign a URL for", key):
            return str(obstore.sign(self._store, "GET", key, timedelta(seconds=expires_in)))
