"""The recommender evaluation harness (bench/recsys): split hygiene, metrics, bootstrap, simulator, replay."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from recsys import data, metrics, offline, online, realtime
from recsys.experiment import BLEND_WEIGHTS, EXPERIMENTAL, REELM, run_offline, run_realtime, run_replay
from recsys.realtime import replay

from reelm.recommend import ranker as rm

TINY = data.SyntheticConfig(users=120, creators=30, videos=400, days=12, seed=3)


@pytest.fixture(scope="module")
def tiny() -> data.Dataset:
    return data.synthetic(TINY)


def test_temporal_split_keeps_the_future_out_of_training(tiny: data.Dataset) -> None:
    cutoff = 9 * data.DAY
    split = offline.temporal_split(tiny, tiny.log, cutoff)
    assert len(split.train) and split.train.time.max() < cutoff
    state = offline.State(tiny, split.train, cutoff)
    # every counter the models read is a count over the training log only
    assert state.impressions.sum() == len(split.train)
    assert state.completions.sum() == split.train.positive.sum()
    future_items = set(tiny.log.item[tiny.log.time >= cutoff].tolist()) - set(split.train.item.tolist())
    assert future_items and all(state.impressions[i] == 0 for i in future_items)
    assert not state.known[tiny.upload >= cutoff].any()
    seen = offline._seen_sets(split.train)
    for user, targets in zip(split.users.tolist(), split.targets, strict=True):
        assert all(tiny.upload[i] < cutoff and i not in seen[user] for i in targets)
    with pytest.raises(ValueError, match="past"):
        offline.State(tiny, tiny.log, cutoff)


def test_ranking_metrics_on_hand_checked_rankings() -> None:
    assert metrics.ndcg_at([1, 2, 3], {1, 3}, 10) == pytest.approx((1 + 1 / 2) / (1 + 1 / np.log2(3)))
    assert metrics.ndcg_at([3, 1, 2], {1, 3}, 10) == pytest.approx(1.0)
    assert metrics.ndcg_at([5, 6], {1}, 10) == 0.0
    assert metrics.ndcg_at([5, 1], {1}, 1) == 0.0
    assert metrics.recall_at([1, 2, 3, 4], {1, 4, 9}, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at([1, 2, 3, 4], {1, 4, 9}, 4) == pytest.approx(2 / 3)
    assert metrics.hit_at([7, 8], 8, 2) == 1.0 and metrics.hit_at([7, 8], 8, 1) == 0.0


def test_paired_bootstrap_covers_a_known_difference() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(400)  # large per-user spread, shared by both models
    a = base + 0.05 + rng.normal(0, 0.02, 400)
    ci = metrics.paired_bootstrap(a, base, draws=500)
    assert ci.low < 0.05 < ci.high and ci.excludes_zero()
    same = metrics.paired_bootstrap(base + rng.normal(0, 0.02, 400), base, draws=500)
    assert not same.excludes_zero()
    with pytest.raises(ValueError):
        metrics.paired_bootstrap(a, base[:10])


def test_synthetic_oracle_beats_random(tiny: data.Dataset) -> None:
    log, truth = tiny.log, tiny.truth
    assert truth is not None
    cutoff = 9 * data.DAY
    split = offline.temporal_split(tiny, log, cutoff)
    state = offline.State(tiny, split.train, cutoff)
    items = np.arange(tiny.n_items)
    oracle = offline.rank_by(state, split.users, lambda u: truth.affinity(u, items, cutoff, tiny.upload))
    rng = np.random.default_rng(0)
    random = offline.rank_by(state, split.users, lambda u: rng.random((len(u), tiny.n_items)))
    assert offline.evaluate(split, oracle)["recall@50"].mean() > 2 * offline.evaluate(split, random)["recall@50"].mean()
    # and the logged behaviour follows the truth: completed impressions had higher true affinity
    day0 = log.time < data.DAY
    aff = np.array(
        [
            truth.affinity(np.array([u]), np.array([i]), t, tiny.upload)[0, 0]
            for u, i, t in zip(log.user[day0], log.item[day0], log.time[day0], strict=True)
        ]
    )
    assert aff[log.positive[day0]].mean() > aff[~log.positive[day0]].mean() + 0.05


def test_next_event_updates_beat_a_frozen_day_for_a_drifting_user() -> None:
    """One user whose taste jumps from cluster A to cluster B at the split: within the day, only the model that
    updates after every event follows."""
    rng = np.random.default_rng(0)
    a, b = rm.normalise(rng.standard_normal((2, rm.DIM)))
    noise = rm.normalise(rng.standard_normal((52, rm.DIM)))
    items = rm.normalise(np.vstack([a + 0.5 * noise[:40], b + 0.5 * noise[40:]]))  # 40 A items, 12 B items
    n = len(items)
    order = rng.permutation(np.arange(40, 52))[:10]  # the user completes B items, one a minute, on one day
    test = data.Log(
        user=np.zeros(10, dtype=np.int64),
        item=order,
        time=10 * data.DAY + 60.0 * np.arange(10),
        label=np.full(10, 0.9, dtype=np.float32),
        positive=np.ones(10, dtype=bool),
        liked=np.zeros(10, dtype=bool),
        followed=np.zeros(10, dtype=bool),
    )
    ds = data.Dataset(
        "toy", test, 1, n, np.full(n, -1), [np.zeros(0, dtype=np.int64)] * n, 0, np.zeros(n), np.full(n, 10_000)
    )
    result = replay(ds, test, np.array([0]), a[None, :], items, {})
    assert result.rate("frozen") == 0.0
    assert result.rate("next-event") > 0.5
    # one rank per completion predicted, and updating ranks the next one higher
    assert all(len(result.ranks[name]) == 10 for name in ("next-event", "frozen"))
    assert result.median_rank("next-event") < result.median_rank("frozen") and result.log_rank_gain() > 0


def test_synthetic_tastes_stay_sparse_while_they_drift() -> None:
    """Each day's taste is Dirichlet(0.15) (a handful of topics), yet six weeks change most of it. Mixing in a fresh
    Dirichlet draw every day instead averages them into a flat taste (about 22 effective topics of 24 by day 42)."""
    cfg = data.SyntheticConfig(users=300, days=42)
    taste = data._taste_paths(cfg, np.random.default_rng(0))
    assert np.allclose(taste.sum(axis=2), 1.0)

    def effective_topics(t: np.ndarray) -> float:
        return float(np.exp(-(t * np.log(np.where(t > 0, t, 1.0))).sum(axis=1)).mean())

    first, last = taste[:, 0], taste[:, -1]
    assert effective_topics(first) < 8 and effective_topics(last) < 8
    assert last.max(axis=1).mean() > 0.3  # a favourite topic, still
    assert 0.5 * np.abs(last - first).sum(axis=1).mean() > 0.5  # most of the taste has moved
    assert 0.05 < 0.5 * np.abs(taste[:, 1:] - taste[:, :-1]).sum(axis=2).mean() < 0.2  # a little every day


def test_replay_measures_another_update_baseline_exactly() -> None:
    """``baseline`` is ranker.py's ``user_update`` centred elsewhere (a proposed LABEL_BASELINE), measured by shifting
    the label; without it, the replay and the simulation run ranker.py's update unchanged."""
    rng = np.random.default_rng(1)
    user, *videos = rm.normalise(rng.standard_normal((4, rm.DIM)))
    labels = [0.05, 0.3, 0.9]
    assert np.allclose(realtime.update(user, videos[0], 0.3), rm.user_update(user, videos[0], 0.3))
    moved = realtime.update(user, videos[0], 0.3, rate=0.6, baseline=0.1)
    assert np.allclose(moved, rm.normalise(user + 0.6 * (0.3 - 0.1) * videos[0]), atol=1e-6)
    expected = user
    for v, y in zip(videos, labels, strict=True):
        expected = rm.normalise(expected + 0.6 * (y - 0.1) * v)
    assert np.allclose(
        realtime.update_many(user, np.stack(videos), labels, rate=0.6, baseline=0.1), expected, atol=1e-6
    )
    assert np.allclose(realtime.update_many(user, np.stack(videos), labels), rm.user_update_many(user, videos, labels))


