"""The storage seam on the local-disk backend (obstore's LocalStore), and building stores from URLs."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reelm.site import health
from reelm.storage import registry
from reelm.storage.base import ObjectNotFound, ObjectStore, StorageError, validate_key
from reelm.storage.registry import store_from_url
from tests.storage.servers import Server, free_port


def test_put_get_head_and_checksum(media_store: ObjectStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    written = media_store.put("videos/a/b.bin", data)
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert media_store.read_bytes("videos/a/b.bin") == data
    assert media_store.head("videos/a/b.bin").size == len(data)
    assert media_store.checksum("videos/a/b.bin") == written.sha256


def test_streaming_put_from_iterator_and_file(media_store: ObjectStore, tmp_path: Path) -> None:
    chunks = [os.urandom(100_000) for _ in range(30)]
    written = media_store.put("x/stream.bin", iter(chunks))
    assert written.size == 3_000_000
    assert b"".join(media_store.stream("x/stream.bin")) == b"".join(chunks)
    source = tmp_path / "f.bin"
    source.write_bytes(b"hello file")
    assert media_store.put_file("x/file.bin", source).size == 10
    assert media_store.put("x/handle.bin", io.BytesIO(b"handle")).size == 6


@pytest.mark.parametrize(("start", "end"), [(0, 1), (10, 20), (1000, 4096), (4095, 4096), (0, 4096)])
def test_range_reads(media_store: ObjectStore, start: int, end: int) -> None:
    data = bytes(range(256)) * 16
    media_store.put("r/obj", data)
    assert b"".join(media_store.stream("r/obj", start, end)) == data[start:end]


def test_open_ended_range(media_store: ObjectStore) -> None:
    media_store.put("r/obj", b"0123456789")
    assert b"".join(media_store.stream("r/obj", 7)) == b"789"


def test_overwrite_replaces_content(media_store: ObjectStore) -> None:
    media_store.put("o/k", b"first version")
    media_store.put("o/k", b"second")
    assert media_store.read_bytes("o/k") == b"second"


def test_missing_keys_raise_not_found(media_store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        media_store.read_bytes("nope/x")
    with pytest.raises(ObjectNotFound):
        media_store.head("nope/x")
    with pytest.raises(ObjectNotFound):
        list(media_store.stream("nope/x"))
    with pytest.raises(ObjectNotFound):
        media_store.download("nope/x", tmp_path / "out")
    assert not media_store.exists("nope/x")
    media_store.delete("nope/x")  # idempotent


def test_list_and_delete_prefix(media_store: ObjectStore) -> None:
    for index in range(120):
        media_store.put(f"videos/v1/seg_{index:05d}.ts", b"x")
    media_store.put("videos/v2/keep.ts", b"y")
    keys = sorted(info.key for info in media_store.list("videos/v1/"))
    assert len(keys) == 120 and keys[0] == "videos/v1/seg_00000.ts"
    assert media_store.delete_prefix("videos/v1/") == 120
    assert [info.key for info in media_store.list("videos/")] == ["videos/v2/keep.ts"]
    with pytest.raises(ValueError):
        media_store.delete_prefix("videos")  # must be folder-like


def test_download_reports_checksum(media_store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(2_500_000)
    media_store.put("d/file", data)
    result = media_store.download("d/file", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a//b", "", "a\x00b", "..", "a/./../b"])
def test_hostile_keys_are_refused(media_store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        media_store.put(key, b"x")


def test_keys_stay_inside_the_store_root(tmp_path: Path) -> None:
    base = tmp_path / "isolated"
    store = store_from_url((base / "root").as_uri())
    store.put("a/b/c.txt", b"inside")
    assert (base / "root" / "a" / "b" / "c.txt").read_bytes() == b"inside"
    assert sorted(p.name for p in base.iterdir()) == ["root"]


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported storage URL scheme") as raised:
        store_from_url("ftp://example.invalid/bucket")
    for scheme in ("file://", "s3://", "gs://", "az://"):
        assert scheme in str(raised.value)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("s3://", "needs a bucket"),
        ("s3://AKIA:hunter2@bucket/p", "no credentials"),
        ("s3://bucket?secret_access_key=hunter2", "secrets belong in the environment"),
        ("s3://bucket?endpoint=ftp://host", "http:// or https://"),
        ("s3://bucket/a/../b", "invalid object key"),
        ("az://container/p?endpoint=http://127.0.0.1:1/acct", "need ?account="),
        ("az://container/p?account=acct", "AZURE_STORAGE_ACCOUNT_KEY"),
        ("gs://bucket/p", "GOOGLE_APPLICATION_CREDENTIALS"),
        ("s3://bucket/p?region=eu-west-1", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("s3://bucket/p?profile=&region=eu-west-1", "option profile has no value"),
        ("file://relative/path", "file:///absolute/path"),
    ],
)
def test_malformed_storage_urls_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch, url: str, complaint: str) -> None:
    for name in (
        "AZURE_STORAGE_ACCOUNT_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match=re.escape(complaint)) as raised:
        store_from_url(url)
    assert "hunter2" not in str(raised.value)


SECRET = "s3cr3t-that-must-never-show"


def _unreachable_s3(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reelm-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    return f"s3://videos/p?endpoint=http://127.0.0.1:{free_port()}&region=us-east-1"  # nothing listens there


def test_unreachable_cloud_store_fails_fast_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    url = _unreachable_s3(monkeypatch)
    store = store_from_url(url)
    assert store.url == url and SECRET not in repr(store)
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        store.put("a/b", b"x")
    assert time.monotonic() - started < 20  # bounded retries, not obstore's default of minutes
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    assert message.startswith("could not write 'a/b': ")


@pytest.mark.django_db
def test_reelm_check_names_an_unreachable_store_in_one_sentence(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.REELM_STORAGE_URL = _unreachable_s3(monkeypatch)
    registry._cached.cache_clear()
    ok, detail = health._storage()
    assert not ok
    assert f"{settings.REELM_STORAGE_URL} does not answer (connection refused); is the server running" in detail
    assert "\n" not in detail and "Debug source" not in detail and SECRET not in detail


def test_delete_prefix_removes_a_killed_writers_staging_files(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = store_from_url(root.as_uri())
    store.put("videos/v1/a/index.m3u8", b"#EXTM3U\n")
    # The local store writes "<key>#<n>" and renames it into place; a writer killed in between leaves it.
    (root / "videos/v1/a/seg_00001.ts#1").write_bytes(b"half a segment")
    (root / "videos/v2").mkdir(parents=True)
    (root / "videos/v2/keep.ts#1").write_bytes(b"another video's")
    assert store.delete_prefix("videos/v1/") == 1
    assert not [p for p in (root / "videos/v1").rglob("*") if p.is_file()]
    assert (root / "videos/v2/keep.ts#1").exists()


def test_azure_emulator_flag_needs_no_key(
    storage_servers: Callable[[str], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``?emulator=true`` brings Azurite's published account and key, so a developer sets nothing."""
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY", raising=False)
    endpoint = storage_servers("azure").endpoint
    store = store_from_url(f"az://videos/emulator-flag?emulator=true&endpoint={endpoint}")
    store.put("k", b"via the published key")
    assert store.read_bytes("k") == b"via the published key"
