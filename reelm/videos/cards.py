"""A video card: the JSON-ready dict ``schemas.VideoOut`` declares, read one way for the API and the pages alike.

Any number of cards costs two queries: the videos' rows with their authors (none when the caller has them, as
model instances or as :func:`video_rows`), then one UNION of their hashtags, their mentions and the viewer's marks
among them. The marks (liked, bookmarked) belong to apps above this one, which add them with
:func:`viewer_marks_register`; every media URL a video has is built by :func:`media_urls`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Value
from pydantic_core import to_jsonable_python

from reelm.core.errors import NotFound
from reelm.core.prepared import PreparedRead
from reelm.videos.models import Mention, Video, VideoHashtag
from reelm.videos.selectors import lowest_rendition
from reelm.videos.states import VideoState

#: ``parts(ids, viewer_id)``: the viewer's marks among the videos ``ids``, as a queryset of rows with ``id`` and
#: ``video_id`` (a like, a bookmark).
MarkParts = Callable[[list[uuid.UUID], uuid.UUID], QuerySet[Any]]

#: The columns a card reads: the video's own, and its author's for ``UserOut``.
_ITEM_COLUMNS = (
    "id", "caption", "visibility", "language", "state", "failure_reason", "duration", "width", "height", "renditions",
    "created_at", "ready_at", "playable_at", "preview_count", "like_count", "comment_count", "bookmark_count",
    "owner_id", "owner__username", "owner__display_name", "owner__bio", "owner__avatar_key", "owner__is_private",
    "owner__follower_count", "owner__following_count",
)  # fmt: skip

_TAG, _MENTION = 0, 1
#: Card key → how to read that mark, in the order the keys end a card; a mark's kind is 2 + its position here.
_marks: dict[str, MarkParts] = {}


def media_urls(
    video_id: uuid.UUID, state: str, playable_at: datetime | None, renditions: list[dict[str, Any]], preview_count: int
) -> dict[str, Any]:
    """The URLs under ``/media/videos/<id>/`` a video offers in this state (the ``VideoUrls`` media keys): all of
    them once it is ready; while it transcodes and its lowest rendition can already be played, that playlist."""
    base = f"/media/videos/{video_id}/"
    ready = state == VideoState.READY
    lowest = lowest_rendition(renditions)
    live = None
    if state == VideoState.PROCESSING and playable_at and lowest:
        live = f"{base}hls/{lowest['name']}/index.m3u8"
    return {
        "hls": f"{base}hls/master.m3u8" if ready else None,
        "hls_live": live,
        "mp4": f"{base}video.mp4" if ready else None,
        "poster": f"{base}poster.jpg" if ready else None,
        "previews": [f"{base}preview_{i}.jpg" for i in range(1, preview_count + 1)] if ready else [],
    }


def video_cards(
    videos: Iterable[Video | uuid.UUID], viewer: Any, rows: dict[uuid.UUID, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The cards of these videos (ids, or instances with their ``owner`` loaded), in that order, for this viewer.

    Rows the caller read already come from the instances or from ``rows`` (:func:`video_rows`); the others are
    read in one query. Ids that are gone are left out; who may see them is the caller's business. Signed out,
    every mark is None."""
    rows = dict(rows or {})
    ids: list[uuid.UUID] = []
    for video in videos:
        if isinstance(video, Video):
            rows.setdefault(video.id, _row_of(video))
            ids.append(video.id)
        else:
            ids.append(video)
    missing = [i for i in ids if i not in rows]
    if missing:
        rows |= video_rows(missing)
    found = [i for i in ids if i in rows]
    signed_in = viewer is not None and viewer.is_authenticated
    tags: defaultdict[Any, list[str]] = defaultdict(list)
    mentions: defaultdict[Any, list[str]] = defaultdict(list)
    marked: defaultdict[int, set[Any]] = defaultdict(set)
    if found:
        links = _viewer_links(found, viewer.id) if signed_in and _marks else _links(found)
        # Sorted by row id: hashtags and mentions each in the order they were added.
        for _, video_id, name, kind in sorted(links):
            if kind == _TAG:
                tags[video_id].append(name)
            elif kind == _MENTION:
                mentions[video_id].append(name)
            else:
                marked[kind].add(video_id)
    keys = list(_marks)
    return [
        _card(
            rows[i],
            tags[i],
            mentions[i],
            {key: (i in marked[2 + n]) if signed_in else None for n, key in enumerate(keys)},
        )
        for i in found
    ]


