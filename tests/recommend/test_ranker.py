"""The ranker's vectorised paths give what its one-row-at-a-time paths give."""

from __future__ import annotations

import random

import numpy as np

from reelm.recommend.ranker import Item, Items, Ranker, features


def _items(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    return [
        Item(
            source=rng.choice(["following", "similar", "co-engagement", "trending", "hashtags", "fresh"]),
            # a cosine a rounding error below -1 lands in bucket -1, as int() truncates
            cosine=rng.choice([rng.uniform(-1, 1), -1.0000001, 1.0, -0.95, 0.0]),
            completion_rate=rng.random(),
            impressions=rng.randint(0, 10**6),
            likes=rng.choice([0, rng.randint(0, 5000)]),
            # each bucket edge exactly, and either side of it
            age_hours=rng.choice([rng.uniform(0, 20_000), 0.0, 5.99, 6.0, 47.9, 48.0, 168.0, 168.1]),
            author_affinity=rng.random(),
            tag_affinity=rng.choice([0.0, rng.random()]),
            follows_author=rng.random() < 0.3,
            recent_completions=rng.randint(0, 200),
            trending_rank=rng.choice([None, 0, 9, 10, 29, 30, 99, 100, 399, 400, 12_000]),
            similar_recent=rng.choice([0.0, rng.uniform(0, 40)]),
        )
        for _ in range(n)
    ]


def _trained(items: list[Item]) -> Ranker:
    ranker = Ranker()
    rng = random.Random(7)
    ranker.learn([features(i) for i in items], [rng.random() for _ in items])
    return ranker


def test_encoding_items_a_column_at_a_time_matches_their_named_features() -> None:
    items = _items(600, seed=1)
    ranker = _trained(_items(300, seed=2))
    one_by_one = ranker._encode([features(i) for i in items])
    at_once = ranker.encode_items(items)
    for row in range(len(items)):
        assert _entries(one_by_one, row) == _entries(at_once, row), items[row]


def _entries(encoded: tuple[np.ndarray, np.ndarray], row: int) -> list[tuple[int, float]]:
    """One row's (slot, value) pairs, without the zero values that add nothing to a score."""
    index, value = encoded
    return sorted((int(s), round(float(v), 12)) for s, v in zip(index[row], value[row], strict=True) if v != 0)


def test_predicting_and_explaining_many_items_matches_one_at_a_time() -> None:
    items = _items(400, seed=3)
    ranker = _trained(_items(400, seed=4))
    rows = [features(i) for i in items]
    assert np.allclose(ranker.predict_items(items), ranker.predict(rows), rtol=0, atol=1e-12)
    assert ranker.explain_many(rows) == [ranker.explain(r) for r in rows]
    assert any(ranker.explain_many(rows)), "a trained ranker has reasons to give"
    assert ranker.predict_items([]).shape == (0,) and ranker.explain_many([]) == []


def test_items_as_columns_give_back_each_item_and_the_same_encoding() -> None:
    items = _items(300, seed=5)
    columns = Items.of(items)
    assert [columns.item(at) for at in range(len(items))] == items
    ranker = _trained(_items(200, seed=6))
    for row in range(len(items)):
        assert _entries(ranker.encode_items(items), row) == _entries(ranker.encode_items(columns), row)
    assert np.array_equal(ranker.predict_items(columns), ranker.predict_items(items))
