"""Feed fixtures: accounts and ready video rows (no media) with controllable ages."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.feed.feeds import FeedPage
from reelm.relations import services as relations
from reelm.social import services as social
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.social.conftest import make_video

_names = count()


def account(name: str | None = None, *, private: bool = False) -> User:
    user = user_create(username=name or f"user{next(_names)}", password=PASSWORD)
    if private:
        user = relations.account_privacy_set(user=user, is_private=True)
    return user


def video(owner: User, *, hours_old: float = 0, **fields: Any) -> Video:
    made = make_video(owner, **fields)
    if hours_old:
        Video.objects.filter(id=made.id).update(created_at=timezone.now() - timedelta(hours=hours_old))
        made.refresh_from_db()
    return made


def like(video: Video, times: int) -> None:
    for _ in range(times):
        social.like_create(user=account(), video=video)


def follow(follower: User, followee: User) -> None:
    """An accepted follow (a private account's request is approved)."""
    made, _ = relations.follow_create(follower=follower, followee=followee)
    if made.status != "accepted":
        relations.follow_request_approve(account=followee, request_id=made.id)


@pytest.fixture
def viewer(db: None) -> User:
    return account("viewer")


def ids(page: FeedPage) -> list[Any]:
    return list(page.ids)


def walk(feed: Any, viewer: Any, limit: int, between: Any = None, *, last: Any = None) -> list[Any]:
    """Every id a client sees paging through the whole feed, calling ``between()`` after each page. A feed that
    never ends (For You) ends where ``last(page)`` says (at the end of its first lap, say)."""
    seen: list[Any] = []
    cursor = None
    for _ in range(100):
        page = feed.page(viewer, cursor, limit)
        seen += ids(page)
        if page.next_cursor is None or (last is not None and last(page)):
            return seen
        cursor = page.next_cursor
        if between is not None:
            between()
    raise AssertionError("the feed never ended")
