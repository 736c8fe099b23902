"""Object-storage servers for the storage tests: started on first use, once per session, killed at its end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from reelm.storage import registry
from reelm.storage.base import ObjectStore
from tests.storage.servers import BACKENDS, Server, running
from tests.storage.servers import store_url as server_store_url


@pytest.fixture(scope="session")
def storage_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Server]]:
    """``get(kind)`` starts that kind's server the first time it is asked for, so a run that needs only local
    disk starts nothing."""
    started: dict[str, Server] = {}
    with ExitStack() as stack:

        def get(kind: str) -> Server:
            if kind not in started:
                started[kind] = stack.enter_context(running(kind, tmp_path_factory.mktemp(kind)))
            return started[kind]

        yield get


@pytest.fixture(scope="session")
def other_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second SeaweedFS, with keys of its own (``start_seaweedfs`` makes new ones per server): another account,
    for stores that need credentials other than the default ones."""
    with running("s3", tmp_path_factory.mktemp("s3-other")) as server:
        yield server


@pytest.fixture
def fresh_store_url(
    storage_servers: Callable[[str], Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[str], str]:
    """``fresh_store_url(kind)`` for kind in BACKENDS: the URL of a new, empty prefix in that backend, with the
    credentials it needs set in the environment for this test."""

    def make(kind: str) -> str:
        if kind not in BACKENDS:
            raise ValueError(f"unknown backend {kind!r} (known: {', '.join(BACKENDS)})")
        server = None if kind == "file" else storage_servers(kind)
        if server is not None:
            for name, value in server.env.items():
                monkeypatch.setenv(name, value)
        return server_store_url(kind, server, f"t-{uuid.uuid4().hex[:12]}", tmp_path)

    return make


StoreUrl = Callable[[str], str]


@pytest.fixture
def store_url(fresh_store_url: StoreUrl) -> StoreUrl:
    """``kind -> URL`` of a fresh, empty store (``fresh_store_url`` under the name the migration tests use)."""
    return fresh_store_url


@pytest.fixture
def old(media_store: ObjectStore) -> ObjectStore:
    """The realm's current store (tests/conftest.py points REELM_STORAGE_URL at a fresh folder)."""
    return registry._cached(media_store.url)


@pytest.fixture
def new(store_url: StoreUrl) -> ObjectStore:
    return registry._cached(store_url("file"))
