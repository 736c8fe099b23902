"""A deployment of three realms for a test (its databases dropped after it), and the browser tests' screenshot
folder, shared with the other browser tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import browser_artifacts
from tests.realms.deployment import Deployment, three_realms

__all__ = ["browser_artifacts", "realms"]


@pytest.fixture
def realms(tmp_path: Path) -> Iterator[Deployment]:
    data = tmp_path / "data"
    data.mkdir()
    deployment = three_realms(data)
    try:
        yield deployment
    finally:
        deployment.drop()
