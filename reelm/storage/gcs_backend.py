"""Google Cloud Storage: obstore for reads, listing and V4 signing; gcsfs for writes, copies and deletes.

Why two clients: obstore writes through GCS's XML API, which fake-gcs-server (the emulator the tests run against)
does not implement for uploads or copies; gcsfs uses the JSON API, which both it and real GCS serve.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from reelm.storage.base import ObjectNotFound, WriteResult, hashing, validate_key
from reelm.storage.obstore_backend import PART_SIZE, ObstoreObjectStore, as_chunks

if TYPE_CHECKING:
    from obstore.store import ClientConfig, GCSConfig, RetryConfig  # defined in the type stubs only

# Without this, gcsfs probes for hierarchical-namespace buckets on every call, which stalls about a minute
# against anything but real GCS. Set before gcsfs is imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import gcsfs
from gcsfs.retry import HttpError
from google.oauth2 import service_account
from obstore.store import GCSStore


class GcsObjectStore(ObstoreObjectStore):
    # gcsfs raises HttpError for what the server refused; aiohttp's connection errors are OSErrors.
    _client_errors = (*ObstoreObjectStore._client_errors, HttpError)

    def __init__(
        self,
        store: Any,
        url: str,
        *,
        fs: gcsfs.GCSFileSystem,
        bucket: str,
        prefix: str,
        secret_variables: Sequence[str] = (),
    ):
        super().__init__(store, url, secret_variables=secret_variables)
        self._fs = fs
        self._root = f"{bucket}/{prefix}/" if prefix else f"{bucket}/"

    def _path(self, key: str) -> str:
        return self._root + validate_key(key)

    def put(self, key: str, data: bytes | Iterable[bytes] | BinaryIO) -> WriteResult:
        path = self._path(key)
        digest, counter = hashlib.sha256(), [0]
        # A resumable upload in PART_SIZE blocks; GCS publishes the object only when the upload completes.
        with self._errors("write", key):
            handle = self._fs.open(path, "wb", block_size=PART_SIZE)
            try:
                for chunk in hashing(as_chunks(data), digest, counter):
                    handle.write(chunk)
            except BaseException:
                # Closing (which ``with`` would do) publishes what was written so far: cancel instead. discard()
                # leaves a file that never flushed open, and its finaliser would close it, so mark it closed.
                handle.discard()
                handle.closed = True
                raise
            handle.close()
        return WriteResult(key=key, size=counter[0], sha256=digest.hexdigest())

    def copy(self, src_key: str, dst_key: str) -> None:
        with self._errors("copy", src_key):
            self._fs.copy(self._path(src_key), self._path(dst_key))

    def _delete_keys(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        # Deleting is idempotent; gcsfs sends the list as batch requests.
        with contextlib.suppress(ObjectNotFound), self._errors("delete", keys[0]):
            self._fs.rm([self._path(key) for key in keys])


def gcs_store(
    url: str,
    bucket: str,
    prefix: str,
    *,
    endpoint: str | None,
    key_path: str,
    client_options: ClientConfig,
    retry: RetryConfig,
    secret_variables: Sequence[str] = (),
) -> GcsObjectStore:
    config: GCSConfig = {"service_account": key_path}
    if endpoint:
        config["base_url"] = endpoint
    store = GCSStore(bucket, prefix=prefix or None, config=config, client_options=client_options, retry_config=retry)
    # Self-signed JWTs from the key, as obstore does: no token exchange with Google's OAuth service.
    credentials = service_account.Credentials.from_service_account_file(
        key_path, scopes=["https://www.googleapis.com/auth/devstorage.read_write"], always_use_jwt_access=True
    )
    fs = gcsfs.GCSFileSystem(endpoint_url=endpoint, token=credentials, skip_instance_cache=True)
    return GcsObjectStore(store, url, fs=fs, bucket=bucket, prefix=prefix, secret_variables=secret_variables)