SMALL = data.SyntheticConfig(users=60, creators=15, videos=200, days=10, seed=4)
SMALL_GRID = {"factors": [16], "regularization": [0.1], "iterations": [5], "alpha": [10.0]}


def _tiny_offline(**options: Any) -> Any:
    """A small synthetic offline run: fast enough for a test, big enough to rank and choose."""
    return run_offline(
        data.synthetic(SMALL),
        cutoff=8 * data.DAY,
        val_cutoff=6 * data.DAY,
        als_grid=SMALL_GRID,
        reelm_grid={**SMALL_GRID, "factors": [rm.DIM]},
        max_users=25,
        draws=100,
        **options,
    )


def test_only_realtime_replays_what_the_full_run_replays() -> None:
    """``--only-realtime`` skips the baselines and Rankers, but replays the same users from the same vectors; the
    validation replay (``--realtime-grid``) stays before the test cutoff."""
    off = _tiny_offline(variants=("features()",))
    small = data.synthetic(SMALL)
    grid = {**SMALL_GRID, "factors": [rm.DIM]}
    rt = run_realtime(small, cutoff=8 * data.DAY, val_cutoff=6 * data.DAY, reelm_grid=grid, max_users=25)
    assert np.array_equal(rt.split.users, off.split.users) and np.array_equal(rt.val.users, off.val.users)
    assert np.allclose(rt.vectors.users, off.vectors.users, atol=1e-5)
    assert np.allclose(rt.vectors.items, off.vectors.items, atol=1e-5)
    full, only = run_replay(small, off), run_replay(small, rt)
    assert all(np.array_equal(full.hits[k], only.hits[k]) for k in full.hits)
    assert np.array_equal(full.trials, only.trials) and full.trials.sum() > 0
    assert rt.val.end == rt.split.cutoff  # the validation replay ends where the test period starts
    assert run_replay(small, rt, validation=True, baseline=0.1).trials.sum() > 0


