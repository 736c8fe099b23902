from __future__ import annotations

import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router

from reelm.accounts.auth import viewer
from reelm.accounts.schemas import UserOut
from reelm.search import selectors
from reelm.search.schemas import HashtagOut, SearchOut
from reelm.videos.schemas import VideoPageOut

router = Router(tags=["search"])


@router.get(
    "",
    response=SearchOut,
    auth=None,
    summary="Search accounts, videos and hashtags",
    description="Words match as prefixes (type-ahead), without regard to case or accents; best matches first. "
    "Only videos you may see are returned.",
)
def search(
    request: HttpRequest, q: str = "", type: Literal["all", "accounts", "videos", "hashtags"] = "all"
) -> SearchOut:
    query = selectors.clean_query(q)
    who = viewer(request)
    types = selectors.TYPES if type == "all" else (type,)
    results = selectors.search(query=query, viewer=who, types=types, limit=10 if type == "all" else 30)
    return SearchOut(
        accounts=[UserOut.of(user) for user in results.accounts],
        videos=results.videos,  # type: ignore[arg-type]  # cards: the VideoOut fields as a dict
        hashtags=[HashtagOut(name=tag.name, video_count=tag.video_count) for tag in results.hashtags],  # type: ignore[attr-defined]
    )


@router.get(
    "/hashtags/{name}/videos",
    response=VideoPageOut,
    auth=None,
    summary="A hashtag's videos, newest first",
    description="Pass `next_cursor` back as `cursor` for the next page.",
)
def hashtag_videos(request: HttpRequest, name: str, cursor: uuid.UUID | None = None) -> dict[str, Any]:
    who = viewer(request)
    hashtag = selectors.hashtag_get(name, who)
    videos, next_cursor = selectors.hashtag_videos(hashtag, who, before=cursor)
    return {"items": videos, "next_cursor": next_cursor}
