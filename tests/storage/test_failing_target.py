"""Serving while the store a realm migrates to fails: a process without the target's credentials, a target server
that dies mid-migration. Media keep coming from the old store, fast, and writes keep succeeding.

Real stores only: the old store is local disk, the target a real SeaweedFS (the session's shared one, or one of the
test's own that the test kills). Calls that reach the target are counted through the circuit breaker's records.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reelm.storage import breaker as breaker_module
from reelm.storage import registry
from reelm.storage.base import ObjectNotFound, ObjectStore, StorageError
from reelm.storage.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, breaker_for
from reelm.storage.models import StoreConfig, StorePhase
from reelm.storage.registry import media_store
from reelm.storage.routing import forget_routes
from tests.conftest import make_clip
from tests.storage.servers import Server, running, store_url

pytestmark = pytest.mark.django_db

#: Requests per run; enough that p99 is not decided by one or two requests.
REQUESTS = 600


# --- helpers -----------------------------------------------------------------------------------------------------


class Tally:
    """Counts, per store URL, the calls each breaker let through and the failures reported to it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.let_through: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        allow, failed = Breaker.allow, Breaker.failed

        def counting_allow(breaker: Breaker) -> bool:
            allowed = allow(breaker)
            if allowed:
                self.let_through[breaker.name] += 1
            return allowed

        def counting_failed(breaker: Breaker, error: object = None) -> None:
            self.failures[breaker.name] += 1
            failed(breaker, error)

        monkeypatch.setattr(Breaker, "allow", counting_allow)
        monkeypatch.setattr(Breaker, "failed", counting_failed)


def migrating_to(target_url: str, phase: str = StorePhase.MIGRATING) -> None:
    """Put the default realm in ``phase`` towards ``target_url``, as ``reelm storage migrate`` records it."""
    old_url = media_store().url
    primary, other = (old_url, target_url) if phase == StorePhase.MIGRATING else (target_url, old_url)
    StoreConfig.objects.create(primary_url=primary, other_url=other, phase=phase, changed_at=timezone.now())
    forget_routes()


def content(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def playlist_uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


MediaRequest = tuple[str, dict[str, str]]


def media_requests(video_id: str) -> list[MediaRequest]:
    """What a player fetches: playlists, every segment, a range of the MP4, the poster."""
    base = f"/media/videos/{video_id}/"
    client = Client()
    requests: list[MediaRequest] = [(base + "hls/master.m3u8", {})]
    for playlist in playlist_uris(content(client.get(base + "hls/master.m3u8")).decode()):
        folder = playlist.rsplit("/", 1)[0]
        requests.append((f"{base}hls/{playlist}", {}))
        segments = playlist_uris(content(client.get(f"{base}hls/{playlist}")).decode())
        requests += [(f"{base}hls/{folder}/{segment}", {}) for segment in segments]
    requests += [(base + "video.mp4", {"Range": "bytes=1000-70999"}), (base + "poster.jpg", {})]
    return requests


def play(requests: list[MediaRequest], expected: dict[str, bytes], count: int) -> tuple[list[float], list[str]]:
    """``count`` requests, cycling through ``requests``: each one's latency in seconds, and what went wrong."""
    client, latencies, failures = Client(), [], []
    for index in range(count):
        path, headers = requests[index % len(requests)]
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        body = content(response)
        latencies.append(time.perf_counter() - started)
        if response.status_code not in (200, 206) or body != expected[path]:
            failures.append(f"{path}: {response.status_code} {body[:100]!r}")
    return latencies, failures


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "short.mp4", duration=2)


@pytest.fixture
def video_id(api: Client, upload: Callable[..., Any], short_clip: Path) -> str:
    """A public video transcoded into the old store (local disk), before any migration."""
    response = upload(api, short_clip, visibility="public")
    assert response.status_code == 201, response.content
    assert api.get(f"/api/videos/{response.json()['id']}").json()["state"] == "ready"
    return str(response.json()["id"])


