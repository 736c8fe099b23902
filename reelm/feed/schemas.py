from __future__ import annotations

from ninja import Schema

from reelm.videos.schemas import VideoOut


class FeedPageOut(Schema):
    items: list[VideoOut]
    next_cursor: str | None


class TrendingTagOut(Schema):
    name: str
    count: int
    url: str
