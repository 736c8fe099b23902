"""Where a store URL points, whatever its spelling: (kind, service, bucket, prefix).

Two URLs that differ only in option order, a trailing slash, a default port, ``localhost`` for ``127.0.0.1``, an
explicit default endpoint or a symlinked folder name the same place. A migration between overlapping places
would copy a store onto itself (and its purge delete the only copy), so every step compares locations, not strings.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

_AWS_ENDPOINT = re.compile(r"^s3([.-](dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")
_AZURE_ENDPOINT = re.compile(r"^([a-z0-9]+)\.blob\.core\.windows\.net$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class StoreLocation:
    kind: str
    #: The server or account that holds the bucket: "" for local disk, a provider's name, or a normalised endpoint.
    service: str
    bucket: str
    prefix: tuple[str, ...]

    def contains(self, other: StoreLocation) -> bool:
        """Whether every key of ``other`` is also a key of this store (equal locations contain each other)."""
        same_bucket = (self.kind, self.service, self.bucket) == (other.kind, other.service, other.bucket)
        return same_bucket and other.prefix[: len(self.prefix)] == self.prefix

    def __str__(self) -> str:
        path = "/".join((self.bucket, *self.prefix)) if self.kind != "file" else "/" + "/".join(self.prefix)
        return f"{self.kind}://{path}" + (f" at {self.service}" if self.service else "")


def location_of(url: str) -> StoreLocation:
    """The place ``url`` names. Raises ValueError for a URL no store accepts (see ``registry.store_from_url``)."""
    parsed = urlparse(url.strip())
    kind = parsed.scheme.lower()
    if kind == "file":
        # realpath: a symlinked folder is the folder it points to.
        parts = Path(os.path.realpath(unquote(parsed.path) or "/")).parts[1:]
        return StoreLocation("file", "", "", tuple(parts))
    if kind not in ("s3", "gs", "az") or not parsed.netloc:
        raise ValueError(f"not a storage URL: {url!r}")
    options = {name.lower(): values[-1] for name, values in parse_qs(parsed.query).items()}
    prefix = tuple(part for part in unquote(parsed.path).split("/") if part)
    bucket = parsed.netloc.lower()
    endpoint = options.get("endpoint", "")
    if kind == "s3":
        service = _endpoint(endpoint) if endpoint else "aws"
        return StoreLocation(kind, "aws" if _AWS_ENDPOINT.match(_host(endpoint)) else service, bucket, prefix)
    if kind == "gs":
        service = _endpoint(endpoint) if endpoint else "google"
        return StoreLocation(kind, "google" if _host(endpoint) == "storage.googleapis.com" else service, bucket, prefix)
    account = options.get("account", "").lower()
    if options.get("emulator", "").lower() in ("1", "true", "yes"):
        account = account or "devstoreaccount1"
        endpoint = endpoint or f"http://127.0.0.1:10000/{account}"
    azure_host = _AZURE_ENDPOINT.match(_host(endpoint))
    if azure_host:
        account, endpoint = azure_host.group(1), ""
    service = _endpoint(endpoint) if endpoint else f"azure:{account}"
    return StoreLocation(kind, service, bucket, prefix)


def _host(endpoint: str) -> str:
    return (urlparse(endpoint).hostname or "").rstrip(".").lower() if endpoint else ""


def _endpoint(endpoint: str) -> str:
    """scheme://host:port/path with the host's loopback spellings made one and the default port written out."""
    parsed = urlparse(endpoint)
    scheme = parsed.scheme.lower()
    host = _host(endpoint)
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            host = "loopback"
    except ValueError:
        pass  # a name, not an address
    try:
        port = parsed.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    path = "/".join(part for part in parsed.path.split("/") if part)
    return f"{scheme}://{host}:{port}/{path}".rstrip("/")


def overlap(source_url: str, target_url: str) -> str | None:
    """Why ``target_url`` cannot receive a copy of ``source_url``, or None when the two places are apart."""
    source, target = location_of(source_url), location_of(target_url)
    if source == target:
        return f"{target_url} is the same store as {source_url} (both are {source})"
    if source.contains(target):
        return f"{target_url} lies inside {source_url}: copying would copy its own copies"
    if target.contains(source):
        return f"{source_url} lies inside {target_url}: the new store would hold the old one"
    return None


def same_location(a: str, b: str) -> bool:
    try:
        return location_of(a) == location_of(b)
    except ValueError:
        return a.rstrip("/") == b.rstrip("/")
