"""Counters under real concurrency: threads with their own database connections (the test database is a file with
WAL and a busy timeout on SQLite, or a PostgreSQL server, as in production), liking and unliking one video at once.
Racing follows are in tests/relations."""

from __future__ import annotations

import pytest
from django.db import connection

from reelm.accounts.models import User
from reelm.social import services
from reelm.social.models import Like
from reelm.videos.models import Video
from tests.relations.conftest import THREADS, race
from tests.social.conftest import make_video


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
