"""The feeds: For You (anyone), Following (signed in) and trending hashtags."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.errors import AuthenticationError
from ninja.responses import NinjaJSONEncoder

from reelm.accounts.auth import viewer
from reelm.core.timing import phase
from reelm.feed.anonymous import anonymous_page
from reelm.feed.feeds import feed_get
from reelm.feed.schemas import FeedPageOut, ForYouPageOut, TrendingTagOut
from reelm.feed.selectors import trending_hashtags
from reelm.videos.cards import video_cards

router = Router(tags=["feed"])
PAGE_SIZE = 20


def _page(who: Any, name: str, cursor: str | None) -> HttpResponse:
    """A page rendered from plain dicts: ``response=FeedPageOut`` documents it, but validating every nested
    ``VideoOut`` again costs a noticeable share of a page, so the cards (plain dicts that tests/videos/test_cards.py
    checks against ``VideoOut``) go out as they are."""

    def render() -> str:
        found = feed_get(name).page(who, cursor, PAGE_SIZE)
        with phase("items"):
            items = found.explained(video_cards(found.ids, who, found.rows))
        with phase("json"):
            return json.dumps({"items": items, "next_cursor": found.next_cursor}, cls=NinjaJSONEncoder)

    anonymous = name == "for-you" and not getattr(who, "is_authenticated", False)
    body = anonymous_page(cursor, render) if anonymous else render()
    return HttpResponse(body, content_type="application/json; charset=utf-8")  # what Ninja's renderer sends


@router.get(
    "/for-you",
    response=ForYouPageOut,
    auth=None,
    summary="For You: videos recommended from what you watch, each with why it is there",
    description="Signed in, the recommender ranks candidates from the accounts you follow, videos like those you "
    "watched, co-engagement, trending, your hashtags and fresh uploads, learning from your watch events as they "
    "arrive; signed out (or with personalisation off), a transparent ranking of recent popular public videos. "
    "Each item's `why` says where it came from and what weighed most. Pass `next_cursor` back as `cursor` for "
    "the next page. For You never runs dry: once you have seen everything new, it goes on with what you saw "
    "longest ago (signed out: older public videos, then from the top again), each such item with `seen_before: "
    "true`; `next_cursor` is null, and the page empty, only when there is no video you may see.",
)
def for_you(request: HttpRequest, cursor: Query[str | None] = None) -> HttpResponse:
    return _page(viewer(request), "for-you", cursor)


@router.get(
    "/following",
    response=FeedPageOut,
    auth=None,
    summary="Following: the newest videos of accounts you follow",
    description="Needs a signed-in session or an access token (401 otherwise).",
)
def following(request: HttpRequest, cursor: Query[str | None] = None) -> HttpResponse:
    who = viewer(request)
    if not getattr(who, "is_authenticated", False):
        raise AuthenticationError()
    return _page(who, "following", cursor)


@router.get(
    "/trending-hashtags",
    response=list[TrendingTagOut],
    auth=None,
    summary="Hashtags on the most public videos of the last 7 days",
)
def trending(request: HttpRequest) -> list[TrendingTagOut]:
    return [TrendingTagOut(name=t.name, count=t.count, url=f"/tag/{t.name}") for t in trending_hashtags()]
