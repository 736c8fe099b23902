from __future__ import annotations

from ninja import Schema

from reelm.videos.schemas import VideoOut


class FeedPageOut(Schema):
    items: list[VideoOut]
    next_cursor: str | None


class WhyOut(Schema):
    source: str
    summary: str
    reasons: list[str]


class ForYouItemOut(VideoOut):
    why: WhyOut | None = None


class ForYouPageOut(Schema):
    items: list[ForYouItemOut]
    next_cursor: str | None


class TrendingTagOut(Schema):
    name: str
    count: int
    url: str
