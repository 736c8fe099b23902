"""Recommender fixtures: videos with chosen vectors, viewers with chosen tastes, (each test starts with a fresh index: tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from reelm.accounts.models import User
from reelm.recommend import ranker
from reelm.recommend.models import Taste, VideoSignal
from reelm.recommend.taste import taste_get
from reelm.videos.models import Hashtag, Video, VideoHashtag
from tests.feed.conftest import account, video


def direction(axis: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    v = np.zeros(ranker.DIM, dtype=np.float32)
    v[axis] = 1.0
    if noise:
        v += np.random.default_rng(seed).normal(0, noise, ranker.DIM).astype(np.float32)
    return ranker.normalise(v)


def embedded(owner: User, axis: int, *, tags: tuple[str, ...] = (), seed: int = 0, **fields: Any) -> Video:
    """A ready video whose vector points along ``axis`` (a topic), tagged ``tags``."""
    made = video(owner, **fields)
    VideoSignal.objects.create(
        video=made, owner=owner, vector=ranker.vector_bytes(direction(axis, 0.05, seed=hash(made.id) % 1000 + seed))
    )
    for name in tags:
        hashtag, _ = Hashtag.objects.get_or_create(name=name)
        VideoHashtag.objects.create(owner=owner, video=made, hashtag=hashtag)
    return made


def taste_along(user: User, axis: int) -> Taste:
    taste = taste_get(user)
    taste.vector = ranker.vector_bytes(direction(axis))
    taste.save()
    return taste


@pytest.fixture
def viewer(db: None) -> User:
    return account("viewer")


@pytest.fixture
def creators(db: None) -> list[User]:
    return [account(f"creator{i}") for i in range(6)]
