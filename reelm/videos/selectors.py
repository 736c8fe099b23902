"""Video reads, with visibility enforced in one place."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from reelm.core.errors import NotFound
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

# The only paths under a video that are ever served; everything else (the original included) is not.
MEDIA_PATH_RE = re.compile(
    r"^(hls/master\.m3u8|hls/[0-9]{2,4}p/(index\.m3u8|seg_[0-9]{5}\.ts)|video\.mp4|poster\.jpg|preview_[0-9]{1,2}\.jpg)$"
)


def can_view(video: Video, viewer: Any) -> bool:
    if viewer is not None and viewer.is_authenticated and (viewer.id == video.owner_id or viewer.is_staff):
        return True
    # Followers-only videos are visible to their author until the follow graph exists.
    return video.visibility == Visibility.PUBLIC and video.state == VideoState.READY


def video_get(video_id: uuid.UUID | str) -> Video:
    try:
        key = uuid.UUID(str(video_id))
    except ValueError:
        raise NotFound("No such video.") from None
    video = Video.objects.select_related("owner").filter(id=key).first()
    if video is None:
        raise NotFound("No such video.")
    return video


def video_get_for_viewer(video_id: uuid.UUID | str, viewer: Any) -> Video:
    """The video if this viewer may see it. Hidden videos are reported as missing, so ids leak nothing."""
    video = video_get(video_id)
    if not can_view(video, viewer):
        raise NotFound("No such video.")
    return video


def videos_public(*, before: uuid.UUID | None = None, limit: int = 20) -> QuerySet[Video]:
    """Newest public, ready videos; ``before`` is a cursor (ids are time-ordered), never an offset."""
    queryset = Video.objects.select_related("owner").filter(visibility=Visibility.PUBLIC, state=VideoState.READY)
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return queryset.order_by("-id")[:limit]


def videos_of_owner(*, owner_id: Any, viewer: Any, limit: int = 60) -> list[Video]:
    videos = Video.objects.select_related("owner").filter(owner_id=owner_id).order_by("-id")[:limit]
    return [video for video in videos if can_view(video, viewer)]


def media_key(video: Video, path: str) -> str | None:
    """The object key behind a served media path, or None if nothing may be served there."""
    if not MEDIA_PATH_RE.match(path):
        return None
    if video.state == VideoState.READY and video.media_prefix:
        return video.media_prefix + path
    live = video.lease_until is not None and video.lease_until > timezone.now()
    if video.state == VideoState.PROCESSING and video.playable_at and live:
        # While a live attempt transcodes, its lowest rendition (the playlist the API hands out as ``hls_live``)
        # may be played; nothing else it has published yet, and nothing of a dead attempt.
        lowest = lowest_rendition(video)
        if lowest is not None and path.startswith(f"hls/{lowest['name']}/"):
            return video.attempt_prefix + path
    return None


def lowest_rendition(video: Video) -> dict[str, Any] | None:
    return next((r for r in video.renditions if r.get("lowest")), None)
