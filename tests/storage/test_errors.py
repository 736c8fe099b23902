"""Storage errors say which store failed, what its server answered (status, the backend's own code and message) and
what to do, in one line and without a secret; ``reelm check`` and ``reelm storage status`` pass that on.

Against the real servers (SeaweedFS, Azurite, fake-gcs-server): the texts parsed are the ones their clients produce.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reelm.site import health
from reelm.storage import registry
from reelm.storage.base import ObjectNotFound, StorageError
from reelm.storage.errors import BackendError, backend_error
from reelm.storage.gcs_backend import HttpError  # gcsfs through the backend, which configures it first
from reelm.storage.registry import store_from_url
from tests.e2e.live import child_env, reelm_bin
from tests.storage.servers import BUCKET, Server, running, store_url

Servers = Callable[[str], Server]


def _url(kind: str, server: Server, tmp_path: Path, *, bucket: str = BUCKET) -> str:
    url = store_url(kind, server, f"t-{uuid.uuid4().hex[:12]}", tmp_path)
    return url.replace(f"://{BUCKET}/", f"://{bucket}/", 1)


def _missing_bucket() -> str:
    return f"missing-{uuid.uuid4().hex[:12]}"


def _failure(call: Callable[[], object]) -> StorageError:
    with pytest.raises(StorageError) as raised:
        call()
    assert not isinstance(raised.value, ObjectNotFound)
    return raised.value


def assert_one_line(message: str, *hidden: str) -> None:
    assert "\n" not in message and "Debug source" not in message and "RetryError" not in message, message
    for secret in hidden:
        assert secret not in message


@pytest.fixture
def s3(storage_servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Server:
    server = storage_servers("s3")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return server


@pytest.fixture
def azure(storage_servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Server:
    server = storage_servers("azure")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    return server


# --- S3 (SeaweedFS) ----------------------------------------------------------------------------------------------


def test_s3_missing_bucket_names_no_such_bucket_and_says_to_create_it(s3: Server, tmp_path: Path) -> None:
    url = _url("s3", s3, tmp_path, bucket=_missing_bucket())
    store = store_from_url(url)
    error = _failure(lambda: list(store.list("videos/")))
    assert (error.status, error.code, error.store) == (404, "NoSuchBucket", url)
    message = str(error)
    assert message.startswith(f"could not list the keys under 'videos/': {url} answered 404 NoSuchBucket (")
    assert message.endswith("; create the bucket, or correct its name in the URL")
    assert_one_line(message, s3.env["AWS_SECRET_ACCESS_KEY"])
    with pytest.raises(ObjectNotFound, match="no object at 'a/b'"):  # reading a key stays "not found"
        store.head("a/b")


def test_s3_wrong_secret_names_signature_does_not_match(
    s3: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-" + secrets.token_hex(16)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    url = _url("s3", s3, tmp_path)
    error = _failure(lambda: store_from_url(url).put("a/b", b"x"))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    message = str(error)
    assert message.startswith(f"could not write 'a/b': {url} answered 403 SignatureDoesNotMatch (The request signature")
    assert message.endswith("; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
    assert_one_line(message, wrong, s3.env["AWS_SECRET_ACCESS_KEY"])


def test_s3_unknown_key_names_invalid_access_key_id(
    s3: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody-" + uuid.uuid4().hex[:8])
    url = _url("s3", s3, tmp_path)
    error = _failure(lambda: list(store_from_url(url).list()))
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")
    assert f"could not list the store: {url} answered 403 InvalidAccessKeyId" in str(error)
    assert_one_line(str(error), s3.env["AWS_SECRET_ACCESS_KEY"])


def test_s3_refused_head_has_no_body_but_still_says_403_and_what_to_check(
    s3: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-" + secrets.token_hex(16))
    url = _url("s3", s3, tmp_path)
    error = _failure(lambda: store_from_url(url).head("a/b"))  # HEAD answers carry no body, so no code
    assert (error.status, error.code) == (403, None)
    assert (
        str(error)
        == f"could not stat 'a/b': {url} answered 403 (Forbidden); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
    )


# --- Azure (Azurite) ---------------------------------------------------------------------------------------------


def test_azure_missing_container_names_container_not_found(azure: Server, tmp_path: Path) -> None:
    url = _url("azure", azure, tmp_path, bucket=_missing_bucket())
    error = _failure(lambda: list(store_from_url(url).list()))
    assert (error.status, error.code, error.store) == (404, "ContainerNotFound", url)
    message = str(error)
    assert message == (
        f"could not list the store: {url} answered 404 ContainerNotFound (The specified container does not exist);"
        " create the container, or correct its name in the URL"
    )  # Azure's message goes on with a request id and a time on further lines: left out


def test_azure_wrong_key_names_the_authentication_failure(
    azure: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", wrong)
    url = _url("azure", azure, tmp_path)
    error = _failure(lambda: store_from_url(url).put("a/b", b"x"))
    # Azure says AuthenticationFailed; Azurite says AuthorizationFailure.
    assert error.status == 403 and error.code in ("AuthenticationFailed", "AuthorizationFailure")
    message = str(error)
    assert message.startswith(f"could not write 'a/b': {url} answered 403 {error.code} (Server failed to authenticate")
    assert message.endswith("; check AZURE_STORAGE_ACCOUNT_KEY and the account in the URL")
    assert_one_line(message, wrong, azure.env["AZURE_STORAGE_ACCOUNT_KEY"])


# --- GCS (fake-gcs-server) ---------------------------------------------------------------------------------------


def test_gcs_missing_bucket_says_so(storage_servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = storage_servers("gcs")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    bucket = _missing_bucket()
    url = _url("gcs", server, tmp_path, bucket=bucket)
    error = _failure(lambda: list(store_from_url(url).list()))
    # fake-gcs-server answers 500 with the status as its <Code>: no code, but its message and the hint show.
    assert (error.status, error.code) == (500, None)
    assert str(error) == (
        f"could not list the store: {url} answered 500 (no bucket named {bucket});"
        " create the bucket, or correct its name in the URL"
    )


def test_google_json_errors_give_status_reason_and_message() -> None:
    """GCS's JSON API (through gcsfs, already decoded) and a JSON body inside a client's text read the same."""
    message = "reelm@x.iam.gserviceaccount.com does not have storage.objects.create access."
    body = {"code": 403, "message": message, "errors": [{"reason": "forbidden", "domain": "global"}]}
    expected = BackendError(403, "forbidden", message)
    assert backend_error(HttpError(body)) == expected
    text = "Generic GCS error: Server returned non-2xx status code: 403 Forbidden: " + json.dumps({"error": body})
    assert backend_error(RuntimeError(text + "\n\nDebug source:\nGeneric {...}")) == expected


# --- a server that does not answer -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["s3", "azure", "gcs"])
def test_a_stopped_server_does_not_answer(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running(kind, tmp_path) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        url = store_url(kind, server, "stopped", tmp_path)
        store = store_from_url(url)
        store.put("a/b", b"x")
        server.stop()
        # Listing and reading go through obstore on every backend (GCS writes go through gcsfs, whose own retries
        # take half a minute).
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: list(store.list()), "could not list the store"),
            (lambda: store.head("a/b"), "could not stat 'a/b'"),
        ]
        for call, start in calls:
            error = _failure(call)
            assert (error.status, error.code, error.store) == (None, None, url)
            assert str(error) == (
                f"{start}: {url} does not answer (connection refused); is the server running, and the endpoint in the"
                " URL right?"
            )


# --- reelm check and reelm storage status ------------------------------------------------------------------------


@pytest.mark.django_db
def test_reelm_check_reports_a_missing_container_not_a_missing_object(
    azure: Server, tmp_path: Path, settings: Any
) -> None:
    settings.REELM_STORAGE_URL = _url("azure", azure, tmp_path, bucket=_missing_bucket())
    registry._cached.cache_clear()
    ok, detail = health._storage()
    assert not ok
    assert "no object at" not in detail
    assert f"{settings.REELM_STORAGE_URL} answered 404 ContainerNotFound" in detail
    assert detail.endswith("create the container, or correct its name in the URL")


def test_storage_status_on_a_database_never_migrated_says_to_migrate(tmp_path: Path) -> None:
    result = subprocess.run(
        [reelm_bin(), "storage", "status"], env=child_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == "reelm: the database has no tables yet: run `reelm migrate`"
