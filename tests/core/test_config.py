"""Database and queue URLs: what each becomes, and the plain words an operator gets for a malformed one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelm.config import ConfigError, cache_settings, database_settings, queue_settings, redacted, worker_threads
from reelm.core.cache import FileCache

DATA = Path("/srv/reelm")


def test_sqlite_url_names_a_file_in_the_data_directory_or_an_absolute_one() -> None:
    relative = database_settings("sqlite:///reelm.sqlite3", directory=DATA)
    assert relative["ENGINE"] == "django.db.backends.sqlite3" and relative["NAME"] == "/srv/reelm/reelm.sqlite3"
    assert (
        relative["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        and "journal_mode=WAL" in relative["OPTIONS"]["init_command"]
    )
    assert database_settings("sqlite:////var/lib/db.sqlite3", directory=DATA)["NAME"] == "/var/lib/db.sqlite3"


def test_postgresql_url_becomes_django_settings() -> None:
    db = database_settings("postgresql://reelm:p%40ss%2Fw@db.internal:6432/reelm_prod?sslmode=require", directory=DATA)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "reelm_prod", "reelm", "p@ss/w", "db.internal", "6432",
    )  # fmt: skip
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "10"}
    socket = database_settings("postgres:///reelm?host=/run/postgresql", directory=DATA)
    assert (socket["HOST"], socket["PORT"], socket["OPTIONS"]) == ("/run/postgresql", "", {"connect_timeout": "10"})


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite://", "must name a file"),
        ("sqlite:///", "must name a file"),
        ("sqlite://host/db.sqlite3", "must name a file"),
        ("mysql://u@h/db", "must start with sqlite:/// (the embedded default) or postgresql://"),
        ("reelm.sqlite3", "must start with sqlite:///"),
        ("postgresql://u@h:port/db", "port that is not a number"),
        ("postgresql://u@h:70000/db", "port that is not a number"),
        ("postgresql://u@h:5432", "must end with /<database name>"),
        ("postgresql://u@h/a/b", "must end with /<database name>"),
        ("postgresql:///reelm", "names no server"),
    ],
)
def test_malformed_database_url_is_named_in_plain_words(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"^REELM_DATABASE_URL ") as error:
        database_settings(url, directory=DATA)
    assert words in str(error.value)


def test_errors_never_show_a_password() -> None:
    with pytest.raises(ConfigError) as error:
        database_settings("postgresql://reelm:hunter2@db:x/reelm", directory=DATA)
    assert "hunter2" not in str(error.value) and "reelm:***@db:x" in str(error.value)
    assert redacted("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("redis://cache:6379/0") == "redis://cache:6379/0"


def test_queue_url_picks_huey_storage() -> None:
    assert queue_settings("sqlite:///queue.sqlite3", directory=DATA) == {
        "huey_class": "huey.SqliteHuey",
        "filename": "/srv/reelm/queue.sqlite3",
    }
    assert queue_settings("redis://cache:6379/2", directory=DATA) == {
        "huey_class": "huey.RedisHuey",
        "url": "redis://cache:6379/2",
    }
    assert queue_settings("rediss://:pw@cache/0", directory=DATA)["huey_class"] == "huey.RedisHuey"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("amqp://rabbit/", "must start with sqlite:/// (the embedded default) or redis://"),
        ("redis://cache:63790000/0", "port that is not a number"),
        ("redis://cache:6379/zero", "must end with a database number"),
        ("redis:///0", "names no server"),
        ("sqlite://", "must name a file"),
    ],
)
def test_malformed_queue_url_is_named_in_plain_words(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"^REELM_QUEUE_URL ") as error:
        queue_settings(url, directory=DATA)
    assert words in str(error.value)


def test_cache_is_a_file_cache_in_the_data_directory_unless_redis_is_named() -> None:
    assert cache_settings("", directory=DATA) == {
        "BACKEND": "reelm.core.cache.FileCache",
        "LOCATION": DATA / "cache",
    }
    redis = cache_settings("rediss://:pw@cache.internal:6380/1", directory=DATA, queue_url="redis://cache.internal/0")
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "rediss://:pw@cache.internal:6380/1",
    }


@pytest.mark.parametrize(
    ("url", "queue_url", "words"),
    [
        ("memcached://cache:11211", "", "must start with redis:// (or be unset for a file cache"),
        ("redis:///1", "", "names no server"),
        ("redis://cache:x/1", "", "port that is not a number"),
        ("redis://cache:6379/cache", "", "must end with a database number"),
        ("redis://cache/0", "redis://cache:6379", "name the same Redis database; give the cache its own"),
        ("redis://cache:6379", "redis://cache/0", "name the same Redis database"),
    ],
)
def test_malformed_cache_url_is_named_in_plain_words(url: str, queue_url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"^REELM_CACHE_URL ") as error:
        cache_settings(url, directory=DATA, queue_url=queue_url)
    assert words in str(error.value)


def test_the_file_cache_keeps_a_real_sites_entries_and_still_culls(tmp_path: Path, monkeypatch: Any) -> None:
    """Django's file cache culls at 300 entries (feed sessions and candidate pools went at random) and lists its
    directory on every write; Reelm's keeps far more and looks at the directory now and then."""
    roomy = FileCache(str(tmp_path / "roomy"), {})
    for i in range(400):
        roomy.set(f"session-{i}", i, 60)
    assert all(roomy.get(f"session-{i}") == i for i in range(400))
    small = FileCache(str(tmp_path / "small"), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})
    for i in range(10):
        small.set(f"k{i}", i, 60)
    monkeypatch.setattr(small, "_looked", 0.0)
    monkeypatch.setattr("reelm.core.cache.CULL_EVERY", 0.0)
    small.set("one-more", 1, 60)
    assert sum(small.get(f"k{i}") is not None for i in range(10)) == 5


def test_worker_threads_per_queue_fall_back_to_the_common_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REELM_WORKER_THREADS", raising=False)
    monkeypatch.delenv("REELM_WORKER_THREADS_TRANSCODE", raising=False)
    monkeypatch.delenv("REELM_WORKER_THREADS_RECOMMEND", raising=False)
    assert worker_threads("transcode") == 2
    monkeypatch.setenv("REELM_WORKER_THREADS", "3")
    assert worker_threads("transcode") == worker_threads("recommend") == 3
    monkeypatch.setenv("REELM_WORKER_THREADS_TRANSCODE", "1")
    assert worker_threads("transcode") == 1 and worker_threads("recommend") == 3
    monkeypatch.setenv("REELM_WORKER_THREADS_RECOMMEND", "0")
    with pytest.raises(ConfigError, match=r"^REELM_WORKER_THREADS_RECOMMEND \(or REELM_WORKER_THREADS\) must be 1"):
        worker_threads("recommend")