def test_quick_offline_run_ranks_only_unseen_known_items() -> None:
    off = _tiny_offline()
    n = len(off.split.users)
    assert n > 10 and all(len(v["ndcg@10"]) == n for v in off.scores.values())
    user = int(off.split.users[0])
    ranked = off.pipeline.rank(off.ranker, user)
    assert ranked and off.state.known[ranked].all()
    assert not set(ranked) & set(off.split.train.item[off.split.train.user == user].tolist())
    assert off.ranker.examples > 0
    assert np.isfinite(off.difference("ndcg@10").mean)
    assert off.scores["oracle (true affinity)"]["recall@50"].mean() >= off.scores["most-popular"]["recall@50"].mean()
    assert REELM in off.scores
    assert off.blend in BLEND_WEIGHTS and off.pipeline.blend == off.blend


def test_blend_moves_from_the_rankers_order_to_recent_popularity() -> None:
    scores = np.array([0.9, 0.5, 0.1])
    recent = np.array([0, 10, 1000])
    assert np.argsort(-rm.blend(scores, recent, 0.0)).tolist() == [0, 1, 2]  # weight 0: the Ranker's order
    assert np.argsort(-rm.blend(scores, recent, 8.0)).tolist() == [2, 1, 0]  # a large weight: the trending order