@pytest.fixture
def played(video_id: str) -> tuple[list[MediaRequest], dict[str, bytes]]:
    """The video's media requests and the bytes each must return, as served from the old store alone."""
    requests = media_requests(video_id)
    client = Client()
    expected = {path: content(client.get(path, headers=headers)) for path, headers in requests}
    assert len(requests) >= 5 and all(expected.values())
    return requests, expected


@pytest.fixture
def own_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A SeaweedFS of this test's own (the test kills it), with its credentials in the environment."""
    workdir = tmp_path / "own-s3"
    workdir.mkdir()
    with running("s3", workdir) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server


def copy_all(source: ObjectStore, target: ObjectStore) -> int:
    """Copy every object, as the migration's copier would have by now."""
    keys = [info.key for info in source.list("")]
    for key in keys:
        target.put(key, source.read_bytes(key))
    return len(keys)


# --- a process that cannot use the target -----------------------------------------------------------------------


def test_a_process_without_the_targets_credentials_keeps_serving_from_the_old_store(
    played: tuple[list[MediaRequest], dict[str, bytes]],
    storage_servers: Callable[[str], Server],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests, expected = played
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    target_url = store_url("s3", storage_servers("s3"), "no-credentials", Path("/"))
    migrating_to(target_url)
    monkeypatch.setattr(breaker_module, "COOLDOWN_SECONDS", 60.0)  # no trial call during the test
    tally = Tally(monkeypatch)

    failures = play(requests, expected, 3 * len(requests))[1]
    assert failures == [], failures
    # Served through signed URLs where they exist: the target cannot sign, the local old store serves instead.
    settings.REELM_MEDIA_DIRECT_ORIGINS = ["http://127.0.0.1:1"]
    assert play(requests, expected, len(requests))[1] == []

    assert breaker_for(target_url).state == OPEN
    assert tally.let_through[target_url] == breaker_module.FAILURES_TO_OPEN  # then skipped, not tried per request
    opened = [r for r in caplog.records if "calls in a row" in r.getMessage() and target_url in r.getMessage()]
    assert len(opened) == 1, [r.getMessage() for r in caplog.records]

    # Writes succeed (the old store is authoritative while migrating); a delete that cannot reach the target
    # deletes nothing, so nothing could come back from the target later.
    store, old = media_store(), registry._cached(settings.REELM_STORAGE_URL)
    store.put("exports/during.bin", b"written while the target is unusable")
    assert old.read_bytes("exports/during.bin") == b"written while the target is unusable"
    with pytest.raises(StorageError, match="nothing was deleted"):
        store.delete("exports/during.bin")
    assert old.exists("exports/during.bin") and store.exists("exports/during.bin")


def test_after_the_switch_an_unusable_primary_is_an_error_not_a_missing_object(
    storage_servers: Callable[[str], Server], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Switched, the old store lacks what was written since: only the primary can say an object is missing."""
    old = registry._cached(settings.REELM_STORAGE_URL)
    old.put("videos/v1/poster.jpg", b"copied before the switch")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    migrating_to(store_url("s3", storage_servers("s3"), "switched", Path("/")), StorePhase.SWITCHED)
    store = media_store()

    assert store.read_bytes("videos/v1/poster.jpg") == b"copied before the switch"
    assert store.exists("videos/v1/poster.jpg")
    with pytest.raises(StorageError) as raised:
        store.head("videos/v2/poster.jpg")
    assert not isinstance(raised.value, ObjectNotFound)
    with pytest.raises(StorageError) as raised_exists:
        store.exists("videos/v2/poster.jpg")
    assert not isinstance(raised_exists.value, ObjectNotFound)
    with pytest.raises((StorageError, ValueError)):  # writes go to the primary only, and fail loudly
        store.put("videos/v2/poster.jpg", b"new")
    assert not old.exists("videos/v2/poster.jpg")


def test_after_the_switch_a_missing_object_costs_the_primary_one_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target_url = (tmp_path / "target").as_uri()
    migrating_to(target_url, StorePhase.SWITCHED)
    tally = Tally(monkeypatch)
    with pytest.raises(ObjectNotFound):
        media_store().head("videos/v9/poster.jpg")
    assert not media_store().exists("videos/v9/poster.jpg")
    assert tally.let_through[target_url] == 2 and tally.failures[target_url] == 0


# --- a target that dies ------------------------------------------------------------------------------------------


def test_a_dead_target_costs_little_and_no_request_fails(
    played: tuple[list[MediaRequest], dict[str, bytes]],
    own_s3: Server,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    tmp_path: Path,
) -> None:
    requests, expected = played
    target_url = store_url("s3", own_s3, "reelm", tmp_path)
    copied = copy_all(registry._cached(settings.REELM_STORAGE_URL), registry._cached(target_url))
    migrating_to(target_url)
    monkeypatch.setattr(breaker_module, "COOLDOWN_SECONDS", 60.0)  # no trial call during the measured runs
    tally = Tally(monkeypatch)

    healthy, failures = play(requests, expected, REQUESTS)
    assert failures == [], failures
    # Every read was answered by the target: a head and a stream per request.
    assert tally.let_through[target_url] == 2 * REQUESTS and tally.failures[target_url] == 0

    own_s3.stop()
    before = tally.let_through[target_url]
    dead, failures = play(requests, expected, REQUESTS)
    assert failures == [], failures
    reached_dead_store = tally.let_through[target_url] - before
    assert breaker_for(target_url).state == OPEN
    assert reached_dead_store == breaker_module.FAILURES_TO_OPEN, reached_dead_store
    assert tally.failures[target_url] == reached_dead_store

    healthy_p99, dead_p99 = p99(healthy), p99(dead)
    print(
        f"\n{copied} objects; {REQUESTS} requests each run; p99 healthy {healthy_p99 * 1000:.1f} ms, "
        f"dead target {dead_p99 * 1000:.1f} ms (max {max(dead) * 1000:.1f} ms); "
        f"calls that reached the dead store: {reached_dead_store}"
    )
    assert dead_p99 <= 2 * healthy_p99

    # Half-open: after the cooldown exactly one trial call goes to the store; it fails, and the breaker opens again.
    monkeypatch.setattr(breaker_module, "COOLDOWN_SECONDS", 0.2)
    time.sleep(0.25)
    assert play(requests, expected, 5)[1] == []
    assert tally.let_through[target_url] - before == reached_dead_store + 1
    assert breaker_for(target_url).state == OPEN


def test_writes_while_migrating_to_a_dead_target_succeed_quickly(
    own_s3: Server, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path
) -> None:
    target_url = store_url("s3", own_s3, "reelm", tmp_path)
    migrating_to(target_url)
    store, old, target = media_store(), registry._cached(settings.REELM_STORAGE_URL), registry._cached(target_url)
    store.put("videos/v1/healthy.bin", b"mirrored")
    assert target.read_bytes("videos/v1/healthy.bin") == b"mirrored"
    tally = Tally(monkeypatch)

    own_s3.stop()
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"u" * 300_000)
    started = time.perf_counter()
    for index in range(20):
        store.put(f"videos/v1/seg_{index:05d}.ts", b"s" * 50_000)
        store.put(f"videos/v1/stream_{index}.bin", iter([b"a" * 1000, b"b" * 1000]))
        store.put_file(f"originals/v{index}/source.mp4", upload)
        store.copy(f"videos/v1/seg_{index:05d}.ts", f"videos/v1/copy_{index}.ts")
    seconds = time.perf_counter() - started
    print(f"\n80 writes while the target is dead: {seconds:.2f} s; calls that reached it: {tally.let_through}")

    assert old.read_bytes("videos/v1/seg_00019.ts") == b"s" * 50_000
    assert old.read_bytes("videos/v1/stream_7.bin") == b"a" * 1000 + b"b" * 1000
    assert old.checksum("originals/v3/source.mp4") == registry.store_from_url(upload.parent.as_uri()).checksum(
        "upload.bin"
    )
    assert old.read_bytes("videos/v1/copy_19.ts") == b"s" * 50_000
    assert store.read_bytes("videos/v1/copy_19.ts") == b"s" * 50_000  # and reads fall back meanwhile
    assert tally.let_through[target_url] == breaker_module.FAILURES_TO_OPEN
    assert seconds < 5, seconds


# --- the breaker's state machine -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_after_the_cooldown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    breaker = Breaker("s3://videos/x", clock=clock, failures_to_open=3, cooldown=5.0)
    assert breaker.state == CLOSED and breaker.allow()

    breaker.failed("refused")
    breaker.failed("refused")
    breaker.succeeded()  # a success breaks the streak: failures must be consecutive
    breaker.failed("refused")
    breaker.failed("refused")
    assert breaker.state == CLOSED and breaker.allow()
    breaker.failed("refused")
    assert breaker.state == OPEN
    assert not any(breaker.allow() for _ in range(100))  # skipped at once while open

    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()  # the one trial call
    assert breaker.state == HALF_OPEN
    assert not breaker.allow()  # only one at a time
    breaker.failed("still refused")
    assert breaker.state == OPEN and not breaker.allow()

    clock.now += 5.0
    assert breaker.allow() and breaker.state == HALF_OPEN
    breaker.succeeded()
    assert breaker.state == CLOSED
    assert all(breaker.allow() for _ in range(10))

    messages = [r.getMessage() for r in caplog.records if r.name == "reelm.storage.breaker"]
    assert len(messages) == 5, messages  # open, half-open, open again, half-open, closed: once each
    assert "3 calls in a row to s3://videos/x failed (refused)" in messages[0]
    assert "answers again" in messages[-1]


def test_a_trial_that_never_reports_back_is_replaced_after_a_cooldown() -> None:
    clock = FakeClock()
    breaker = Breaker("az://media", clock=clock, failures_to_open=1, cooldown=2.0)
    breaker.failed()
    clock.now += 2.0
    assert breaker.allow()  # the trial's caller never reports (its thread died, or the call was invalid)
    clock.now += 1.0
    assert not breaker.allow()
    clock.now += 1.0
    assert breaker.allow()


def test_half_open_lets_exactly_one_of_many_threads_through() -> None:
    clock = FakeClock()
    breaker = Breaker("gs://media", clock=clock, failures_to_open=1, cooldown=1.0)
    breaker.failed()
    clock.now += 1.0
    start, results = threading.Barrier(32), []

    def ask() -> None:
        start.wait()
        results.append(breaker.allow())

    threads = [threading.Thread(target=ask) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_the_module_settings_apply_to_breakers_made_without_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(breaker_module, "FAILURES_TO_OPEN", 2)
    monkeypatch.setattr(breaker_module, "COOLDOWN_SECONDS", 0.05)
    breaker = breaker_for("s3://videos/settings")
    assert breaker is breaker_for("s3://videos/settings")
    breaker.failed()
    breaker.failed()
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()


def test_not_found_in_the_target_is_an_answer_for_its_breaker(settings: Any, tmp_path: Path) -> None:
    """Reads of objects not copied yet find nothing in the target: that is the store working, not failing."""
    old = registry._cached(settings.REELM_STORAGE_URL)
    old.put("videos/v1/poster.jpg", b"only in the old store")
    target_url = (tmp_path / "target").as_uri()
    migrating_to(target_url)
    breaker = breaker_for(target_url)
    breaker.failed("a blip")
    breaker.failed("a blip")
    for _ in range(5):
        assert media_store().read_bytes("videos/v1/poster.jpg") == b"only in the old store"
    breaker.failed("a blip")
    assert breaker.state == CLOSED  # the not-found answers reset the streak
