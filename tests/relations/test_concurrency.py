"""Follow counters under real concurrency: threads with their own database connections (the test database is a
file with WAL and a busy timeout on SQLite, or a PostgreSQL server, as in production), following and unfollowing
one account at once."""

from __future__ import annotations

import pytest

from reelm.accounts.models import User
from reelm.relations import services
from reelm.relations.models import Follow
from tests.relations.conftest import THREADS, race


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
