"""End-to-end fixtures: a real ``reelm run`` (gunicorn + huey worker) on a free loopback port."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.e2e.live import CHROMIUM, TEST_RESULTS, ReelmProcess, child_env, start_server

SERVER_FIXTURE = "reelm_server"


@pytest.fixture
def reelm_server(tmp_path: Path) -> Iterator[ReelmProcess]:
    """``reelm run`` with its own data directory; stopped (SIGTERM, then SIGKILL) when the test ends.

    If the test fails, the server's log is attached to the failure report.
    """
    data_dir = tmp_path / "reelm-data"
    data_dir.mkdir()
    env = child_env(data_dir)
    # One web process and one worker thread: the browser, gunicorn and ffmpeg share a 2-core machine.
    server = start_server(
        "reelm-run", "run", env, tmp_path, "--web-workers", "1", "--threads", "4", "--worker-threads", "1"
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    server = getattr(item, "funcargs", {}).get(SERVER_FIXTURE)
    if report.failed and report.when == "call" and isinstance(server, ReelmProcess):
        report.sections.append((f"reelm run log ({server.log_path})", server.log_text()))
    return report


@pytest.fixture
def browser_artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder under test-results/. Fails, never skips, when Chromium is missing: a browser
    test that quietly skips hides a broken setup."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)")
    out = TEST_RESULTS / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out
