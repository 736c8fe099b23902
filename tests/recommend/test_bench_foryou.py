"""bench/foryou.py's seeding at a tiny size: the vectors it writes are what the recommender expects (unit length,
clustered by topic), every account gets a taste near its favourite topics, and the events and co-engagement it
writes are consistent with the videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import foryou

pytestmark = pytest.mark.django_db


def test_clustered_vectors_are_unit_length_and_near_their_centroid() -> None:
    rng = np.random.default_rng(3)
    centroids = foryou.topic_centroids(rng, 10)
    topic_of = rng.integers(0, 10, size=2000)
    vectors = foryou.clustered_vectors(rng, centroids, topic_of)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = vectors @ centroids.T
    own = cosines[np.arange(len(topic_of)), topic_of]
    assert 0.7 < own.mean() < 0.9
    others = np.ma.masked_array(cosines, mask=np.eye(10, dtype=bool)[topic_of])
    assert abs(others.mean()) < 0.1
    # The nearest centroid is the video's own topic almost always (what makes nearest-neighbour search realistic).
    assert (cosines.argmax(axis=1) == topic_of).mean() > 0.95


def test_user_vectors_lean_to_their_favourite_topics() -> None:
    rng = np.random.default_rng(4)
    centroids = foryou.topic_centroids(rng, 20)
    favourites = foryou.favourite_topics(rng, 500, 20)
    assert all(1 <= len(f) <= 3 and len(set(f)) == len(f) for f in favourites)
    users = foryou.user_vectors(rng, centroids, favourites)
    assert np.allclose(np.linalg.norm(users, axis=1), 1.0, atol=1e-5)
    best = [max(float(users[i] @ centroids[t]) for t in f) for i, f in enumerate(favourites)]
    rest = [
        float(np.mean([users[i] @ centroids[t] for t in range(20) if t not in f])) for i, f in enumerate(favourites)
    ]
    assert np.mean(best) > 0.5 > np.mean(rest) + 0.4


def test_seeding_writes_consistent_recommender_rows() -> None:
    from django.utils import timezone

    from reelm.accounts.services import token_authenticate
    from reelm.events.models import WatchEvent
    from reelm.recommend.models import CoEngagement, Taste, VideoSignal
    from reelm.recommend.ranker import vector_from
    from reelm.videos.models import Video, VideoHashtag

    args = argparse.Namespace(
        videos=1500, accounts=250, sample_users=4, likes=100, comments=20, seed=5, events_per_user=10, topics=8
    )
    tokens = foryou.seed(args)
    info = foryou.seed_recommender(args, tokens)

    assert [token_authenticate(t).id.hex for t in tokens] == info["users"]
    signals = dict(VideoSignal.objects.values_list("video_id", "vector"))
    assert len(signals) == Video.objects.count() == 1500
    vectors = {v: vector_from(d) for v, d in signals.items()}
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors.values())

    # Videos are clustered by their first hashtag (their topic): closer to their own topic's mean than to others.
    topic: dict = {}
    for video_id, name in VideoHashtag.objects.order_by("id").values_list("video_id", "hashtag__name"):
        topic.setdefault(video_id, name)
    names = sorted(set(topic.values()))
    assert len(names) == 8
    means = {n: np.mean([vectors[v] for v, t in topic.items() if t == n], axis=0) for n in names}
    means = {n: m / np.linalg.norm(m) for n, m in means.items()}
    nearest = [max(names, key=lambda n, v=v: float(vectors[v] @ means[n])) == t for v, t in topic.items()]
    assert np.mean(nearest) > 0.9

    tastes = {o: t for o, t in ((t.owner_id, t) for t in Taste.objects.all())}
    assert len(tastes) == 250
    for taste in tastes.values():
        vector = vector_from(taste.vector)
        assert vector is not None and abs(np.linalg.norm(vector) - 1) < 1e-5
        assert taste.tag_affinity and set(taste.tag_affinity) <= set(names)
        liked = max(float(vector @ means[n]) for n in taste.tag_affinity)
        assert liked > np.mean([float(vector @ means[n]) for n in names])

    events = list(WatchEvent.objects.values_list("video_id", "created_at", "kind"))
    assert events and {k for _, _, k in events} <= {"impression", "complete", "watch", "skip"}
    created = dict(Video.objects.values_list("id", "created_at"))
    assert all(created[v] <= at <= timezone.now() for v, at, _ in events)
    recent = WatchEvent.objects.filter(created_at__gte=timezone.now() - timezone.timedelta(minutes=1))
    assert not recent.exists()  # the events API's per-minute limit stays clear for the benchmark's own events

    pairs = list(CoEngagement.objects.values_list("video_id", "neighbour_id"))
    assert pairs and len(pairs) == info["co_engagement"]
    assert all(v != n and topic[v] == topic[n] for v, n in pairs)

    languages = foryou.assign_languages(args.seed)
    assert sum(languages.values()) == 1500 and set(languages) <= set(foryou.LANGUAGE_SHARES) | {"none"}
    owners_language = {}
    for owner, code in Video.objects.values_list("owner_id", "language"):
        assert owners_language.setdefault(owner, code) == code, "a creator's videos share their language"
    for taste in Taste.objects.all():
        assert 1 <= len(taste.languages) <= 2 or owners_language.get(taste.owner_id, "") == ""
        assert owners_language.get(taste.owner_id) in (None, "", taste.languages[0] if taste.languages else None)


def test_phase_means_split_a_slow_page_into_its_phases_and_time_outside_django() -> None:
    from feed_web import Measured

    endpoint = foryou.FOR_YOU
    # 100 pages: 99 quick ones (10 ms, 8 in Django), one slow one whose extra time is in "score".
    latencies = [0.010] * 99 + [0.050]
    quick = {"auth": 1.0, "score": 3.0, "rows": 2.0, "app": 8.0}
    slow = {"auth": 1.0, "score": 40.0, "rows": 2.0, "app": 45.0}
    m = Measured(endpoint, latencies, 1.0, {}, 0, [quick] * 99 + [slow], [*range(99), 7])
    worst = foryou.phase_means(m, 0.99, 1.0)
    assert worst["pages"] == 1
    assert worst["client"] == pytest.approx(50.0)
    assert worst["score"] == pytest.approx(40.0) and worst["outside"] == pytest.approx(5.0)
    assert worst["rest"] == pytest.approx(2.0) and worst["gather"] == 0.0
    middle = foryou.phase_means(m, 0.45, 0.55)
    assert middle["pages"] == 10 and middle["score"] == pytest.approx(3.0) and middle["outside"] == pytest.approx(2.0)
    # Pages as slow as each other with different phases are no problem.
    tied = Measured(endpoint, [0.01, 0.01], 1.0, {}, 0, [{"app": 4.0}, {"app": 6.0}], [0, 1])
    assert foryou.phase_means(tied, 0.0, 1.0)["app"] == pytest.approx(5.0)
    # Pages without a Server-Timing header are left out, not counted as zero.
    untimed = Measured(endpoint, [0.01, 0.02], 1.0, {}, 0, [None, None], [0, 1])
    assert foryou.phase_means(untimed, 0.0, 1.0) == {}
    viewers = foryou.slow_viewers(m)
    assert viewers["slow_pages"] == 1 and viewers["viewers"] == 1
    assert viewers["their_other_pages"] == 1 and viewers["their_other_p50"] == pytest.approx(10.0)


def test_measurements_of_several_rounds_merge_with_their_timings() -> None:
    from feed_web import Measured

    a = Measured(foryou.FOR_YOU, [0.01], 1.0, {"200": 1}, 0, [{"app": 5.0}], [3])
    b = Measured(foryou.FOR_YOU, [0.02, 0.03], 2.0, {"200": 2}, 1, [None, {"app": 6.0}], [4, 5])
    merged = Measured.merged([a, b])
    assert merged.latencies == [0.01, 0.02, 0.03] and merged.timings == [{"app": 5.0}, None, {"app": 6.0}]
    assert merged.viewers == [3, 4, 5] and merged.wall == 3.0 and merged.statuses == {"200": 3} and merged.errors == 1


def test_the_slowest_freshness_trial_is_printed_with_its_phases(capsys: pytest.CaptureFixture[str]) -> None:
    quick = foryou.Trial(8.0, 8.0, 20.0, 1, False, {"store": 2.0, "app": 6.0}, {"app": 9.0})
    slow = foryou.Trial(130.0, 130.0, 145.0, 1, False, {"store": 120.0, "learn": 5.0, "app": 128.0}, None)
    lost = foryou.Trial(5.0, None, None, 1, True)
    foryou.print_slowest_trial([quick, slow, lost])
    printed = " ".join(capsys.readouterr().out.split())
    assert "gone after 145.0 ms, POST 130.0 ms (store 120.0, learn 5.0, app 128.0)" in printed
    assert "no Server-Timing" in printed
