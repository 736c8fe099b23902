"""The storage seam on the local-disk backend (obstore's LocalStore)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from reelm.storage.base import ObjectNotFound, ObjectStore, validate_key
from reelm.storage.registry import store_from_url


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
    with pytest.raises(ValueError, match="unsupported storage URL scheme"):
        store_from_url("ftp://example.invalid/bucket")


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
