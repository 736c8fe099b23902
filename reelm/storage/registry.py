"""Build the configured object store from its URL."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlparse

from obstore.store import AzureStore, LocalStore, S3Store

from reelm.storage.base import ObjectStore, validate_key
from reelm.storage.obstore_backend import ObstoreObjectStore

if TYPE_CHECKING:
    from obstore.store import AzureConfig, ClientConfig, RetryConfig, S3Config  # defined in the type stubs only

SUPPORTED = "file:///path, s3://bucket/prefix, gs://bucket/prefix, az://container/prefix"
# Azurite's published development key (not a secret): https://learn.microsoft.com/azure/storage/common/storage-use-azurite
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Fail within seconds when a server is unreachable, so ``reelm check`` and requests do not hang for minutes.
_CONNECT_TIMEOUT = "5s"
_RETRY: RetryConfig = {
    "max_retries": 4,
    "retry_timeout": timedelta(seconds=30),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5), "base": 2},
}


def store_from_url(url: str) -> ObjectStore:
    """Build a store from its URL (see SUPPORTED). Secrets come from the environment, never from the URL, so
    ``store.url`` is safe to show; a path after the bucket scopes every key under it."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc or parsed.query or not parsed.path.startswith("/"):
            raise ValueError(f"malformed storage URL {url!r}: use file:///absolute/path")
        root = Path(unquote(parsed.path))
        root.mkdir(parents=True, exist_ok=True)
        return ObstoreObjectStore(LocalStore(root, mkdir=True), url, local_root=root)
    builders = {"s3": _s3, "gs": _gcs, "az": _azure}
    if parsed.scheme not in builders:
        raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} (supported: {SUPPORTED})")
    if "@" in parsed.netloc or ":" in parsed.netloc:
        raise ValueError(
            f"storage URLs carry no credentials or ports before the bucket; use ?endpoint= and the environment"
            f" (supported: {SUPPORTED})"
        )
    if not parsed.netloc:
        raise ValueError(f"malformed storage URL: {parsed.scheme}:// needs a bucket name (supported: {SUPPORTED})")
    prefix = unquote(parsed.path).strip("/")
    if prefix:
        validate_key(prefix)
    options = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
    return builders[parsed.scheme](url, parsed.netloc, prefix, options)


def _take(options: dict[str, str], *allowed: str) -> dict[str, str]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown storage URL option {', '.join(unknown)} (allowed here: {', '.join(allowed)});"
            " secrets belong in the environment, not in the URL"
        )
    endpoint = options.get("endpoint")
    if endpoint is not None and urlparse(endpoint).scheme not in ("http", "https"):
        raise ValueError(f"storage URL option endpoint must be an http:// or https:// URL, not {endpoint!r}")
    return options


def _client(endpoint: str | None) -> ClientConfig:
    # Plain http is allowed only towards an explicitly given http:// endpoint (a local server or emulator).
    allow_http = endpoint is not None and endpoint.startswith("http://")
    return {"connect_timeout": _CONNECT_TIMEOUT, "allow_http": allow_http}


def _s3(url: str, bucket: str, prefix: str, options: dict[str, str]) -> ObjectStore:
    options = _take(options, "endpoint", "region")
    endpoint = options.get("endpoint")
    config: S3Config = {"region": options.get("region", "us-east-1")}
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False  # path style: no DNS name per bucket
    if key_id := os.environ.get("AWS_ACCESS_KEY_ID"):
        config["access_key_id"] = key_id
    if secret := os.environ.get("AWS_SECRET_ACCESS_KEY"):
        config["secret_access_key"] = secret
    if token := os.environ.get("AWS_SESSION_TOKEN"):
        config["session_token"] = token
    store = S3Store(bucket, prefix=prefix or None, config=config, client_options=_client(endpoint), retry_config=_RETRY)
    return ObstoreObjectStore(store, url)


def _gcs(url: str, bucket: str, prefix: str, options: dict[str, str]) -> ObjectStore:
    from reelm.storage.gcs_backend import gcs_store  # imports gcsfs, which only GCS deployments need

    options = _take(options, "endpoint")
    key_path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not key_path:
        raise ValueError("gs:// storage needs GOOGLE_APPLICATION_CREDENTIALS set to a service-account JSON key file")
    endpoint = options.get("endpoint")
    return gcs_store(
        url, bucket, prefix, endpoint=endpoint, key_path=key_path, client_options=_client(endpoint), retry=_RETRY
    )


def _azure(url: str, container: str, prefix: str, options: dict[str, str]) -> ObjectStore:
    options = _take(options, "account", "endpoint", "emulator")
    emulator = options.get("emulator", "false").lower() in ("1", "true", "yes")
    account = options.get("account") or ("devstoreaccount1" if emulator else None)
    if not account:
        raise ValueError("az:// storage URLs need ?account=<storage account name>")
    key = AZURITE_KEY if emulator else os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
    if not key:
        raise ValueError("az:// storage needs AZURE_STORAGE_ACCOUNT_KEY set (or ?emulator=true for Azurite)")
    endpoint = options.get("endpoint")
    config: AzureConfig = {"account_name": account, "account_key": key}
    if endpoint:
        config["endpoint"] = endpoint
    elif emulator:
        config["use_emulator"] = True
        endpoint = "http://127.0.0.1:10000"
    store = AzureStore(
        container, prefix=prefix or None, config=config, client_options=_client(endpoint), retry_config=_RETRY
    )
    return ObstoreObjectStore(store, url)


class _StoreCache:
    """One store object per URL (each holds its own connection pool). ``cache_clear()`` also forgets the cached
    routing states, so a test or a reconfigured process starts from the database and settings again."""

    def __init__(self) -> None:
        self._stores: dict[str, ObjectStore] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> ObjectStore:
        store = self._stores.get(url)
        if store is None:
            with self._lock:
                store = self._stores.get(url) or store_from_url(url)
                self._stores[url] = store
        return store

    def cache_clear(self) -> None:
        from reelm.storage.routing import forget_routes

        with self._lock:
            self._stores.clear()
        forget_routes()


_cached = _StoreCache()


def media_store(realm: str = "default") -> ObjectStore:
    """The store that holds every video, image and original upload of ``realm``: the configured one, or, while
    ``reelm storage migrate`` moves the realm, a store that routes between the old and the new one."""
    from reelm.storage.routing import RoutingStore

    return RoutingStore(realm)
