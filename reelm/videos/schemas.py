from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Value
from ninja import Field, Schema

from reelm.accounts.schemas import UserOut
from reelm.core.prepared import PreparedRead
from reelm.social.models import Bookmark, Like
from reelm.social.selectors import viewer_reactions
from reelm.videos.models import Mention, Video, VideoHashtag
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
    language: str = Field(description="ISO 639-1 code of what is spoken; empty when unknown.")
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
            language=video.language,
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


#: The columns :func:`video_items` reads: the video's own, and its author's for ``UserOut``.
_ITEM_COLUMNS = (
    "id", "caption", "visibility", "language", "state", "failure_reason", "duration", "width", "height", "renditions",
    "created_at", "ready_at", "playable_at", "preview_count", "like_count", "comment_count", "bookmark_count",
    "owner_id", "owner__username", "owner__display_name", "owner__bio", "owner__avatar_key", "owner__is_private",
    "owner__follower_count", "owner__following_count",
)  # fmt: skip


def video_items(
    ids: list[uuid.UUID], viewer: Any, rows: dict[uuid.UUID, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The videos with these ``ids``, in that order, as the plain JSON-ready dicts ``VideoOut.many``
    would produce (same keys, same values): for feeds, where validating 20 nested models per page cost more than
    the page's queries. Two queries: the rows with their authors (none when the caller read all of them with
    :func:`video_rows` already), then one UNION of their hashtags, their mentions and the viewer's likes and
    bookmarks among them. Ids that are gone are left out; who may see them is the caller's business."""
    rows = dict(rows or {})
    missing = [i for i in ids if i not in rows]
    if missing:
        rows |= video_rows(missing)
    found = [i for i in ids if i in rows]
    signed_in = viewer is not None and viewer.is_authenticated
    tags: defaultdict[Any, list[str]] = defaultdict(list)
    mentions: defaultdict[Any, list[str]] = defaultdict(list)
    liked: set[Any] = set()
    saved: set[Any] = set()
    if found:
        links = _viewer_links(found, viewer.id) if signed_in else _links(found)
        # Sorted by row id: hashtags and mentions each in the order they were added.
        for _, video_id, name, kind in sorted(links):
            if kind == _TAG:
                tags[video_id].append(name)
            elif kind == _MENTION:
                mentions[video_id].append(name)
            else:
                (liked if kind == _LIKE else saved).add(video_id)
    return [
        _item(
            rows[i],
            tags[i],
            mentions[i],
            liked=(i in liked) if signed_in else None,
            bookmarked=(i in saved) if signed_in else None,
        )
        for i in found
    ]


def video_rows(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The rows :func:`video_items` reads, by id, in one query: a feed that must look at its videos' state and
    visibility anyway passes them on rather than have them read twice."""
    return {row["id"]: row for row in _rows_by_id(ids)}


# Compiled once per number of ids: resolving 24 columns and the author join costs more than running the query.
_rows_by_id = PreparedRead(lambda ids: Video.objects.order_by().values(*_ITEM_COLUMNS).filter(id__in=ids))


_TAG, _MENTION, _LIKE, _BOOKMARK = range(4)


def _link_parts(ids: list[uuid.UUID]) -> tuple[QuerySet[Any, tuple[Any, ...]], ...]:
    """:func:`video_items`' hashtags and mentions of these videos as (row id, video id, name, kind)."""
    tags = VideoHashtag.objects.order_by().filter(video_id__in=ids)
    mentions = Mention.objects.order_by().filter(video_id__in=ids)
    return (
        tags.values_list("id", "video_id", "hashtag__name", Value(_TAG)),
        mentions.values_list("id", "video_id", "mentioned__username", Value(_MENTION)),
    )


def _marks(ids: list[uuid.UUID], viewer_id: uuid.UUID) -> tuple[QuerySet[Any, tuple[Any, ...]], ...]:
    """The viewer's likes and bookmarks among these videos, in the same columns."""
    likes = Like.objects.order_by().filter(owner_id=viewer_id, video_id__in=ids)
    bookmarks = Bookmark.objects.order_by().filter(owner_id=viewer_id, video_id__in=ids)
    return (
        likes.values_list("id", "video_id", Value(""), Value(_LIKE)),
        bookmarks.values_list("id", "video_id", Value(""), Value(_BOOKMARK)),
    )


# One UNION each, compiled once per number of videos (building and compiling it was most of its cost).
_links = PreparedRead(lambda ids: _union(*_link_parts(ids)))
_viewer_links = PreparedRead(lambda ids, viewer_id: _union(*_link_parts(ids), *_marks(ids, viewer_id)))


def _union(first: QuerySet[Any, Any], *rest: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
    return first.union(*rest, all=True)


def _item(
    row: dict[str, Any], hashtags: list[str], mentions: list[str], *, liked: bool | None, bookmarked: bool | None
) -> dict[str, Any]:
    """``VideoOut.of`` as a dict, key for key (kept in step by tests/feed's comparison with ``VideoOut``)."""
    video_id = row["id"]
    base = f"/media/videos/{video_id}/"
    ready = row["state"] == VideoState.READY
    lowest = next((r for r in row["renditions"] if r.get("lowest")), None)
    live = None
    if row["state"] == VideoState.PROCESSING and row["playable_at"] and lowest:
        live = f"{base}hls/{lowest['name']}/index.m3u8"
    username = row["owner__username"]
    avatar_key = row["owner__avatar_key"]
    return {
        "id": video_id,
        "author": {
            "id": row["owner_id"],
            "username": username,
            "display_name": row["owner__display_name"] or username,  # User.name
            "bio": row["owner__bio"],
            "avatar_url": f"/media/{avatar_key}" if avatar_key else None,
            "profile_url": f"/@{username}",
            "is_private": row["owner__is_private"],
            "follower_count": row["owner__follower_count"],
            "following_count": row["owner__following_count"],
        },
        "caption": row["caption"],
        "hashtags": hashtags,
        "mentions": mentions,
        "visibility": row["visibility"],
        "language": row["language"],
        "state": row["state"],
        "failure_reason": row["failure_reason"],
        "duration": row["duration"],
        "width": row["width"],
        "height": row["height"],
        "renditions": [
            {"name": r["name"], "width": r["width"], "height": r["height"], "bandwidth": r["bandwidth"]}
            for r in row["renditions"]
        ]
        if ready
        else [],
        "created_at": row["created_at"],
        "ready_at": row["ready_at"],
        "playable_at": row["playable_at"],
        "urls": {
            "page": f"/v/{video_id}",
            "hls": f"{base}hls/master.m3u8" if ready else None,
            "hls_live": live,
            "mp4": f"{base}video.mp4" if ready else None,
            "poster": f"{base}poster.jpg" if ready else None,
            "previews": [f"{base}preview_{i}.jpg" for i in range(1, row["preview_count"] + 1)] if ready else [],
        },
        "like_count": row["like_count"],
        "comment_count": row["comment_count"],
        "bookmark_count": row["bookmark_count"],
        "liked": liked,
        "bookmarked": bookmarked,
    }


def _related(video: Video, name: str, target: str) -> list[Any]:
    """Links already prefetched for a list (see ``selectors.with_listing``), else fetched with their target."""
    if name in getattr(video, "_prefetched_objects_cache", {}):
        return list(getattr(video, name).all())
    return list(getattr(video, name).select_related(target))


class VideoUpdateIn(Schema):
    caption: str | None = None
    visibility: str | None = None
    language: str | None = Field(None, description="ISO 639-1 code, or empty for unknown.")


class VideoPageOut(Schema):
    items: list[VideoOut]
    next_cursor: uuid.UUID | None
