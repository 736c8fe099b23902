"""SQLite's planner statistics: refreshed after migrations (and nightly), and what they are for — a lookup of
videos by id goes through the primary key, not through the index on their state."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from reelm.core.sqlite import statistics_refresh
from reelm.videos.models import Video
from reelm.videos.states import VideoState
from tests.feed.conftest import account, video

only_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL keeps its own statistics")


@pytest.mark.django_db
def test_only_sqlite_is_analysed() -> None:
    assert statistics_refresh() is (connection.vendor == "sqlite")


def _statistics() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tbl, idx FROM sqlite_stat1 WHERE tbl = 'videos_video'")
        return cursor.fetchall()


def _plan_of_a_lookup_by_id() -> str:
    ids = list(Video.objects.values_list("id", flat=True)[:5])
    return Video.objects.filter(id__in=ids, state=VideoState.READY).order_by().values_list("id").explain()


@only_sqlite
@pytest.mark.django_db
def test_a_lookup_by_id_uses_the_primary_key_once_statistics_exist() -> None:
    owner = account("owner")
    for _ in range(40):
        video(owner)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.execute("ANALYZE sqlite_schema")  # the planner reloads the (now empty) statistics
    assert "state" in _plan_of_a_lookup_by_id(), "without statistics SQLite guesses the state index"
    assert statistics_refresh() is True
    assert _statistics()
    plan = _plan_of_a_lookup_by_id()
    assert "sqlite_autoindex_videos_video_1 (id=?)" in plan and "state" not in plan


@only_sqlite
@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_statistics_behind() -> None:
    video(account("owner"))  # (ANALYZE records nothing of an empty table)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
    call_command("migrate", verbosity=0)
    assert _statistics()
