"""The refit's vectorised parts against their plain definitions, and what the refit must leave alone."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.utils import timezone

from reelm.accounts.models import User
from reelm.events.models import WatchEvent
from reelm.recommend import ranker
from reelm.recommend import rebuild as rebuild_module
from reelm.recommend.models import CoEngagement, Taste, VideoSignal
from reelm.recommend.rebuild import _fill_cold, _Ids, _neighbours, rebuild
from reelm.videos.models import Hashtag, VideoHashtag
from tests.feed.conftest import account, video


def _interactions(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users of very different activity over 40 items, with repeats and labels on both sides of 0.6."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(80):
        seen = rng.choice(40, size=int(rng.integers(1, 15)), p=np.linspace(2, 1, 40) / np.linspace(2, 1, 40).sum())
        users += [user] * len(seen)
        items += list(seen)
    weights = rng.choice([0.2, 0.6, 0.9], size=len(users)).astype(np.float32)
    return np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), weights


def _defined(users: np.ndarray, items: np.ndarray, weights: np.ndarray, n_items: int, k: int) -> list[tuple]:
    """The definition, item by item on a dense matrix: by shared finishers, ties to the higher cosine, then the
    lower slot; the score is the cosine."""
    finished = np.zeros((int(users.max()) + 1, n_items), dtype=np.float32)
    finished[users[weights >= 0.6], items[weights >= 0.6]] = 1.0
    counts = finished.T @ finished
    norms = np.sqrt(finished.sum(axis=0))
    out = []
    for i in range(n_items):
        pairs = [(j, counts[i, j], counts[i, j] / (norms[i] * norms[j])) for j in range(n_items) if j != i]
        pairs = sorted((p for p in pairs if p[1] > 0), key=lambda p: (-p[1], -p[2], p[0]))[:k]
        out += [(i, j, float(score)) for j, _, score in pairs]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neighbours_equal_their_definition_across_blocks(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuild_module, "NEIGHBOURS", 5)  # most items have more candidates than that
    monkeypatch.setattr(rebuild_module, "PRODUCT_BUDGET", 60)  # many blocks, some of one item
    users, items, weights = _interactions(seed)
    rows, cols, scores = _neighbours(users, items, weights, 40)
    got = list(zip(rows.tolist(), cols.tolist(), scores.tolist(), strict=True))
    want = _defined(users, items, weights, 40, 5)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in want]
    assert np.allclose([s for *_, s in got], [s for *_, s in want], rtol=1e-6)


def test_neighbours_of_nothing_finished_are_none() -> None:
    users, items = np.array([0, 1]), np.array([0, 1])
    rows, cols, scores = _neighbours(users, items, np.array([0.1, 0.5], dtype=np.float32), 2)
    assert len(rows) == len(cols) == len(scores) == 0


@pytest.fixture
def creators(db: None) -> list[User]:
    return [account(f"creator{i}") for i in range(2)]


def test_the_refit_replaces_vectors_and_neighbours_but_keeps_counters_and_activity(creators: list[User]) -> None:
    a, b, c = video(creators[0]), video(creators[1]), video(creators[0])
    VideoSignal.objects.create(
        video=a, owner=creators[0], vector=b"\0" * 128, impressions=7, completions=3, skips=2, watched_ms=9000
    )
    fans = [account(f"fan{n}") for n in range(4)]
    idle = timezone.now() - timezone.timedelta(days=3)
    Taste.objects.create(owner=fans[0], vector=b"\0" * 128, impressions=11, interests=["cats"])
    Taste.objects.filter(owner=fans[0]).update(updated_at=idle)
    WatchEvent.objects.bulk_create(
        [
            WatchEvent(owner=fan, video=v, kind="complete", watched_ms=2000, duration_ms=2000)
            for fan in fans
            for v in (a, b)
        ]
    )
    CoEngagement.objects.create(video=a, neighbour=c, score=1.0)  # from an earlier refit
    report = rebuild()
    assert report.users == 4 and report.neighbour_pairs == 2
    signal = VideoSignal.objects.get(video=a)
    assert (signal.impressions, signal.completions, signal.skips, signal.watched_ms) == (7, 3, 2, 9000)
    assert signal.vector != b"\0" * 128
    assert VideoSignal.objects.filter(video__in=[b, c]).count() == 2  # created, with their owner
    assert VideoSignal.objects.get(video=b).owner_id == creators[1].id
    taste = Taste.objects.get(owner=fans[0])
    assert (taste.impressions, taste.interests, taste.updated_at) == (11, ["cats"], idle)
    assert taste.vector != b"\0" * 128
    assert Taste.objects.filter(owner__in=fans, vector__isnull=False).count() == 4
    pairs = {(v, n): s for v, n, s in CoEngagement.objects.values_list("video_id", "neighbour_id", "score")}
    assert pairs == {(a.id, b.id): pytest.approx(1.0), (b.id, a.id): pytest.approx(1.0)}


def test_cold_vectors_come_from_the_engaged_videos_of_their_hashtags(
    creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuild_module, "CHUNK", 3)
    tagging = [("cats",), ("cats", "dogs"), ("dogs",), ("cats",), ("dogs", "cats"), ("birds",), (), ("birds", "dogs")]
    videos = [video(creators[0]) for _ in tagging]
    for made, names in zip(videos, tagging, strict=True):
        for name in names:
            VideoHashtag.objects.create(
                owner=creators[0], video=made, hashtag=Hashtag.objects.get_or_create(name=name)[0]
            )
    vectors = np.random.default_rng(5).standard_normal((len(videos), ranker.DIM)).astype(np.float32)
    vectors[[2, 3, 4, 5, 6, 7]] = 0.0  # 0 and 1 engaged; "birds" has no engaged video
    ids = [v.id for v in videos]
    filled, cold = _fill_cold(ids, vectors.copy(), _Ids())
    assert cold == 6
    assert np.array_equal(filled[:2], vectors[:2])
    # The definition: the mean of the normalised sums of each hashtag's engaged vectors, then the video's own noise.
    sums = {"cats": vectors[0] + vectors[1], "dogs": vectors[1]}
    for i in range(2, len(videos)):
        hints = [ranker.normalise(sums[t]) for t in tagging[i] if t in sums]
        assert np.allclose(filled[i], ranker.cold_video_vector(ids[i].hex, hints), atol=1e-6)


def test_the_refit_rewrites_neighbours_in_place_so_the_source_never_goes_quiet(creators: list[User]) -> None:
    a, b, c = video(creators[0]), video(creators[1]), video(creators[0])
    fans = [account(f"fan{n}") for n in range(3)]
    WatchEvent.objects.bulk_create(
        [
            WatchEvent(owner=fan, video=v, kind="complete", watched_ms=2000, duration_ms=2000)
            for fan in fans
            for v in (a, b)
        ]
    )
    kept = CoEngagement.objects.create(video=a, neighbour=b, score=0.25)  # found again: its score is replaced
    stale = CoEngagement.objects.create(video=a, neighbour=c, score=1.0)  # not found again: removed at the end
    during: list[set[tuple[uuid.UUID, uuid.UUID]]] = []

    def progress(step: str, done: int, total: int) -> None:
        if step == "co-engagement":
            during.append(set(CoEngagement.objects.values_list("video_id", "neighbour_id")))

    rebuild(progress)
    assert during and all((a.id, c.id) in pairs for pairs in during), "the old pairs serve while the new are written"
    assert not CoEngagement.objects.filter(id=stale.id).exists()
    pairs = {
        (v, n): (i, s) for i, v, n, s in CoEngagement.objects.values_list("id", "video_id", "neighbour_id", "score")
    }
    assert set(pairs) == {(a.id, b.id), (b.id, a.id)}
    assert pairs[(a.id, b.id)] == (kept.id, pytest.approx(1.0)), "the same row, with the new score"
