"""Build the configured object store from its URL.

Secrets come from the environment, never from the URL: by default the cloud SDKs' usual variables
(``AWS_ACCESS_KEY_ID``, ...), or with ``?profile=NAME`` that profile's own ``REELM_PROFILE_<NAME>_<VARIABLE>``, so
two stores of different accounts can be used side by side.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlparse

from obstore.store import AzureStore, LocalStore, S3Store

from reelm.core import realms
from reelm.storage.base import ObjectStore, validate_key
from reelm.storage.breaker import breakers_reset
from reelm.storage.obstore_backend import ObstoreObjectStore
from reelm.storage.routing import RoutingStore, forget_routes

if TYPE_CHECKING:
    from obstore.store import (  # defined in the type stubs only
        AzureConfig,
        ClientConfig,
        RetryConfig,
        S3Config,
        S3Credential,
        S3CredentialProvider,
    )

SUPPORTED = (
    "file:///path, s3://bucket/prefix, gs://bucket/prefix, az://container/prefix"
    " (?profile=NAME: the secrets from REELM_PROFILE_<NAME>_*)"
)
# ``?profile=NAME`` becomes part of environment variable names.
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_]+")
# Azurite's published development key (not a secret): https://learn.microsoft.com/azure/storage/common/storage-use-azurite
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Patience:
    """How long a store's client keeps at a request: its connect timeout and its retries."""

    connect_timeout: str
    retry: RetryConfig


# Fail within seconds when a server is unreachable, so ``reelm check`` and requests do not hang for minutes.
_RETRY: RetryConfig = {
    "max_retries": 4,
    "retry_timeout": timedelta(seconds=30),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5), "base": 2},
}
PATIENT = Patience("5s", _RETRY)
# For calls that have another store to turn to (reads during a migration): a dead endpoint must cost little even
# before its circuit breaker opens, and the other store answers instead.
BRIEF = Patience(
    "1s",
    {
        "max_retries": 1,
        "retry_timeout": timedelta(seconds=5),
        "backoff": {"init_backoff": timedelta(milliseconds=20), "max_backoff": timedelta(milliseconds=200), "base": 2},
    },
)


def store_from_url(url: str, *, fast: bool = False) -> ObjectStore:
    """Build a store from its URL (see SUPPORTED). Secrets come from the environment, never from the URL, so
    ``store.url`` is safe to show; a path after the bucket scopes every key under it. ``fast`` gives a client
    with a short connect timeout and one retry (``BRIEF``), for callers that have another store to turn to."""
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
    options = {name: values[-1] for name, values in parse_qs(parsed.query, keep_blank_values=True).items()}
    if empty := sorted(name for name, value in options.items() if not value):
        raise ValueError(f"storage URL option {', '.join(empty)} has no value")
    return builders[parsed.scheme](url, parsed.netloc, prefix, options, BRIEF if fast else PATIENT)


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
    profile = options.get("profile")
    if profile is not None and not _PROFILE_NAME.fullmatch(profile):
        raise ValueError(f"storage URL option profile takes letters, digits and underscores only, not {profile!r}")
    return options


def _variable(options: dict[str, str], name: str) -> str:
    """The environment variable this store reads the secret ``name`` from: with ``?profile=NAME``, that profile's
    own ``REELM_PROFILE_<NAME>_<name>``, so two stores (a migration's two accounts) can have different secrets."""
    profile = options.get("profile")
    return f"REELM_PROFILE_{profile.upper()}_{name}" if profile else name


def _client(endpoint: str | None, patience: Patience = PATIENT) -> ClientConfig:
    # Plain http is allowed only towards an explicitly given http:// endpoint (a local server or emulator).
    allow_http = endpoint is not None and endpoint.startswith("http://")
    return {"connect_timeout": patience.connect_timeout, "allow_http": allow_http}


