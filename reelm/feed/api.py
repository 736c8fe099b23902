"""The feeds: For You (anyone), Following (signed in) and trending hashtags."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import AuthenticationError

from reelm.accounts.auth import viewer
from reelm.feed.schemas import FeedPageOut, TrendingTagOut
from reelm.feed.sources import feed_get, trending_hashtags
from reelm.videos.schemas import VideoOut

router = Router(tags=["feed"])
PAGE_SIZE = 20


def _page(request: HttpRequest, name: str, cursor: str | None) -> FeedPageOut:
    who = viewer(request)
    found = feed_get(name).page(who, cursor, PAGE_SIZE)
    return FeedPageOut(items=VideoOut.many(found.items, who), next_cursor=found.next_cursor)


@router.get(
    "/for-you",
    response=FeedPageOut,
    auth=None,
    summary="For You: recent popular public videos, one author never filling the screen",
    description="Pass `next_cursor` back as `cursor` for the next page; `next_cursor` is null at the end.",
)
def for_you(request: HttpRequest, cursor: Query[str | None] = None) -> FeedPageOut:
    return _page(request, "for-you", cursor)


@router.get(
    "/following",
    response=FeedPageOut,
    auth=None,
    summary="Following: the newest videos of accounts you follow",
    description="Needs a signed-in session or an access token (401 otherwise).",
)
def following(request: HttpRequest, cursor: Query[str | None] = None) -> FeedPageOut:
    who = viewer(request)
    if not getattr(who, "is_authenticated", False):
        raise AuthenticationError()
    return _page(request, "following", cursor)


@router.get(
    "/trending-hashtags",
    response=list[TrendingTagOut],
    auth=None,
    summary="Hashtags on the most public videos of the last 7 days",
)
def trending(request: HttpRequest) -> list[TrendingTagOut]:
    return [TrendingTagOut(name=t.name, count=t.count, url=f"/tag/{t.name}") for t in trending_hashtags()]
