"""The embedded default's file cache: cheaper reads and writes than Django's, with Django's file layout."""

from __future__ import annotations

import os
import pickle
import shutil
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from reelm.core import cache as cache_module
from reelm.core.cache import COMPRESS_FROM, FileCache

SMALL = {"shown": ["a" * 32] * 3, "n": 1}
LARGE = {"features": [(f"name{i}", i / 7) for i in range(COMPRESS_FROM // 8)]}


def entry(cache: FileCache, key: str) -> bytes:
    return Path(cache._key_to_file(key)).read_bytes()


def test_small_values_are_stored_as_they_are_and_large_ones_compressed(tmp_path: Path) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.set("small", SMALL, 60)
    cache.set("large", LARGE, 60)
    assert cache.get("small") == SMALL and cache.get("large") == LARGE
    assert b"shown" in entry(cache, "small")  # not compressed: the pickle itself
    large = entry(cache, "large")
    assert (
        f"name{COMPRESS_FROM // 8 - 1}".encode() not in large
        and len(large) < len(pickle.dumps(LARGE, pickle.HIGHEST_PROTOCOL)) / 2
    )


def test_it_reads_what_djangos_file_cache_wrote_and_django_reads_its_large_entries(tmp_path: Path) -> None:
    ours = FileCache(str(tmp_path), {})
    django = FileBasedCache(str(tmp_path), {})
    django.set("from-django", SMALL, 60)
    django.set("none-from-django", None, 60)
    assert ours.get("from-django") == SMALL
    assert ours.get("none-from-django", "default") is None
    ours.set("large", LARGE, 60)
    assert django.get("large") == LARGE  # compressed as Django expects


def test_none_is_a_value_and_a_missing_key_gives_the_default(tmp_path: Path) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.set("nothing", None, 60)
    assert cache.get("nothing", "default") is None
    assert cache.get("missing", "default") == "default"
    cache.set("forever", 1, None)
    assert cache.get("forever") == 1


def test_expired_entries_are_gone_and_their_files_deleted(tmp_path: Path, monkeypatch: Any) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.set("brief", SMALL, 10)
    cache.set("empty", 1, 60)
    Path(cache._key_to_file("empty")).write_bytes(b"")  # an empty file is expired, as in Django
    later = time.time() + 11
    monkeypatch.setattr(cache_module.time, "time", lambda: later)
    assert cache.get("brief", "default") == "default" and cache.get("empty") is None
    assert not os.path.exists(cache._key_to_file("brief")) and not os.path.exists(cache._key_to_file("empty"))
    assert not cache.touch("brief") and not cache.has_key("brief")


def test_touch_add_incr_and_delete_work_on_entries_as_stored(tmp_path: Path) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.set("small", SMALL, 60)
    assert cache.touch("small", 120) and cache.get("small") == SMALL
    assert not cache.add("small", "other", 60) and cache.add("fresh", 1, 60)
    assert cache.incr("fresh") == 2 and cache.get("fresh") == 2
    assert cache.delete("small") and cache.get("small") is None


def test_a_deleted_cache_directory_is_made_again_and_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    cache = FileCache(str(directory), {})
    cache.set("before", 1, 60)
    shutil.rmtree(directory)
    cache.set("after", 2, 60)
    assert cache.get("after") == 2
    assert all(name.endswith(".djcache") for name in os.listdir(directory))


def test_concurrent_writers_and_readers_only_ever_see_whole_values(tmp_path: Path) -> None:
    """Each write renames a finished file over the entry: a reader gets one writer's value or another's."""
    values = [{"writer": n, "payload": [n] * (COMPRESS_FROM // 4 if n % 2 else 10)} for n in range(4)]
    cache = FileCache(str(tmp_path), {})
    cache.set("shared", values[0], 60)
    seen: list[Any] = []
    stop = threading.Event()

    def write(value: dict[str, Any]) -> None:
        mine = FileCache(str(tmp_path), {})  # as another process would
        while not stop.is_set():
            mine.set("shared", value, 60)

    def read() -> None:
        mine = FileCache(str(tmp_path), {})
        for _ in range(300):
            seen.append(mine.get("shared"))

    writers = [threading.Thread(target=write, args=(value,)) for value in values]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in readers:
        thread.join()
    stop.set()
    for thread in writers:
        thread.join()
    assert len(seen) == 600 and all(value in values for value in seen)
    assert all(name.endswith(".djcache") for name in os.listdir(tmp_path))


@pytest.mark.parametrize("value", [b"\x80raw bytes", "x" * COMPRESS_FROM, 0.5, (1, "two"), {"nested": {"set": {1}}}])
def test_any_picklable_value_round_trips(tmp_path: Path, value: Any) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.set("key", value, 60)
    assert cache.get("key") == value


def test_a_compressed_entry_never_looks_like_a_plain_one() -> None:
    """The reader tells the two apart by the first byte: a pickle's PROTO, which no zlib stream starts with."""
    for level in range(10):
        assert zlib.compress(b"anything" * 100, level)[:1] != cache_module._PICKLED
