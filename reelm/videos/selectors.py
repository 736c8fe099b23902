"""Video reads, with visibility enforced in one place."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from reelm.core.errors import NotFound
from reelm.social.models import Follow, FollowStatus
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

# The only paths under a video that are ever served; everything else (the original included) is not.
MEDIA_PATH_RE = re.compile(
    r"^(hls/master\.m3u8|hls/[0-9]{2,4}p/(index\.m3u8|seg_[0-9]{5}\.ts)|video\.mp4|poster\.jpg|preview_[0-9]{1,2}\.jpg)$"
)


def is_publicly_visible(video: Video) -> bool:
    """Anyone, signed in or not, may see it (and caches may keep its media)."""
    return video.visibility == Visibility.PUBLIC and video.state == VideoState.READY and not video.owner.is_private


def follows(viewer: Any, account_id: Any) -> bool:
    """The viewer is an approved follower of the account."""
    if viewer is None or not viewer.is_authenticated:
        return False
    return Follow.objects.filter(owner_id=viewer.id, followee_id=account_id, status=FollowStatus.ACCEPTED).exists()


def can_view(video: Video, viewer: Any, *, follower: bool | None = None) -> bool:
    """Who sees a video, like TikTok: its author and staff always; others only once it is ready, and never a
    private one. Followers-only videos, and every video of a private account, need an approved follow.

    ``follower`` may be given when the caller already knows whether the viewer follows the author, so a list
    of one author's videos costs one follow lookup rather than one per video."""
    if viewer is not None and viewer.is_authenticated and (viewer.id == video.owner_id or viewer.is_staff):
        return True
    if video.state != VideoState.READY or video.visibility == Visibility.PRIVATE:
        return False
    if video.visibility == Visibility.PUBLIC and not video.owner.is_private:
        return True
    if follower is None:
        follower = follows(viewer, video.owner_id)
    return follower


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


def with_listing(queryset: QuerySet[Video]) -> QuerySet[Video]:
    """Everything a video's API representation reads, fetched once for a whole list."""
    return queryset.select_related("owner").prefetch_related("hashtag_links__hashtag", "mentions__mentioned")


def videos_public(*, before: uuid.UUID | None = None, limit: int = 20) -> QuerySet[Video]:
    """Newest public, ready videos of public accounts; ``before`` is a cursor (ids are time-ordered), never an
    offset."""
    queryset = with_listing(Video.objects.all()).filter(
        visibility=Visibility.PUBLIC, state=VideoState.READY, owner__is_private=False
    )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return queryset.order_by("-id")[:limit]


def videos_of_owner(*, owner_id: Any, viewer: Any, limit: int = 60) -> list[Video]:
    videos = list(with_listing(Video.objects.filter(owner_id=owner_id)).order_by("-id")[:limit])
    follower = follows(viewer, owner_id)
    return [video for video in videos if can_view(video, viewer, follower=follower)]


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
