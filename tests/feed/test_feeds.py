"""The feed interface: Following's ordering, cursors that never skip or repeat, and visibility."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from reelm.accounts.models import User
from reelm.feed import feeds
from reelm.feed.feeds import BadCursor, FeedPage, FollowingFeed, feed_get, feed_page_context, feed_register
from reelm.relations import services as relations
from reelm.videos.models import Video
from tests.feed.conftest import account, follow, ids, video, walk

pytestmark = pytest.mark.django_db


# --- Following -------------------------------------------------------------------------------------------------


def test_following_is_newest_first_from_accepted_follows_only(viewer: User) -> None:
    followed, pending_private, stranger = account(), account(private=True), account()
    follow(viewer, followed)
    relations.follow_create(follower=viewer, followee=pending_private)  # a request, not yet approved
    older = video(followed, caption="older")
    newer = video(followed, caption="newer")
    video(pending_private)
    video(stranger)
    video(followed, state="processing")
    assert ids(FollowingFeed().page(viewer, None, 20)) == [newer.id, older.id]


def test_following_shows_followers_only_and_private_accounts_but_never_private_videos(viewer: User) -> None:
    private_account = account(private=True)
    public_account = account()
    follow(viewer, private_account)
    follow(viewer, public_account)
    shown = [
        video(private_account),
        video(private_account, visibility="followers"),
        video(public_account, visibility="followers"),
        video(public_account),
    ]
    video(private_account, visibility="private")
    video(public_account, visibility="private")
    assert set(ids(FollowingFeed().page(viewer, None, 20))) == {v.id for v in shown}
    # Someone who does not follow them sees none of it.
    outsider = account()
    assert ids(FollowingFeed().page(outsider, None, 20)) == []
    assert FollowingFeed().page(AnonymousUser(), None, 20) == FeedPage(ids=[], next_cursor=None)


def test_following_pages_have_no_gaps_or_repeats_while_new_videos_arrive(viewer: User) -> None:
    author = account()
    follow(viewer, author)
    existing = [video(author).id for _ in range(7)]
    arrived: list[Any] = []
    seen = walk(FollowingFeed(), viewer, 3, between=lambda: arrived.append(video(author).id))
    assert len(seen) == len(set(seen))
    assert seen == sorted(existing, reverse=True), "new uploads must not shift the pages of an older cursor"
    assert arrived and not set(arrived) & set(seen)


def test_following_reaches_past_its_first_look_at_recent_days(viewer: User) -> None:
    from datetime import timedelta

    from reelm.core.ids import uuid7_floor
    from reelm.feed.feeds import RECENT_MS

    author, blocked = account(), account()
    follow(viewer, author)
    follow(viewer, blocked)
    relations.block_create(blocker=viewer, blocked=blocked)
    made = [video(author).id]
    now_ms = int(timezone.now().timestamp() * 1000)
    for days in (10, 20):  # ids as minted that long ago: outside the first look, before and after the cursor
        old = video(author)
        aged = uuid7_floor(now_ms - RECENT_MS - int(timedelta(days=days).total_seconds() * 1000))
        Video.objects.filter(id=old.id).update(id=aged)
        made.append(aged)
    video(blocked)
    first = FollowingFeed().page(viewer, None, 2)
    assert ids(first) == made[:2]
    assert ids(FollowingFeed().page(viewer, first.next_cursor, 2)) == made[2:]


def test_following_rejects_a_cursor_that_is_not_an_id(viewer: User) -> None:
    with pytest.raises(BadCursor):
        FollowingFeed().page(viewer, "not-a-uuid", 20)


# --- the registry --------------------------------------------------------------------------------------------


def test_a_feed_is_found_by_the_name_it_registered_with_its_page_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "_registry", dict(feeds._registry))  # registrations made here end with the test

    class Empty:
        name = "empty"

        def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
            return FeedPage(ids=[], next_cursor=None)

    feed_register("empty", Empty, page_context=lambda viewer: {"asked_for": viewer})
    assert isinstance(feed_get("empty"), Empty)
    assert feed_page_context("empty", "someone") == {"asked_for": "someone"}
    assert feed_page_context("following", "someone") == {}, "a feed without a page context adds nothing"
    with pytest.raises(KeyError):
        feed_get("nothing-registered")
