"""Video reads, with visibility enforced in one place."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from reelm.core.errors import NotFound
from reelm.relations.models import Follow, FollowStatus
from reelm.relations.selectors import blocked_between, follows, hidden_author_ids, not_hidden
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

# The only paths under a video that are ever served; everything else (the original included) is not.
MEDIA_PATH_RE = re.compile(
    r"^(hls/master\.m3u8|hls/[0-9]{2,4}p/(index\.m3u8|seg_[0-9]{5}\.ts)|video\.mp4|poster\.jpg|preview_[0-9]{1,2}\.jpg)$"
)


def is_publicly_visible(video: Video) -> bool:
    """Anyone, signed in or not, may see it (and caches may keep its media)."""
    return video.visibility == Visibility.PUBLIC and video.state == VideoState.READY and not video.owner.is_private


def can_view(
    video: Video,
    viewer: Any,
    *,
    follower: bool | None = None,
    blocked: bool | None = None,
    once_ready: bool = False,
) -> bool:
    """Who sees a video, like TikTok: its author always; nobody the author blocks or is blocked by; staff
    always; others only once it is ready, and never a private one. Followers-only videos, and every video of a
    private account, need an approved follow.

    ``follower`` and ``blocked`` may be given when the caller already knows whether the viewer follows the
    author and whether the two block each other, so a list costs one lookup of each rather than one per video.
    ``once_ready`` asks whether the viewer will see the video when its transcode finishes."""
    signed_in = viewer is not None and viewer.is_authenticated
    if signed_in and viewer.id == video.owner_id:
        return True
    if signed_in:
        if blocked is None:
            blocked = blocked_between(viewer.id, video.owner_id)
        if blocked:
            return False
        if viewer.is_staff:
            return True
    if (video.state != VideoState.READY and not once_ready) or video.visibility == Visibility.PRIVATE:
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


def videos_public(*, before: uuid.UUID | None = None, limit: int = 20, viewer: Any = None) -> QuerySet[Video]:
    """Newest public, ready videos of public accounts, without those of accounts ``viewer`` blocks or is blocked
    by; ``before`` is a cursor (ids are time-ordered), never an offset."""
    queryset = Video.objects.select_related("owner").filter(
        not_hidden(viewer), visibility=Visibility.PUBLIC, state=VideoState.READY, owner__is_private=False
    )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return queryset.order_by("-id")[:limit]


def videos_of_owner(*, owner_id: Any, viewer: Any, limit: int = 60) -> list[Video]:
    # A blocked pair sees none of each other's videos: checked in the same query, so ``blocked=False`` below.
    mine = viewer is not None and viewer.is_authenticated and viewer.id == owner_id
    queryset = (
        Video.objects.filter(owner_id=owner_id) if mine else Video.objects.filter(not_hidden(viewer), owner_id=owner_id)
    )
    videos = list(queryset.select_related("owner").order_by("-id")[:limit])
    follower = follows(viewer, owner_id)
    return [video for video in videos if can_view(video, viewer, follower=follower, blocked=False)]


def visible_among(videos: list[Video], viewer: Any) -> list[Video]:
    """The videos of any authors this viewer may see: one follow and one block lookup for the whole list."""
    signed_in = viewer is not None and viewer.is_authenticated
    owners = {video.owner_id for video in videos}
    followed: set[Any] = set()
    if signed_in and owners:
        followed = set(
            Follow.objects.filter(owner_id=viewer.id, followee_id__in=owners, status=FollowStatus.ACCEPTED).values_list(
                "followee_id", flat=True
            )
        )
    hidden = hidden_author_ids(viewer, muted=False) if signed_in and owners else set()
    return [
        video
        for video in videos
        if can_view(video, viewer, follower=video.owner_id in followed, blocked=video.owner_id in hidden)
    ]


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
        lowest = lowest_rendition(video.renditions)
        if lowest is not None and path.startswith(f"hls/{lowest['name']}/"):
            return video.attempt_prefix + path
    return None


def lowest_rendition(renditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rendition a transcode publishes first (a video's ``renditions`` or a row's)."""
    return next((r for r in renditions if r.get("lowest")), None)
