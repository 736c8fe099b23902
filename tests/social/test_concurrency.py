"""Counters under real concurrency: threads with their own database connections (the test database is a file with
WAL and a busy timeout on SQLite, or a PostgreSQL server, as in production), liking and unliking one video at once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from reelm.accounts.models import User
from reelm.social import services
from reelm.social.models import Follow, Like
from reelm.videos.models import Video
from tests.social.conftest import make_video

THREADS = 8
ROUNDS = 12


def race(fans: list[User], add: Callable[[User], object], remove: Callable[[User], object]) -> None:
    """Two threads per account, each adding and removing at random, all released at once, so the same row is
    created and deleted by racing requests."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(fans) * 2)

    def churn(fan: User, seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(ROUNDS):
                (add if rng.random() < 0.6 else remove)(fan)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    work = [threading.Thread(target=churn, args=(fan, seed)) for seed, fan in enumerate(fans + fans)]
    for thread in work:
        thread.start()
    for thread in work:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker thread hung"
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_racing_likes_and_unlikes_keep_the_counter_exact() -> None:
    assert "memory" not in str(connection.settings_dict["NAME"])  # each thread gets its own real connection
    author = User.objects.create(username="author")
    fans = [User.objects.create(username=f"fan{i}") for i in range(THREADS)]
    video = make_video(author)
    race(
        fans,
        lambda fan: services.like_create(user=fan, video=video),
        lambda fan: services.like_delete(user=fan, video=video),
    )
    likes = Like.objects.filter(video=video).count()
    assert Video.objects.get(id=video.id).like_count == likes
    assert Like.objects.filter(video=video).values("owner").distinct().count() == likes  # never doubled


@pytest.mark.django_db(transaction=True)
def test_racing_follows_keep_follower_counts_exact() -> None:
    star = User.objects.create(username="star")
    fans = [User.objects.create(username=f"fan{i}") for i in range(THREADS)]
    race(
        fans,
        lambda fan: services.follow_create(follower=fan, followee=star),
        lambda fan: services.follow_delete(follower=fan, followee=star),
    )
    star.refresh_from_db()
    assert star.follower_count == Follow.objects.filter(followee=star).count()
    for fan in fans:
        fan.refresh_from_db()
        assert fan.following_count == Follow.objects.filter(owner=fan).count()
