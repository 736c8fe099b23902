"""The full-text index itself: installed by the migration, refilled from existing rows, and still wired up."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from reelm.accounts.models import User
from reelm.search.backends import backend
from reelm.videos.services import video_update
from tests.social.conftest import make_video

pytestmark = pytest.mark.django_db

TRIGGERS = {
    "search_account_fts_ai",
    "search_account_fts_au",
    "search_account_fts_ad",
    "search_video_fts_ai",
    "search_video_fts_au",
    "search_video_fts_ad",
    "search_hashtag_fts_ai",
    "search_hashtag_fts_au",
    "search_hashtag_fts_ad",
    "search_video_fts_tag_insert",
    "search_video_fts_tag_delete",
}


# Each database lists its triggers in its own catalog; the backends give them the same names.
CATALOG = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'search_%'",
}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(CATALOG[connection.vendor])
        return {row[0] for row in cursor.fetchall()}


def test_every_trigger_survives_the_migrations() -> None:
    """The test database is built by the migrations: if a later one remakes a source table on SQLite (which drops
    its triggers), this fails until that migration installs the search backend again."""
    assert _triggers() == TRIGGERS


def test_reinstall_refills_the_index_from_existing_rows(user: User, client: Client) -> None:
    video = video_update(video=make_video(user), editor=user, caption="lighthouse at dusk #coast")
    with connection.cursor() as editor:
        backend().uninstall(editor)
    assert _triggers() == set()
    with connection.cursor() as editor:
        backend().install(editor)
        backend().install(editor)  # idempotent
    assert _triggers() == TRIGGERS
    body = client.get("/api/search", {"q": "coast"}).json()
    assert [v["id"] for v in body["videos"]] == [str(video.id)]
    assert body["hashtags"] == [{"name": "coast", "video_count": 1}]
    assert [a["username"] for a in body["accounts"]] == []
    assert [a["username"] for a in client.get("/api/search", {"q": "alic"}).json()["accounts"]] == ["alice"]
