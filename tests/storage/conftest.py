"""Object-storage servers for the storage tests: started on first use, once per session, killed at its end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.storage.servers import BACKENDS, Server, running, store_url


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
        return store_url(kind, server, f"t-{uuid.uuid4().hex[:12]}", tmp_path)

    return make
