"""Helpers for tests that drive real Reelm processes: start and stop them, wait for them, talk HTTP to them.

No mocks here: every helper starts or talks to a real process over a real loopback socket.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
# The console script installed next to the interpreter that runs the tests (.venv/bin/reelm).
REELM = Path(sys.executable).parent / "reelm"
TEST_RESULTS = REPO_ROOT / "test-results"


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def reelm_bin() -> str:
    if not REELM.exists():
        raise RuntimeError(f"{REELM} is missing: install the project into the virtualenv (./dev setup)")
    return str(REELM)


def free_port() -> int:
    """A loopback port that was free a moment ago (callers retry if someone else takes it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The servers a suite run on PostgreSQL and Redis is configured with (see ``./dev test --scaled``).
BACKEND_SETTINGS = ("REELM_DATABASE_URL", "REELM_QUEUE_URL", "REELM_CACHE_URL")


def child_env(data_dir: Path, *, keep_backends: bool = False, **extra: str) -> dict[str, str]:
    """The environment for a Reelm process: the caller's, minus any REELM_* setting that would leak in.

    With ``keep_backends`` the database, queue and cache URLs of the run are kept, so the process uses the same
    servers as the suite (the embedded default when none is set).
    """
    kept = BACKEND_SETTINGS if keep_backends else ()
    env = {key: value for key, value in os.environ.items() if not key.startswith("REELM_") or key in kept}
    tmp = data_dir / "tmp"  # transcode work directories land here, so nothing is left behind in /tmp
    tmp.mkdir(parents=True, exist_ok=True)
    env.update(
        REELM_DATA_DIR=str(data_dir),
        TMPDIR=str(tmp),
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="reelm.settings",
        REELM_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@dataclass
class ReelmProcess:
    """A real ``reelm`` subprocess in its own session (so its whole process group can be signalled)."""

    name: str
    args: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = ""
    _log_handle: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self, limit: int = 40_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text if len(text) <= limit else "…(truncated)…\n" + text[-limit:]

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process still in this process's group (the leader's pid is the group id)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the leader (it stops its own children), then SIGKILL whatever is left of the group."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.kill_group(signal.SIGKILL)  # stragglers a crashed leader left behind
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> ReelmProcess:
    log_path = log_dir / f"{name}.log"
    handle = open(log_path, "ab")  # noqa: SIM115 - closed by ReelmProcess.stop()
    popen = subprocess.Popen(
        [reelm_bin(), *args],
        env=env,
        cwd=env["REELM_DATA_DIR"],
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return ReelmProcess(name=name, args=args, popen=popen, log_path=log_path, _log_handle=handle)


def wait_for[T](
    predicate: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.2,
    message: str | Callable[[], str],
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f} s: {text}")
        time.sleep(interval)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


def start_server(
    name: str, command: str, env: dict[str, str], log_dir: Path, *extra: str, timeout: float = 60, tries: int = 3
) -> ReelmProcess:
    """Start ``reelm run`` or ``reelm serve`` on a free loopback port and wait until it answers ``GET /``.

    Another process may grab the chosen port between picking and binding it; then the server exits and a new
    port is tried.
    """
    for attempt in range(1, tries + 1):
        port = free_port()
        proc = start(name, [command, "--bind", f"127.0.0.1:{port}", *extra], env, log_dir)
        proc.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while proc.alive() and time.monotonic() < deadline:
            if answers(proc.base_url + "/"):
                return proc
            time.sleep(0.25)
        log = proc.log_text()
        proc.stop()
        if "Address already in use" in log and attempt < tries:
            continue
        code = proc.popen.returncode
        state = f"exited with {code}" if code is not None else "never answered"
        raise RuntimeError(f"reelm {command} on port {port} {state} within {timeout:.0f} s; its log:\n{log}")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def dump_logs_on_failure(*procs: Callable[[], list[ReelmProcess]] | ReelmProcess) -> Iterator[None]:
    """Print the logs of the given processes (to the test's captured output) if the block raises."""
    try:
        yield
    except BaseException:
        for item in procs:
            for proc in item() if callable(item) else [item]:
                print(f"\n===== log of {proc.name} (pid {proc.pid}) =====\n{proc.log_text()}", file=sys.stderr)
        raise


# --- HTTP ------------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Http:
    """A tiny HTTP client with a cookie jar (a browser-like session) and an optional bearer token."""

    def __init__(self, base_url: str, *, token: str | None = None, follow_redirects: bool = True):
        self.base_url = base_url
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.cookies)]
        if not follow_redirects:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.base_url + path
        assert url.startswith("http://127.0.0.1:"), url  # only ever our own loopback server
        request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def login(self, username: str, password: str) -> None:
        """Log in through Django's login form, with its CSRF token, as a browser would."""
        page = self.get("/login")
        assert page.status == 200, f"GET /login answered {page.status}"
        csrf = self.cookie("csrftoken")
        assert csrf, "GET /login set no csrftoken cookie"
        done = self.post(
            "/login",
            form={"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/"},
            headers={"Referer": self.base_url + "/login"},
        )
        assert done.status == 200, f"POST /login answered {done.status}: {done.body[:500]!r}"
        assert self.cookie("sessionid"), f"logging in as {username} set no session cookie: {done.body[:500]!r}"

    def create_token(self, name: str) -> str:
        """POST /api/tokens with the session and its (rotated) CSRF token; returns the secret."""
        csrf = self.cookie("csrftoken") or ""
        response = self.post(
            "/api/tokens",
            json_body={"name": name},
            headers={"X-CSRFToken": csrf, "Referer": self.base_url + "/settings"},
        )
        assert response.status == 201, f"POST /api/tokens answered {response.status}: {response.body[:500]!r}"
        return str(response.json()["secret"])

    def upload(self, path: Path, **fields: str) -> Response:
        body, content_type = multipart(fields, {"file": path})
        return self.post("/api/videos", body=body, headers={"Content-Type": content_type}, timeout=120)


def multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    boundary = f"reelm-test-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + path.read_bytes()
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- processes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    state: str
    cmdline: str
    cwd: str


def processes() -> list[ProcInfo]:
    """Every live (non-zombie) process visible in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name is in parentheses and may contain spaces: split after the last ')'.
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                cwd = ""
        except (OSError, ValueError):
            continue  # it exited while we looked
        if state in ("Z", "X"):
            continue
        found.append(ProcInfo(int(entry.name), int(ppid), state, cmdline, cwd))
    return found


def sign_up_with_token(base_url: str, username: str, password: str, *, token_name: str) -> Http:
    """Create an account through the API, log in through the form, and return a client holding a fresh token."""
    created = Http(base_url).post("/api/accounts", json_body={"username": username, "password": password})
    assert created.status == 201, created.body
    session = Http(base_url)
    session.login(username, password)
    return Http(base_url, token=session.create_token(token_name))


#: The two screens every browser test looks at: a phone and a laptop.
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1366, "height": 768}}
DEVICES: dict[str, dict[str, Any]] = {"phone": PHONE, "desktop": DESKTOP}


def sign_in(browser: Browser, base: str, username: str, device: dict[str, Any], errors: list[str]) -> Page:
    """A browser context on ``base`` signed in as ``username``, collecting page errors into ``errors``."""
    context = browser.new_context(base_url=base, **device)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/")
    return page
