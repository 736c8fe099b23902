from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Schema

from reelm.accounts.schemas import UserOut
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

    @staticmethod
    def of(video: Video) -> VideoOut:
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
            hashtags=[link.hashtag.name for link in video.hashtag_links.select_related("hashtag")],
            mentions=[m.mentioned.username for m in video.mentions.select_related("mentioned")],
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
        )


class VideoUpdateIn(Schema):
    caption: str | None = None
    visibility: str | None = None


class VideoPageOut(Schema):
    items: list[VideoOut]
    next_cursor: uuid.UUID | None
