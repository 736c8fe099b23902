"""Ranking metrics per user (binary relevance) and the paired bootstrap over users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def recall_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    """Share of the user's relevant items found in the top ``k``."""
    if not relevant:
        return 0.0
    return len(set(list(ranked)[:k]) & relevant) / len(relevant)


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    """Binary-relevance NDCG@k: DCG of the ranking over the DCG of a perfect one (min(|relevant|, k) hits on top)."""
    if not relevant:
        return 0.0
    gains = [1.0 / np.log2(i + 2) for i, item in enumerate(list(ranked)[:k]) if item in relevant]
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(len(relevant), k)))
    return float(sum(gains) / ideal)


def hit_at(ranked: Sequence[int], target: int, k: int) -> float:
    return float(target in list(ranked)[:k])


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:.4f} [{self.low:.4f}, {self.high:.4f}]"


def bootstrap(values: np.ndarray, *, draws: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap CI of a mean over users."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return Interval(float(values.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, draws: int = 1000, seed: int = 0) -> Interval:
    """CI of mean(a - b) where a[i] and b[i] are the same user's metric under two models: resampling users (not
    the two models independently) keeps the per-user correlation, so the interval is as tight as it honestly can
    be."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("paired metrics need one value per user for both models")
    return bootstrap(a - b, draws=draws, seed=seed)