def _s3(url: str, bucket: str, prefix: str, options: dict[str, str], patience: Patience = PATIENT) -> ObjectStore:
    options = _take(options, "endpoint", "region", "profile")
    endpoint = options.get("endpoint")
    config: S3Config = {"region": options.get("region", "us-east-1")}
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False  # path style: no DNS name per bucket
    key_var, secret_var, token_var = (
        _variable(options, name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    )
    key_id, secret, token = os.environ.get(key_var), os.environ.get(secret_var), os.environ.get(token_var)
    if not (key_id and secret):
        # Without keys the client would ask a cloud instance's metadata service for some: refuse instead, so a
        # process without the store's credentials says so at once.
        if "profile" in options:
            raise ValueError(
                f"s3:// storage with ?profile={options['profile']} needs {key_var} and {secret_var} set"
                f" (and {token_var} for temporary credentials)"
            )
        raise ValueError(f"s3:// storage needs {key_var} and {secret_var} set (or ?profile=NAME)")
    provider: S3CredentialProvider | None = None
    if "profile" in options:
        # Through a provider: obstore also reads the default AWS_* variables itself, and a default session token
        # would otherwise be sent along with the profile's keys.
        credential: S3Credential = {"access_key_id": key_id, "secret_access_key": secret, "expires_at": None}
        if token:
            credential["token"] = token
        provider = lambda: credential  # noqa: E731 - obstore wants a callable
    else:
        config["access_key_id"] = key_id
        config["secret_access_key"] = secret
        if token:
            config["session_token"] = token
    store = S3Store(
        bucket,
        prefix=prefix or None,
        config=config,
        client_options=_client(endpoint, patience),
        retry_config=patience.retry,
        credential_provider=provider,
    )
    return ObstoreObjectStore(store, url, secret_variables=(key_var, secret_var))


def _gcs(url: str, bucket: str, prefix: str, options: dict[str, str], patience: Patience = PATIENT) -> ObjectStore:
    from reelm.storage.gcs_backend import gcs_store  # imports gcsfs, which only GCS deployments need

    options = _take(options, "endpoint", "profile")
    key_var = _variable(options, "GOOGLE_APPLICATION_CREDENTIALS")
    key_path = os.environ.get(key_var)
    if not key_path:
        raise ValueError(f"gs:// storage needs {key_var} set to a service-account JSON key file")
    endpoint = options.get("endpoint")
    return gcs_store(
        url,
        bucket,
        prefix,
        endpoint=endpoint,
        key_path=key_path,
        client_options=_client(endpoint, patience),
        retry=patience.retry,
        secret_variables=(key_var,),
    )


def _azure(url: str, container: str, prefix: str, options: dict[str, str], patience: Patience = PATIENT) -> ObjectStore:
    options = _take(options, "account", "endpoint", "emulator", "profile")
    emulator = options.get("emulator", "false").lower() in ("1", "true", "yes")
    account = options.get("account") or ("devstoreaccount1" if emulator else None)
    if not account:
        raise ValueError("az:// storage URLs need ?account=<storage account name>")
    key_var = _variable(options, "AZURE_STORAGE_ACCOUNT_KEY")
    # A profile's key wins even on the emulator; without one, the emulator brings Azurite's published key.
    published = emulator and "profile" not in options
    key = AZURITE_KEY if published else os.environ.get(key_var)
    if not key:
        also = "" if "profile" in options else " (or ?emulator=true for Azurite)"
        raise ValueError(f"az:// storage needs {key_var} set{also}")
    endpoint = options.get("endpoint")
    config: AzureConfig = {"account_name": account, "account_key": key}
    if endpoint:
        config["endpoint"] = endpoint
    elif emulator:
        config["use_emulator"] = True
        endpoint = "http://127.0.0.1:10000"
    store = AzureStore(
        container,
        prefix=prefix or None,
        config=config,
        client_options=_client(endpoint, patience),
        retry_config=patience.retry,
    )
    return ObstoreObjectStore(store, url, secret_variables=() if published else (key_var,))


class _StoreCache:
    """One store object per URL and patience (each holds its own connection pool). ``cache_clear()`` also
    forgets the cached routing states and circuit breakers, so a test or a reconfigured process starts from the
    database and settings again."""

    def __init__(self) -> None:
        self._stores: dict[tuple[str, bool], ObjectStore] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, *, fast: bool = False) -> ObjectStore:
        store = self._stores.get((url, fast))
        if store is None:
            with self._lock:
                store = self._stores.get((url, fast)) or store_from_url(url, fast=fast)
                self._stores[url, fast] = store
        return store

    def cache_clear(self) -> None:
        with self._lock:
            self._stores.clear()
        forget_routes()
        breakers_reset()


_cached = _StoreCache()


def media_store(realm: str | None = None) -> ObjectStore:
    """The store that holds every video, image and original upload of ``realm`` (by default the realm being worked
    for): the configured one, or, while ``reelm storage migrate`` moves the realm, a store that routes between the
    old and the new one."""
    return RoutingStore(realm or realms.current_realm(), _cached)
