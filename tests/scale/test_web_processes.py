"""``reelm serve --prod``: several web processes, any of which can serve any request.

Real servers only: two separate production servers (one with two gunicorn workers) share a data directory and the
configured database, queue and cache (SQLite and a file cache on the embedded default; PostgreSQL and Redis in the
scaled run). A browser session started on one is honoured, and ended, on the other.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.e2e.live import (
    Http,
    ReelmProcess,
    child_env,
    dump_logs_on_failure,
    processes,
    reelm_bin,
    start_server,
    wait_for,
)
from tests.scale.backends import on_scaled_servers, process_backends

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

BACKEND = "postgresql+redis" if on_scaled_servers() else "sqlite"


def _manage_shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [reelm_bin(), "manage", "shell", "--no-imports", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("backend", [BACKEND])  # names the configuration in the test id
def test_a_session_started_on_one_server_is_honoured_and_ended_on_another(tmp_path: Path, backend: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    started: list[ReelmProcess] = []
    with process_backends("web") as backends:
        env = child_env(data_dir, keep_backends=True, **backends)
        migrate = subprocess.run([reelm_bin(), "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        try:
            with dump_logs_on_failure(lambda: started):
                one = start_server("web-1", "serve", env, logs, "--prod", "--workers", "2", "--threads", "2")
                started.append(one)
                other = start_server("web-2", "serve", env, logs, "--prod", "--workers", "1", "--threads", "2")
                started.append(other)
                _sessions_cross_servers(one, other)
                _production_defaults(one)
        finally:
            for proc in reversed(started):
                proc.stop()
        _cache_is_shared_between_processes(env, redis=bool(backends.get("REELM_CACHE_URL")))


def _sessions_cross_servers(one: ReelmProcess, other: ReelmProcess) -> None:
    # Two gunicorn worker processes under the first server's master: requests to it land on either.
    wait_for(
        lambda: len([p for p in processes() if p.ppid == one.pid]) == 2,
        timeout=30,
        message="`reelm serve --prod --workers 2` did not run two worker processes",
    )
    created = Http(one.base_url).post("/api/accounts", json_body={"username": "roaming", "password": PASSWORD})
    assert created.status == 201, created.body
    browser = Http(one.base_url)
    browser.login("roaming", PASSWORD)
    # The browser's cookies, sent to the other server (as a load balancer would send the next request there).
    elsewhere = _with_cookies_of(browser, other.base_url)
    page = elsewhere.get("/settings")
    assert page.status == 200 and b"roaming" in page.body, (page.status, page.body[:300])
    elsewhere.create_token("made on the other server")  # a session write, with its CSRF check, on the other server
    csrf = elsewhere.cookie("csrftoken") or ""
    logout = elsewhere.post("/logout", form={"csrfmiddlewaretoken": csrf}, headers={"Referer": other.base_url + "/"})
    assert logout.status == 302, logout.status
    # The first server gets the old session cookie again, and it no longer opens the session: ended for everyone.
    signed_out = _with_cookies_of(browser, one.base_url).get("/settings")
    assert signed_out.status == 302 and "/login" in signed_out.headers["Location"], signed_out.status


def _with_cookies_of(browser: Http, base_url: str) -> Http:
    client = Http(base_url, follow_redirects=False)  # a redirect to /login must show, not be followed
    for cookie in browser.cookies:
        client.cookies.set_cookie(cookie)
    return client


def _production_defaults(server: ReelmProcess) -> None:
    anonymous = Http(server.base_url)
    missing = anonymous.get("/no-such-page")
    assert missing.status == 404 and b"URLconf" not in missing.body, "a debug page was shown: debug is on"
    script = anonymous.get("/static/vendor/hls.js/hls.min.js")  # WhiteNoise serves static files itself
    assert script.status == 200 and len(script.body) > 100_000, (script.status, len(script.body))


def _cache_is_shared_between_processes(env: dict[str, str], *, redis: bool) -> None:
    backend = _manage_shell(env, "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])")
    assert backend.endswith("RedisCache" if redis else "FileCache"), backend
    _manage_shell(env, "from django.core.cache import cache; cache.set('shared-check', 'from another process', 60)")
    seen = _manage_shell(env, "from django.core.cache import cache; print(cache.get('shared-check'))")
    assert seen == "from another process", "a value cached by one process is not seen by another"
