"""Likes, bookmarks and comments. Videos and comments the caller may not see are reported as missing.

Follows, blocks and mutes are served by ``reelm.relations.api``, under the same ``social`` tag."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from reelm.accounts.auth import current_user, viewer
from reelm.social import selectors, services
from reelm.social.models import Comment
from reelm.social.schemas import CommentIn, CommentOut, CommentPageOut, ReactionOut
from reelm.videos.cards import video_cards
from reelm.videos.models import Video
from reelm.videos.schemas import VideoOut
from reelm.videos.selectors import video_get_for_viewer

router = Router(tags=["social"])
PAGE_SIZE = 50


# --- likes and bookmarks -------------------------------------------------------------------------------------


def _visible_video(request: HttpRequest, video_id: str) -> Video:
    return video_get_for_viewer(video_id, current_user(request))


def _reaction(video: Video, counter: str, active: bool) -> ReactionOut:
    video.refresh_from_db(fields=[counter])
    return ReactionOut(active=active, count=getattr(video, counter))


@router.put("/videos/{video_id}/like", response=ReactionOut, summary="Like a video (liking again changes nothing)")
def like(request: HttpRequest, video_id: str) -> ReactionOut:
    video = _visible_video(request, video_id)
    services.like_create(user=current_user(request), video=video)
    return _reaction(video, "like_count", True)


@router.delete("/videos/{video_id}/like", response=ReactionOut, summary="Take back a like")
def unlike(request: HttpRequest, video_id: str) -> ReactionOut:
    video = _visible_video(request, video_id)
    services.like_delete(user=current_user(request), video=video)
    return _reaction(video, "like_count", False)


@router.put("/videos/{video_id}/bookmark", response=ReactionOut, summary="Bookmark a video (idempotent)")
def bookmark(request: HttpRequest, video_id: str) -> ReactionOut:
    video = _visible_video(request, video_id)
    services.bookmark_create(user=current_user(request), video=video)
    return _reaction(video, "bookmark_count", True)


@router.delete("/videos/{video_id}/bookmark", response=ReactionOut, summary="Remove a bookmark")
def unbookmark(request: HttpRequest, video_id: str) -> ReactionOut:
    video = _visible_video(request, video_id)
    services.bookmark_delete(user=current_user(request), video=video)
    return _reaction(video, "bookmark_count", False)


@router.get("/me/bookmarks", response=list[VideoOut], summary="Videos you bookmarked, newest bookmark first")
def my_bookmarks(request: HttpRequest) -> list[dict[str, Any]]:
    me = current_user(request)
    return video_cards(selectors.bookmarks_of(me), me)


# --- comments ------------------------------------------------------------------------------------------------


def _comment_page(comments: list[Comment], who: Any) -> CommentPageOut:
    more = len(comments) > PAGE_SIZE
    comments = comments[:PAGE_SIZE]
    liked = selectors.viewer_comment_likes(who, [c.id for c in comments])
    signed_in = bool(getattr(who, "is_authenticated", False))
    return CommentPageOut(
        items=[CommentOut.of(c, liked=(c.id in liked) if signed_in else None) for c in comments],
        next_cursor=comments[-1].id if more else None,
    )


@router.get(
    "/videos/{video_id}/comments",
    response=CommentPageOut,
    auth=None,
    summary="A video's top-level comments: the pinned one first, then newest first",
)
def comments(request: HttpRequest, video_id: str, cursor: Query[uuid.UUID | None] = None) -> CommentPageOut:
    who = viewer(request)
    video = video_get_for_viewer(video_id, who)
    return _comment_page(selectors.comments_of_video(video, cursor=cursor, limit=PAGE_SIZE + 1, viewer=who), who)


@router.get(
    "/comments/{comment_id}/replies",
    response=CommentPageOut,
    auth=None,
    summary="Replies to a comment, oldest first",
)
def replies(request: HttpRequest, comment_id: str, cursor: Query[uuid.UUID | None] = None) -> CommentPageOut:
    who = viewer(request)
    parent = selectors.comment_get_for_viewer(comment_id, who)
    found = selectors.comments_of_video(parent.video, parent=parent, cursor=cursor, limit=PAGE_SIZE + 1, viewer=who)
    return _comment_page(found, who)


@router.post(
    "/videos/{video_id}/comments",
    response={201: CommentOut},
    summary="Comment on a video, or reply to a comment",
    description="At most 1000 characters; control characters are removed. Replies are one level deep: a reply "
    "to a reply joins the top-level comment's thread.",
)
def comment_create(request: HttpRequest, video_id: str, payload: CommentIn) -> Status[CommentOut]:
    me = current_user(request)
    video = video_get_for_viewer(video_id, me)
    parent = None
    if payload.parent_id is not None:
        parent = selectors.comment_get_for_viewer(payload.parent_id, me)
    comment = services.comment_create(author=me, video=video, body=payload.body, parent=parent)
    return Status(201, CommentOut.of(comment, liked=False))


@router.delete(
    "/comments/{comment_id}",
    response={204: None},
    summary="Delete a comment and its replies (its author or the video's author)",
)
def comment_delete(request: HttpRequest, comment_id: str) -> Status[None]:
    me = current_user(request)
    services.comment_delete(actor=me, comment=selectors.comment_get_for_viewer(comment_id, me))
    return Status(204, None)


@router.put(
    "/comments/{comment_id}/pin",
    response=CommentOut,
    summary="Pin a comment on your video (unpins the one pinned before)",
)
def comment_pin(request: HttpRequest, comment_id: str) -> CommentOut:
    me = current_user(request)
    pinned = services.comment_pin(actor=me, comment=selectors.comment_get_for_viewer(comment_id, me))
    return CommentOut.of(pinned, liked=None)


@router.delete("/comments/{comment_id}/pin", response=CommentOut, summary="Unpin a comment on your video")
def comment_unpin(request: HttpRequest, comment_id: str) -> CommentOut:
    me = current_user(request)
    unpinned = services.comment_pin(actor=me, comment=selectors.comment_get_for_viewer(comment_id, me), pinned=False)
    return CommentOut.of(unpinned, liked=None)


@router.put("/comments/{comment_id}/like", response=ReactionOut, summary="Like a comment (idempotent)")
def comment_like(request: HttpRequest, comment_id: str) -> ReactionOut:
    comment = selectors.comment_get_for_viewer(comment_id, current_user(request))
    services.comment_like_create(user=current_user(request), comment=comment)
    comment.refresh_from_db(fields=["like_count"])
    return ReactionOut(active=True, count=comment.like_count)


@router.delete("/comments/{comment_id}/like", response=ReactionOut, summary="Take back a comment like")
def comment_unlike(request: HttpRequest, comment_id: str) -> ReactionOut:
    comment = selectors.comment_get_for_viewer(comment_id, current_user(request))
    services.comment_like_delete(user=current_user(request), comment=comment)
    comment.refresh_from_db(fields=["like_count"])
    return ReactionOut(active=False, count=comment.like_count)