def test_personalised_trending_weighs_recent_completers_by_taste() -> None:
    me = np.zeros(rm.DIM, dtype=np.float32)
    me[0] = 1.0
    other = np.zeros(rm.DIM, dtype=np.float32)
    other[1] = 1.0
    audience = rm.recent_audience(np.stack([me, me, other, -me]))  # two like me, one unrelated, one opposite
    assert rm.similar_recent(me, audience) == pytest.approx(1.0)
    assert rm.similar_recent(-me, audience) == 0.0  # floored: never below nobody
    assert rm.similar_recent(None, audience) == 0.0
    plain = rm.Item("similar", 0.5, 0.5, 10, 1, 3.0, author_affinity=0.0, tag_affinity=0.0, follows_author=False)
    assert "similar_recent" not in dict(rm.features(plain))  # the product's rows are unchanged while it stays 0
    scores, recent = np.array([0.9, 0.5]), np.array([0, 10])
    assert np.array_equal(rm.blend(scores, recent, 1.0), rm.blend(scores, recent, 1.0, None))
    assert np.argsort(-rm.blend(scores, recent, 1.0, np.array([50.0, 0.0]))).tolist() == [0, 1]


def test_an_experimental_set_up_is_measured_but_never_called_reelm() -> None:
    off = _tiny_offline(variants=("features()", *EXPERIMENTAL))
    assert off.variant == "features()"
    assert any(name.startswith("not in the product") for name in off.scores)


def test_a_new_accounts_vector_is_first_updated_from_the_chosen_start() -> None:
    """The simulation's new accounts have no vector, so no nearest neighbours, until their first page is learned;
    that first update starts from ``start`` (as ``learning.learn`` does), and later ones from where it left them."""
    off = _tiny_offline(variants=("features()",))
    ds = off.state.ds
    user = int(off.split.users[0])
    state = offline.State(ds, ds.log, float(ds.log.time.max()) + 1)
    pipe = offline.Pipeline(state, offline.Vectors(off.vectors.users.copy(), off.vectors.items), per_source=20)
    assert "ann" in pipe.candidates(user, pipe.vectors.users[user]).sources
    origin = online._origins(state, pipe, "random", [user])[user]
    assert np.isclose(np.linalg.norm(origin), 1.0)
    assert not online._origins(state, pipe, "none", [user])[user].any()
    popular = online._origins(state, pipe, "popular", [user, user + 1])
    assert np.isclose(np.linalg.norm(popular[user]), 1.0) and np.array_equal(popular[user], popular[user + 1])
    pipe.vectors.users[user] = 0
    feeds = online._Feeds(ds, state, pipe, off.ranker, np.array([user]), {}, {user: origin})
    assert "ann" not in pipe.candidates(user, feeds.vec[user]).sources
    items, _ = feeds.reelm_page(user)
    labels = [0.9, 0.0, 0.5] + [0.2] * (len(items) - 3)
    feeds.record(user, items, labels, np.array(labels) >= 0.7, learn=True)
    first = rm.user_update_many(origin, pipe.vectors.items[items], labels)
    assert np.allclose(feeds.vec[user], first, atol=1e-6)
    assert "ann" in pipe.candidates(user, feeds.vec[user]).sources
    more, _ = feeds.reelm_page(user)
    feeds.record(user, more, [0.9] * len(more), np.ones(len(more)), learn=True)
    assert np.allclose(
        feeds.vec[user], rm.user_update_many(first, pipe.vectors.items[more], [0.9] * len(more)), atol=1e-6
    )


def test_top_k_breaks_ties_by_item_id_and_skips_excluded_items() -> None:
    from recsys.offline import top_k

    scores = np.array([1.0, 3.0, 1.0, 3.0, 2.0, 1.0, 1.0])
    excluded = np.array([False, False, False, True, False, False, False])
    assert top_k(scores, excluded, 4) == [1, 4, 0, 2]
    assert top_k(scores, None, 3) == [1, 3, 4]
    # Never more than the items left.
    assert top_k(scores, np.ones(7, dtype=bool), 5) == []
