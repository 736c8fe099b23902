"""The ranker's inputs for a candidate, defined once.

:func:`items_from` turns a viewer's facts about some candidates (counters, age, affinities) into the ranker's
columns. A page's candidates go through it in one batch (:func:`pool_items`); one video — an impression For You did
not serve, learned from with the features it would have had — goes through it as a batch of one
(:func:`item_for`), so a video's features never depend on which path computed them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils import timezone

from reelm.recommend.pool import Pool
from reelm.recommend.ranker import Item, Items

#: Completions within this many hours count as recent.
RECENT_HOURS = 14 * 24


@dataclass
class Stats:
    """A video's lifetime counters (from its signal row)."""

    impressions: int
    completions: int


def completion_rate(impressions: Any, completions: Any) -> Any:
    """Smoothed: a video nobody has seen yet starts at a third."""
    return (completions + 1) / (impressions + 3)


def tag_affinity_of(affinities: dict[str, float], tags: Iterable[str]) -> float:
    """The viewer's strongest affinity among a video's hashtags, 0 if none."""
    return max((affinities.get(t, 0.0) for t in tags), default=0.0)


def items_from(
    *,
    source: list[str],
    cosine: np.ndarray,
    impressions: np.ndarray,
    completions: np.ndarray,
    likes: np.ndarray,
    age_hours: np.ndarray,
    author_affinity: np.ndarray,
    tag_affinity: np.ndarray,
    follows_author: np.ndarray,
    trending_rank: np.ndarray,
) -> Items:
    """The ranker's columns for candidates given as parallel arrays (``trending_rank`` -1 when not trending)."""
    impressions = np.asarray(impressions, dtype=np.float64)
    completions = np.asarray(completions, dtype=np.float64)
    age_hours = np.asarray(age_hours, dtype=np.float64)
    # Counters are lifetime: past two weeks, assume the completions spread evenly over the video's age.
    spread = np.round(completions * RECENT_HOURS / np.maximum(age_hours, RECENT_HOURS))
    return Items(
        source=source,
        numeric={
            "cosine": np.asarray(cosine, dtype=np.float64),
            "completion_rate": completion_rate(impressions, completions),
            "impressions": impressions,
            "likes": np.asarray(likes, dtype=np.float64),
            "age_hours": age_hours,
            "author_affinity": np.asarray(author_affinity, dtype=np.float64),
            "tag_affinity": np.asarray(tag_affinity, dtype=np.float64),
            "recent_completions": np.where(age_hours <= RECENT_HOURS, completions, spread),
            "similar_recent": np.zeros(len(source)),
        },
        follows_author=np.asarray(follows_author, dtype=bool),
        trending_rank=np.asarray(trending_rank, dtype=np.int64),
    )


def item_for(
    *,
    source: str,
    user_vector: np.ndarray | None,
    video_vector: np.ndarray,
    stats: Stats | None,
    likes: int = 0,
    age_hours: float,
    author_affinity: float,
    tag_affinity: float,
    follows_author: bool,
    trending_rank: int | None = None,
) -> Item:
    """One candidate's ranker inputs: :func:`items_from` over a batch of one."""
    return items_from(
        source=[source],
        cosine=np.array([float(user_vector @ video_vector) if user_vector is not None else 0.0]),
        impressions=np.array([stats.impressions if stats else 0]),
        completions=np.array([stats.completions if stats else 0]),
        likes=np.array([likes]),
        age_hours=np.array([age_hours]),
        author_affinity=np.array([author_affinity]),
        tag_affinity=np.array([tag_affinity]),
        follows_author=np.array([follows_author]),
        trending_rank=np.array([-1 if trending_rank is None else trending_rank]),
    ).item(0)


def pool_items(candidates: Pool, rows: np.ndarray, user: np.ndarray | None, taste: Any, follows: set[bytes]) -> Items:
    """The pool's ``rows`` as the ranker's columns, for a viewer with vector ``user``, ``taste`` (its affinities)
    and ``follows`` (account id bytes)."""
    at: Sequence[int] = rows.tolist()
    owners = [candidates.owners[i] for i in at]
    return items_from(
        source=[candidates.sources[i] for i in at],
        cosine=(candidates.vectors[rows] @ user) if user is not None else np.zeros(len(at)),
        impressions=candidates.impressions[rows],
        completions=candidates.completions[rows],
        likes=candidates.likes[rows],
        age_hours=(timezone.now().timestamp() - candidates.created[rows]) / 3600,
        author_affinity=np.array([taste.author_affinity.get(o.hex(), 0.0) for o in owners], dtype=np.float64),
        tag_affinity=np.array([tag_affinity_of(taste.tag_affinity, candidates.tags[i]) for i in at], dtype=np.float64),
        follows_author=np.array([o in follows for o in owners], dtype=bool),
        trending_rank=candidates.trending_rank[rows],
    )
