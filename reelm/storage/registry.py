"""Build the configured object store from its URL."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from obstore.store import LocalStore

from reelm.storage.base import ObjectStore
from reelm.storage.obstore_backend import ObstoreObjectStore


def store_from_url(url: str) -> ObjectStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        root = Path(unquote(parsed.path))
        root.mkdir(parents=True, exist_ok=True)
        return ObstoreObjectStore(LocalStore(root, mkdir=True), url, local_root=root)
    raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} in {url!r} (supported: file://)")


@functools.cache
def _cached(url: str) -> ObjectStore:
    return store_from_url(url)


def media_store() -> ObjectStore:
    """The store that holds every video, image and original upload."""
    return _cached(settings.REELM_STORAGE_URL)