def video_card(video: Video | uuid.UUID, viewer: Any) -> dict[str, Any]:
    """One video's card (see :func:`video_cards`); a gone id is not found."""
    cards = video_cards([video], viewer)
    if not cards:
        raise NotFound("No such video.")
    return cards[0]


def card_json(card: dict[str, Any]) -> Any:
    """A card as pages embed it for their scripts: ``VideoOut.model_dump(mode="json")``'s output, unvalidated."""
    return to_jsonable_python(card)


def video_rows(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The rows :func:`video_cards` reads, by id, in one query: a feed that must look at its videos' state and
    visibility anyway passes them on rather than have them read twice."""
    return {row["id"]: row for row in _rows_by_id(ids)}


def viewer_marks_register(key: str, parts: MarkParts) -> None:
    """Add the card key ``key``: whether the signed-in viewer has one of the rows ``parts`` finds for the video
    (None signed out). Read in the cards' one UNION; called from the owning app's ``ready``."""
    global _viewer_links
    _marks[key] = parts
    # The UNION's shape changed: compile it afresh.
    _viewer_links = PreparedRead(lambda ids, viewer_id: _union(*_link_parts(ids), *_mark_parts(ids, viewer_id)))


def _row_of(video: Video) -> dict[str, Any]:
    """An instance's :data:`_ITEM_COLUMNS`, as ``video_rows`` would read them."""
    row: dict[str, Any] = {}
    for column in _ITEM_COLUMNS:
        value: Any = video
        for name in column.split("__"):
            value = getattr(value, name)
        row[column] = value
    return row


# Compiled once per number of ids: resolving 24 columns and the author join costs more than running the query.
_rows_by_id = PreparedRead(lambda ids: Video.objects.order_by().values(*_ITEM_COLUMNS).filter(id__in=ids))


def _link_parts(ids: list[uuid.UUID]) -> tuple[QuerySet[Any, tuple[Any, ...]], ...]:
    """The hashtags and mentions of these videos as (row id, video id, name, kind)."""
    tags = VideoHashtag.objects.order_by().filter(video_id__in=ids)
    mentions = Mention.objects.order_by().filter(video_id__in=ids)
    return (
        tags.values_list("id", "video_id", "hashtag__name", Value(_TAG)),
        mentions.values_list("id", "video_id", "mentioned__username", Value(_MENTION)),
    )


def _mark_parts(ids: list[uuid.UUID], viewer_id: uuid.UUID) -> tuple[QuerySet[Any, tuple[Any, ...]], ...]:
    """The viewer's registered marks among these videos, in the same columns."""
    return tuple(
        parts(ids, viewer_id).order_by().values_list("id", "video_id", Value(""), Value(2 + n))
        for n, parts in enumerate(_marks.values())
    )


def _union(first: QuerySet[Any, Any], *rest: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
    return first.union(*rest, all=True)


# One UNION each, compiled once per number of videos (building and compiling it was most of its cost).
_links = PreparedRead(lambda ids: _union(*_link_parts(ids)))
_viewer_links = PreparedRead(lambda ids, viewer_id: _union(*_link_parts(ids), *_mark_parts(ids, viewer_id)))


def _card(
    row: dict[str, Any], hashtags: list[str], mentions: list[str], marks: dict[str, bool | None]
) -> dict[str, Any]:
    """``VideoOut``'s fields, key for key and in its order (tests/videos/test_cards.py validates it)."""
    video_id = row["id"]
    ready = row["state"] == VideoState.READY
    username = row["owner__username"]
    avatar_key = row["owner__avatar_key"]
    return {
        "id": video_id,
        "author": {
            "id": row["owner_id"],
            "username": username,
            "display_name": row["owner__display_name"] or username,  # User.name
            "bio": row["owner__bio"],
            "avatar_url": f"/media/{avatar_key}" if avatar_key else None,  # accounts.selectors.avatar_url
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
            **media_urls(video_id, row["state"], row["playable_at"], row["renditions"], row["preview_count"]),
        },
        "like_count": row["like_count"],
        "comment_count": row["comment_count"],
        "bookmark_count": row["bookmark_count"],
        **marks,
    }
