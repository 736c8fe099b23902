"""Follows, likes, bookmarks and comments. Videos and comments the caller may not see are reported as missing."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from reelm.accounts.auth import current_user, viewer
from reelm.accounts.schemas import UserOut
from reelm.accounts.selectors import user_get_by_username
from reelm.social import selectors, services
from reelm.social.blocks import account_get_for_viewer, blocks_of, mutes_of
from reelm.social.models import Comment
from reelm.social.schemas import (
    CommentIn,
    CommentOut,
    CommentPageOut,
    FollowOut,
    FollowRequestOut,
    ReactionOut,
    RelationOut,
    UserPageOut,
)
from reelm.videos.models import Video
from reelm.videos.schemas import VideoOut
from reelm.videos.selectors import video_get_for_viewer

router = Router(tags=["social"])
PAGE_SIZE = 50


# --- follows -------------------------------------------------------------------------------------------------


@router.post(
    "/users/{username}/follow",
    response={200: FollowOut, 201: FollowOut},
    summary="Follow an account",
    description="Public accounts are followed at once (`accepted`); a private account gets a `pending` request "
    "it may approve or decline. 201 when a follow or request was made, 200 when it already existed.",
)
def follow(request: HttpRequest, username: str) -> Status[FollowOut]:
    followee = user_get_by_username(username)
    created_follow, created = services.follow_create(follower=current_user(request), followee=followee)
    return Status(201 if created else 200, FollowOut.of(created_follow, followee.username))


@router.delete(
    "/users/{username}/follow",
    response={204: None},
    summary="Unfollow an account, or withdraw a pending request",
)
def unfollow(request: HttpRequest, username: str) -> Status[None]:
    services.follow_delete(follower=current_user(request), followee=user_get_by_username(username))
    return Status(204, None)


def _user_page(users: list[Any], follows: list[Any]) -> UserPageOut:
    more = len(follows) > PAGE_SIZE
    return UserPageOut(
        items=[UserOut.of(u) for u in users[:PAGE_SIZE]],
        next_cursor=follows[PAGE_SIZE - 1].id if more else None,
    )


@router.get(
    "/users/{username}/followers",
    response=UserPageOut,
    auth=None,
    summary="An account's followers (a private account shows them only to approved followers)",
)
def followers(request: HttpRequest, username: str, cursor: Query[uuid.UUID | None] = None) -> UserPageOut:
    who = viewer(request)
    account = account_get_for_viewer(username, who)
    found = selectors.followers_of(account, who, before=cursor, limit=PAGE_SIZE + 1)
    return _user_page([f.owner for f in found], found)


@router.get(
    "/users/{username}/following",
    response=UserPageOut,
    auth=None,
    summary="Accounts an account follows (a private account shows them only to approved followers)",
)
def following(request: HttpRequest, username: str, cursor: Query[uuid.UUID | None] = None) -> UserPageOut:
    who = viewer(request)
    account = account_get_for_viewer(username, who)
    found = selectors.following_of(account, who, before=cursor, limit=PAGE_SIZE + 1)
    return _user_page([f.followee for f in found], found)


@router.get("/me/follow-requests", response=list[FollowRequestOut], summary="Pending requests to follow you")
def follow_requests(request: HttpRequest) -> list[FollowRequestOut]:
    return [FollowRequestOut.of(f) for f in selectors.follow_requests_pending(current_user(request))[:200]]


@router.post("/me/follow-requests/{request_id}/approve", response=FollowOut, summary="Approve a request to follow you")
def follow_request_approve(request: HttpRequest, request_id: str) -> FollowOut:
    approved = services.follow_request_approve(account=current_user(request), request_id=request_id)
    return FollowOut.of(approved, approved.owner.username)


@router.post(
    "/me/follow-requests/{request_id}/decline", response={204: None}, summary="Decline a request to follow you"
)
def follow_request_decline(request: HttpRequest, request_id: str) -> Status[None]:
    services.follow_request_decline(account=current_user(request), request_id=request_id)
    return Status(204, None)


# --- blocks and mutes ---------------------------------------------------------------------------------------


@router.put(
    "/users/{username}/block",
    response={200: RelationOut, 201: RelationOut},
    summary="Block an account",
    description="You and the account no longer see each other's profile, videos or comments, and cannot follow "
    "each other; follows between you are removed (unblocking does not bring them back). 201 when the block was "
    "made, 200 when it already existed.",
)
def block(request: HttpRequest, username: str) -> Status[RelationOut]:
    target = user_get_by_username(username)
    made, created = services.block_create(blocker=current_user(request), blocked=target)
    return Status(201 if created else 200, RelationOut(username=target.username, created_at=made.created_at))


@router.delete("/users/{username}/block", response={204: None}, summary="Unblock an account (idempotent)")
def unblock(request: HttpRequest, username: str) -> Status[None]:
    services.block_delete(blocker=current_user(request), blocked=user_get_by_username(username))
    return Status(204, None)


@router.put(
    "/users/{username}/mute",
    response={200: RelationOut, 201: RelationOut},
    summary="Mute an account",
    description="Its videos leave your For You and Following feeds and it sends you no notifications; you can "
    "still open its profile. 201 when the mute was made, 200 when it already existed.",
)
def mute(request: HttpRequest, username: str) -> Status[RelationOut]:
    target = user_get_by_username(username)
    made, created = services.mute_create(muter=current_user(request), muted=target)
    return Status(201 if created else 200, RelationOut(username=target.username, created_at=made.created_at))


@router.delete("/users/{username}/mute", response={204: None}, summary="Unmute an account (idempotent)")
def unmute(request: HttpRequest, username: str) -> Status[None]:
    services.mute_delete(muter=current_user(request), muted=user_get_by_username(username))
    return Status(204, None)


@router.get("/me/blocks", response=list[RelationOut], summary="Accounts you blocked, newest first")
def my_blocks(request: HttpRequest) -> list[RelationOut]:
    return [
        RelationOut(username=b.blocked.username, created_at=b.created_at)
        for b in blocks_of(current_user(request))[:500]
    ]


@router.get("/me/mutes", response=list[RelationOut], summary="Accounts you muted, newest first")
def my_mutes(request: HttpRequest) -> list[RelationOut]:
    return [
        RelationOut(username=m.muted.username, created_at=m.created_at) for m in mutes_of(current_user(request))[:500]
    ]


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
def my_bookmarks(request: HttpRequest) -> list[VideoOut]:
    me = current_user(request)
    return VideoOut.many(selectors.bookmarks_of(me), me)


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
