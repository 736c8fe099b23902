"""For You never runs dry: once a signed-in viewer has seen everything, it goes on with what they saw longest ago
(marked ``seen_before``), never bringing back what they may not or do not want to see."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reelm.accounts.models import User
from reelm.events.models import WatchEvent
from reelm.feed.feeds import FeedPage, feed_get
from reelm.feed.schemas import ForYouItemOut
from reelm.recommend import not_interested, pool
from reelm.recommend.caught_up import OWN_WHY, SEEN_WHY, UNSEEN_WHY
from reelm.relations import services as relations
from reelm.videos.models import Video
from tests.feed.conftest import follow
from tests.recommend.conftest import embedded, taste_along
from tests.social.conftest import client_for

pytestmark = pytest.mark.django_db


def watched(viewer: User, videos: list[Video], *, hours_ago: list[float] | None = None) -> None:
    """The viewer saw ``videos``, the first longest ago (``hours_ago`` each, if given)."""
    now = timezone.now()
    for n, made in enumerate(videos):
        event = WatchEvent.objects.create(owner=viewer, video=made, kind="impression")
        ago = hours_ago[n] if hours_ago else len(videos) - n
        WatchEvent.objects.filter(id=event.id).update(created_at=now - timedelta(hours=ago))


def pages(viewer: Any, count: int, limit: int, cursor: str | None = None) -> list[FeedPage]:
    out = []
    for _ in range(count):
        found = feed_get("for-you").page(viewer, cursor, limit)
        out.append(found)
        assert found.ids and found.next_cursor is not None, "For You ran dry"
        cursor = found.next_cursor
    return out


def assert_never_twice(found: list[FeedPage]) -> None:
    """No video twice on one page, nor twice in a row across pages."""
    for page in found:
        assert len(page.ids) == len(set(page.ids)), page.ids
    for before, after in itertools.pairwise(found):
        assert before.ids[-1] != after.ids[0], "the same video twice in a row"


def test_a_viewer_who_saw_everything_gets_what_they_saw_longest_ago_again_and_again(
    viewer: User, creators: list[User]
) -> None:
    made = [embedded(creators[i], axis=0) for i in range(5)]
    taste_along(viewer, 0)
    order = [made[2], made[0], made[4], made[1], made[3]]  # least recently seen first
    watched(viewer, order)
    found = pages(viewer, 4, 2)
    ids = [v.id for v in order]
    assert [p.ids for p in found] == [ids[0:2], ids[2:4], [ids[4], ids[0]], ids[1:3]]
    for page in found:
        assert page.seen_before == set(page.ids) and page.why is not None
        assert all(page.why[i] == SEEN_WHY for i in page.ids)
    assert_never_twice(found)


def test_fresh_videos_come_first_then_the_feed_goes_on_with_what_was_seen(viewer: User, creators: list[User]) -> None:
    made = {embedded(creators[i], axis=0).id for i in range(3)}
    taste_along(viewer, 0)
    found = pages(viewer, 5, 20)
    assert set(found[0].ids) == made and not found[0].seen_before  # fresh: nothing marked
    for page in found[1:]:  # caught up: the same three, marked, in the order they were last seen
        assert set(page.ids) == made and page.seen_before == made
    assert found[2].ids == found[1].ids == found[0].ids
    assert_never_twice(found)


def test_the_api_marks_what_is_shown_again(viewer: User, creators: list[User]) -> None:
    fresh, old = embedded(creators[0], axis=0), embedded(creators[1], axis=0)
    taste_along(viewer, 0)
    watched(viewer, [old])
    api = client_for(viewer)
    first = api.get("/api/feed/for-you").json()
    assert [i["id"] for i in first["items"]] == [str(fresh.id)] and first["items"][0]["seen_before"] is False
    cursor = first["next_cursor"]
    for _ in range(3):
        body = api.get("/api/feed/for-you", {"cursor": cursor}).json()
        assert body["items"] and all(i["seen_before"] is True for i in body["items"])
        for item in body["items"]:
            assert ForYouItemOut.model_validate(item).seen_before is True
        cursor = body["next_cursor"]
        assert cursor
    schema = Client().get("/api/openapi.json").json()["components"]["schemas"]["ForYouItemOut"]
    assert schema["properties"]["seen_before"]["default"] is False


def test_a_single_visible_video_keeps_coming(viewer: User, creators: list[User]) -> None:
    only = embedded(creators[0], axis=0)
    embedded(creators[1], axis=0, visibility="private")
    taste_along(viewer, 0)
    watched(viewer, [only])
    for page in pages(viewer, 4, 20):
        assert page.ids == [only.id] and page.seen_before == {only.id}


def test_what_the_viewer_may_not_or_does_not_want_to_see_never_comes_back(viewer: User, creators: list[User]) -> None:
    blocked, muted, dull, stranger, followed, fine = creators
    relations.block_create(blocker=blocked, blocked=viewer)
    relations.mute_create(muter=viewer, muted=muted)
    follow(viewer, followed)
    unwanted_video = embedded(fine, axis=0)
    never = [
        embedded(blocked, axis=0),
        embedded(muted, axis=0),
        embedded(dull, axis=0),
        embedded(stranger, axis=0, visibility="followers"),
        embedded(stranger, axis=0, visibility="private"),
        embedded(stranger, axis=0, state="processing"),
        embedded(fine, axis=0, tags=("spoilers",)),
        embedded(viewer, axis=0),  # their own: only when nothing else is left
        unwanted_video,
    ]
    keep = [embedded(fine, axis=0), embedded(followed, axis=0, visibility="followers"), embedded(stranger, axis=0)]
    not_interested.not_interested_add(viewer, scope="video", target=unwanted_video.id.hex)
    not_interested.not_interested_add(viewer, scope="author", target=dull.id.hex)
    not_interested.not_interested_add(viewer, scope="hashtag", target="spoilers")
    taste_along(viewer, 0)
    watched(viewer, never + keep)
    found = pages(viewer, 4, 2)
    shown = {i for page in found for i in page.ids}
    assert shown == {v.id for v in keep}
    assert_never_twice(found)
    # Blocked later: gone from the very next page.
    relations.block_create(blocker=viewer, blocked=stranger)
    after = pages(viewer, 3, 20, found[-1].next_cursor)
    assert {i for page in after for i in page.ids} == {keep[0].id, keep[1].id}


def test_an_uploader_alone_on_the_instance_sees_their_own_clips(viewer: User, creators: list[User]) -> None:
    mine = [embedded(viewer, axis=0) for _ in range(3)]
    embedded(viewer, axis=0, state="processing")
    taste_along(viewer, 0)
    found = pages(viewer, 4, 20)
    for page in found:
        assert set(page.ids) == {v.id for v in mine} and page.seen_before == set(page.ids)
        assert page.why is not None and all(w == OWN_WHY for w in page.why.values())
    assert found[0].ids == [v.id for v in reversed(mine)], "newest first, then least recently shown"
    assert_never_twice(found)
    # Somebody else's video: the viewer's own step aside.
    theirs = embedded(creators[0], axis=0)
    assert pages(viewer, 1, 20, found[-1].next_cursor)[0].ids == [theirs.id]


def test_no_playable_video_is_the_only_empty_page(viewer: User, creators: list[User]) -> None:
    relations.block_create(blocker=viewer, blocked=creators[0])
    embedded(creators[0], axis=0)
    embedded(creators[1], axis=0, state="processing")
    embedded(creators[2], axis=0, visibility="private")
    embedded(creators[3], axis=0, visibility="followers")
    embedded(viewer, axis=0, state="failed")
    taste_along(viewer, 0)
    found = feed_get("for-you").page(viewer, None, 20)
    assert found.ids == [] and found.next_cursor is None
    body = client_for(viewer).get("/api/feed/for-you").json()
    assert body == {"items": [], "next_cursor": None}


def test_videos_no_source_proposed_come_before_what_was_seen(
    viewer: User, creators: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = [embedded(creators[i], axis=0) for i in range(2)]
    missed = [embedded(creators[2 + i], axis=0) for i in range(2)]
    taste_along(viewer, 0)
    watched(viewer, seen)
    monkeypatch.setattr(pool, "SOURCES", [])  # the sources propose nothing at all
    first = feed_get("for-you").page(viewer, None, 20)
    assert first.ids == [missed[1].id, missed[0].id, seen[0].id, seen[1].id]  # never seen (newest first), then seen
    assert first.seen_before == {v.id for v in seen} and first.why is not None
    assert [first.why[v.id] for v in missed] == [UNSEEN_WHY, UNSEEN_WHY]
    second = feed_get("for-you").page(viewer, first.next_cursor, 20)
    assert second.ids == first.ids and second.seen_before == set(second.ids)  # all seen now, in the order seen


def test_a_caught_up_page_never_costs_the_common_path_anything(viewer: User, creators: list[User]) -> None:
    """While fresh candidates last, nothing of the caught-up memory is read or written."""
    from django.core.cache import cache

    from reelm.recommend.caught_up import _times_key

    for i in range(6):
        embedded(creators[i], axis=0)
    taste_along(viewer, 0)
    found = feed_get("for-you").page(viewer, None, 3)
    assert len(found.ids) == 3 and not found.seen_before
    assert cache.get(_times_key(viewer.id)) is None
