from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ninja import Field, Schema

from reelm.accounts.schemas import UserOut
from reelm.social.selectors import viewer_reactions
from reelm.videos.models import Video
from reelm.videos.selectors import lowest_rendition
from reelm.videos.states import VideoState


class VideoUrls(Schema):
    page: str
    hls: str | None
    hls_live: str | None
    mp4: str | None
    poster: str | None
    previews: list[str]


class RenditionOut(Schema):
    name: str
    width: int
    height: int
    bandwidth: int


class VideoOut(Schema):
    id: uuid.UUID
    author: UserOut
    caption: str
    hashtags: list[str]
    mentions: list[str]
    visibility: str
    state: str
    failure_reason: str
    duration: float | None
    width: int | None
    height: int | None
    renditions: list[RenditionOut]
    created_at: datetime
    ready_at: datetime | None
    playable_at: datetime | None
    urls: VideoUrls
    like_count: int
    comment_count: int
    bookmark_count: int
    liked: bool | None = Field(description="Whether you liked it; null when not signed in.")
    bookmarked: bool | None = Field(description="Whether you bookmarked it; null when not signed in.")

    @staticmethod
    def many(videos: Iterable[Video], viewer: Any) -> list[VideoOut]:
        """Representations for one viewer: two queries for their likes and bookmarks, whatever the count."""
        videos = list(videos)
        signed_in = viewer is not None and viewer.is_authenticated
        liked, saved = viewer_reactions(viewer, [v.id for v in videos])
        return [
            VideoOut.of(
                v, liked=(v.id in liked) if signed_in else None, bookmarked=(v.id in saved) if signed_in else None
            )
            for v in videos
        ]

    @staticmethod
    def for_viewer(video: Video, viewer: Any) -> VideoOut:
        return VideoOut.many([video], viewer)[0]

    @staticmethod
    def of(video: Video, *, liked: bool | None = None, bookmarked: bool | None = None) -> VideoOut:
        base = f"/media/videos/{video.id}/"
        ready = video.state == VideoState.READY
        lowest = lowest_rendition(video)
        live = None
        if video.state == VideoState.PROCESSING and video.playable_at and lowest:
            live = f"{base}hls/{lowest['name']}/index.m3u8"
        return VideoOut(
            id=video.id,
            author=UserOut.of(video.owner),
            caption=video.caption,
            hashtags=[link.hashtag.name for link in _related(video, "hashtag_links", "hashtag")],
            mentions=[m.mentioned.username for m in _related(video, "mentions", "mentioned")],
            visibility=video.visibility,
            state=video.state,
            failure_reason=video.failure_reason,
            duration=video.duration,
            width=video.width,
            height=video.height,
            renditions=[
                RenditionOut(**{k: r[k] for k in ("name", "width", "height", "bandwidth")}) for r in video.renditions
            ]
            if ready
            else [],
            created_at=video.created_at,
            ready_at=video.ready_at,
            playable_at=video.playable_at,
            urls=VideoUrls(
                page=f"/v/{video.id}",
                hls=f"{base}hls/master.m3u8" if ready else None,
                hls_live=live,
                mp4=f"{base}video.mp4" if ready else None,
                poster=f"{base}poster.jpg" if ready else None,
                previews=[f"{base}preview_{i}.jpg" for i in range(1, video.preview_count + 1)] if ready else [],
            ),
            like_count=video.like_count,
            comment_count=video.comment_count,
            bookmark_count=video.bookmark_count,
            liked=liked,
            bookmarked=bookmarked,
        )


def _related(video: Video, name: str, target: str) -> list[Any]:
    """Links already prefetched for a list (see ``selectors.with_listing``), else fetched with their target."""
    if name in getattr(video, "_prefetched_objects_cache", {}):
        return list(getattr(video, name).all())
    return list(getattr(video, name).select_related(target))


class VideoUpdateIn(Schema):
    caption: str | None = None
    visibility: str | None = None


class VideoPageOut(Schema):
    items: list[VideoOut]
    next_cursor: uuid.UUID | None
