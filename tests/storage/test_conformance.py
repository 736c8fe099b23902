"""One behaviour for every backend: each case runs on local disk, S3 (SeaweedFS), GCS (fake-gcs-server) and Azure
Blob (Azurite), all real servers started by ``conftest.py``."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from reelm.storage.base import ObjectNotFound, ObjectStore, StorageError
from reelm.storage.registry import store_from_url
from tests.storage.servers import BACKENDS, fetch

# Emulators that check signed URLs: SeaweedFS (SigV4) and Azurite (SAS) reject expired and tampered URLs.
# fake-gcs-server serves any URL without checking its signature, so for GCS the tests check what was signed.
VERIFIES_SIGNATURES = {"s3", "azure"}
MiB = 1024 * 1024


@pytest.fixture(params=BACKENDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(kind: str, fresh_store_url: Callable[[str], str]) -> ObjectStore:
    return store_from_url(fresh_store_url(kind))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _generated(size: int, seed: int, chunk: int = MiB) -> Iterator[bytes]:
    """``size`` pseudo-random bytes made one chunk at a time, so the caller never holds the whole object."""
    rng = random.Random(seed)
    for offset in range(0, size, chunk):
        yield rng.randbytes(min(chunk, size - offset))


def test_small_object_round_trip(store: ObjectStore) -> None:
    data = b"a small object \x00\xff"
    written = store.put("clips/a/small.bin", data)
    assert (written.key, written.size, written.sha256) == ("clips/a/small.bin", len(data), _sha(data))
    assert store.read_bytes("clips/a/small.bin") == data
    assert store.head("clips/a/small.bin").size == len(data)
    assert store.exists("clips/a/small.bin")
    assert store.checksum("clips/a/small.bin") == _sha(data)


def test_an_object_of_one_part_goes_up_in_one_request(kind: str, store: ObjectStore) -> None:
    data = random.Random(7).randbytes(3 * MiB)
    written = store.put("clips/one-part.bin", iter([data[:MiB], data[MiB:]]))  # streamed, yet a single PUT
    if kind != "gcs":  # gcsfs reports no ETag for its uploads
        assert written.etag and written.etag.strip('"') == store.head("clips/one-part.bin").etag.strip('"')
    if kind == "s3":  # a single PUT's ETag is the content's MD5; a multipart one ends in -<parts>
        assert written.etag and written.etag.strip('"') == hashlib.md5(data).hexdigest()  # noqa: S324


def test_large_object_is_streamed_in_and_out(kind: str, store: ObjectStore, tmp_path: Path) -> None:
    size = 20 * MiB
    expected = hashlib.sha256()
    for chunk in _generated(size, seed=1):
        expected.update(chunk)
    tracemalloc.start()
    try:
        written = store.put("clips/big.bin", _generated(size, seed=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Python holds at most the parts in flight (two of 5 MiB), never the whole 20 MiB object.
    assert peak < 16 * MiB, f"put held {peak / MiB:.1f} MiB in Python"
    assert (written.size, written.sha256) == (size, expected.hexdigest())
    assert store.head("clips/big.bin").size == size
    assert store.checksum("clips/big.bin") == expected.hexdigest()
    downloaded = store.download("clips/big.bin", tmp_path / "big.bin")
    assert downloaded.sha256 == expected.hexdigest()
    assert _sha((tmp_path / "big.bin").read_bytes()) == expected.hexdigest()
    if kind == "s3":
        etag = store.head("clips/big.bin").etag or ""
        assert etag.strip('"').endswith("-4"), f"expected a 4-part multipart upload, ETag {etag}"


def test_put_from_file_handle_and_path(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(300_000))
    assert store.put_file("f/from-path", source).sha256 == _sha(source.read_bytes())
    with open(source, "rb") as handle:
        assert store.put("f/from-handle", handle).size == 300_000
    assert store.read_bytes("f/from-handle") == source.read_bytes()


RANGES = [
    (0, 1),
    (10, 20),
    (4095, 4096),
    (0, 4096),
    (100, None),  # open end
    (4096, None),  # open end exactly at the end
    (4000, 10_000),  # end beyond the size
    (5000, 6000),  # entirely beyond the size
    (5000, None),
    (10, 10),  # zero length
    (20, 10),  # end before start
]


def test_ranges_slice_like_bytes(store: ObjectStore) -> None:
    data = bytes(range(256)) * 16
    store.put("r/obj", data)
    for start, end in RANGES:
        assert b"".join(store.stream("r/obj", start, end)) == data[start:end], (start, end)


def test_listing_more_than_one_page_then_delete_prefix(store: ObjectStore) -> None:
    keys = [f"videos/v1/seg_{index:05d}.ts" for index in range(1010)]  # S3 and GCS list 1000 keys a page (Azure 5000)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.put(key, key.encode()), keys))
    store.put("videos/v10/other.ts", b"shares the text prefix 'videos/v1'")
    store.put("videos/v2/keep.ts", b"keep")
    listed = sorted(info.key for info in store.list("videos/v1/"))
    assert listed == keys
    assert {info.size for info in store.list("videos/v1/")} == {len(keys[0])}
    assert len(list(store.list())) == 1012
    assert [info.key for info in store.list("videos/v2/")] == ["videos/v2/keep.ts"]
    assert store.delete_prefix("videos/v1/") == 1010
    assert sorted(info.key for info in store.list()) == ["videos/v10/other.ts", "videos/v2/keep.ts"]
    assert store.delete_prefix("videos/v1/") == 0
    with pytest.raises(ValueError):
        store.delete_prefix("videos")  # must be folder-like


def test_url_prefix_scopes_keys(kind: str, fresh_store_url: Callable[[str], str]) -> None:
    first, second = store_from_url(fresh_store_url(kind)), store_from_url(fresh_store_url(kind))
    first.put("same/key", b"first")
    second.put("same/key", b"second")
    assert [info.key for info in first.list()] == ["same/key"]  # relative to the URL's prefix
    assert first.read_bytes("same/key") == b"first"
    second.delete_prefix("same/")
    assert first.read_bytes("same/key") == b"first"
    assert list(second.list()) == []


def test_overwrite_replaces_content_and_checksum(store: ObjectStore) -> None:
    store.put("o/k", b"first version, longer")
    store.put("o/k", b"second")
    assert store.read_bytes("o/k") == b"second"
    assert store.head("o/k").size == 6
    assert store.checksum("o/k") == _sha(b"second")


def test_missing_keys(store: ObjectStore, tmp_path: Path) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.read_bytes("nope/x"),
        lambda: store.head("nope/x"),
        lambda: list(store.stream("nope/x")),
        lambda: list(store.stream("nope/x", 5)),
        lambda: list(store.stream("nope/x", 2, 4)),
        lambda: list(store.stream("nope/x", 3, 3)),
        lambda: store.checksum("nope/x"),
        lambda: store.copy("nope/x", "nope/y"),
        lambda: store.download("nope/x", tmp_path / "out"),
    ]
    for call in calls:
        with pytest.raises(ObjectNotFound) as raised:
            call()
        assert raised.value.key == "nope/x"
    assert not (tmp_path / "out").exists()
    assert not store.exists("nope/x")
    assert not store.exists("nope/y")
    store.put("nope/z", b"z")
    store.delete("nope/z")
    store.delete("nope/z")  # idempotent
    store.delete("nope/never-was")
    assert not store.exists("nope/z")


@pytest.mark.parametrize("key", ["vidéos/ü.mp4", "clips/日本.ts", "a b/c", "a?b", "a#b", "%2e%2e/x", "/abs", "a//b"])
def test_keys_outside_the_seam_alphabet_are_refused(store: ObjectStore, key: str) -> None:
    """Reelm names keys itself from ASCII ids, so the seam promises ASCII ``[A-Za-z0-9._-/]`` keys only and refuses
    the rest everywhere, rather than each backend escaping them its own way."""
    operations: list[Callable[[], object]] = [
        lambda: store.put(key, b"x"),
        lambda: store.head(key),
        lambda: store.read_bytes(key),
        lambda: store.copy("ok", key),
        lambda: store.signed_url(key, 60),
        lambda: store.delete(key),
    ]
    for operation in operations:
        with pytest.raises(ValueError):
            operation()
    assert list(store.list()) == []


def test_every_allowed_character_round_trips(store: ObjectStore) -> None:
    key = "Az09/a.b-c_d/.hidden/x.y.z-_.ts"
    store.put(key, b"odd but allowed")
    assert [info.key for info in store.list()] == [key]
    assert store.read_bytes(key) == b"odd but allowed"


def test_concurrent_writers_to_distinct_keys(store: ObjectStore) -> None:
    payloads = {f"c/{index}": os.urandom(256 * 1024 + index) for index in range(16)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: store.put(*item), payloads.items()))
    for key, data in payloads.items():
        assert store.checksum(key) == _sha(data), key


def test_concurrent_writers_to_one_key_never_tear(store: ObjectStore) -> None:
    """The object ends up as exactly one writer's complete content. On Azure a writer can lose the race outright:
    committing a block list discards the other writers' uncommitted blocks, so their commit fails with a
    StorageError (never a mix of blocks)."""
    # 6 MiB each: more than one multipart part, so a torn object would mix parts from different writers.
    payloads = [bytes([index]) * (6 * MiB) for index in range(4)]
    barrier = threading.Barrier(len(payloads))

    def write(data: bytes) -> str | None:
        barrier.wait()
        try:
            return store.put("shared/key", data).sha256
        except StorageError:
            return None

    with ThreadPoolExecutor(len(payloads)) as pool:
        completed = {digest for digest in pool.map(write, payloads) if digest is not None}
    assert completed, "every concurrent writer failed"
    assert store.checksum("shared/key") in completed
    assert store.head("shared/key").size == 6 * MiB


class WriterDied(Exception):
    pass


@pytest.mark.parametrize("size", [100_000, 12 * MiB], ids=["one-part", "multipart"])
def test_a_failed_write_publishes_nothing(store: ObjectStore, size: int) -> None:
    def dying() -> Iterator[bytes]:
        yield from _generated(size, seed=2)
        raise WriterDied

    store.put("w/kept", b"previous version")
    with pytest.raises(WriterDied):  # the writer's own error comes through
        store.put("w/new", dying())
    with pytest.raises(WriterDied):
        store.put("w/kept", dying())
    assert not store.exists("w/new")
    assert store.read_bytes("w/kept") == b"previous version"


def test_copy_within_the_store(store: ObjectStore) -> None:
    data = os.urandom(1_500_000)
    store.put("src/a", data)
    store.put("dst/a", b"to be overwritten")
    store.copy("src/a", "dst/a")
    store.copy("src/a", "dst/b")
    assert store.checksum("dst/a") == store.checksum("dst/b") == _sha(data)
    assert store.read_bytes("src/a") == data  # the source stays


def test_signed_url_serves_the_object(kind: str, store: ObjectStore) -> None:
    data = os.urandom(100_000)
    store.put("s/clip.mp4", data)
    url = store.signed_url("s/clip.mp4", 300)
    if kind == "file":
        assert url is None  # Reelm serves local files itself
        return
    assert url is not None
    assert fetch(url) == (200, data)
    for secret in (os.environ.get(name) for name in ("AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_ACCOUNT_KEY")):
        if secret:
            assert secret not in url and secret not in store.url and secret not in repr(store)


def _query(url: str) -> dict[str, str]:
    return {name.lower(): values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_signed_url_expires(kind: str, store: ObjectStore) -> None:
    if kind == "file":
        assert store.signed_url("any", 1) is None
        return
    store.put("s/clip.mp4", b"short-lived")
    url = store.signed_url("s/clip.mp4", 1)
    assert url is not None
    if kind not in VERIFIES_SIGNATURES:
        # fake-gcs-server does not check expiry; check that the URL asks for 1 s.
        assert _query(url)["x-goog-expires"] == "1"
        return
    time.sleep(2.5)
    status, _ = fetch(url)
    assert 400 <= status < 500, f"expired URL answered {status}"


def _tamper_signature(url: str) -> str:
    parts = urlsplit(url)
    name = next(name for name in ("X-Amz-Signature", "X-Goog-Signature", "sig") if f"{name}=" in parts.query)
    before, _, after = parts.query.partition(f"{name}=")
    flipped = ("B" if after[0] != "B" else "C") + after[1:]
    return urlunsplit(parts._replace(query=f"{before}{name}={flipped}"))


def test_tampered_signed_urls_are_refused(kind: str, store: ObjectStore) -> None:
    if kind == "file":
        assert store.signed_url("any", 60) is None
        return
    store.put("s/clip.mp4", b"signed one")
    store.put("s/other.mp4", b"not signed")
    url = store.signed_url("s/clip.mp4", 300)
    assert url is not None
    tampered = [_tamper_signature(url), url.replace("s/clip.mp4", "s/other.mp4")]
    assert all(candidate != url for candidate in tampered)
    if kind not in VERIFIES_SIGNATURES:
        # fake-gcs-server would serve both; check that the key and the signature are what was signed.
        assert urlsplit(url).path.endswith("/s/clip.mp4")
        assert len(_query(url)["x-goog-signature"]) == 512  # hex of a 2048-bit RSA signature
        return
    for candidate in tampered:
        status, body = fetch(candidate)
        assert 400 <= status < 500 and status != 404, f"{candidate} answered {status}"
        assert body != b"not signed"
