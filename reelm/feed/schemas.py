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
    #: Shown again because the viewer has seen everything new (For You never runs dry): clients put "You're all
    #: caught up" before the first such item. False for fresh ones.
    seen_before: bool = False


class ForYouPageOut(Schema):
    items: list[ForYouItemOut]
    next_cursor: str | None


class TrendingTagOut(Schema):
    name: str
    count: int
    url: str
