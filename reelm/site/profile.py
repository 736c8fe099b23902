"""Reads for the profile, video and settings pages: counts, tabs and comment threads, visibility enforced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum

from reelm.accounts.models import User
from reelm.recommend.models import VideoSignal
from reelm.relations.models import Follow, FollowStatus
from reelm.relations.selectors import follow_status, followers_of, following_of
from reelm.social.models import Comment, Like
from reelm.social.selectors import comments_of_video, viewer_comment_likes
from reelm.videos.models import Video, Visibility
from reelm.videos.selectors import can_view
from reelm.videos.states import VideoState

PROFILE_TABS = ("videos", "liked", "bookmarked")


def _is_self_or_staff(viewer: Any, account: User) -> bool:
    return bool(getattr(viewer, "is_authenticated", False)) and (viewer.id == account.id or viewer.is_staff)


def can_see_profile_videos(account: User, viewer: Any) -> bool:
    """A private account shows its videos only to itself, staff and approved followers."""
    if not account.is_private or _is_self_or_staff(viewer, account):
        return True
    return follow_status(viewer, account) == FollowStatus.ACCEPTED


def likes_received(account: User, viewer: Any) -> int:
    """The sum of ``like_count`` over the account's videos this viewer may see (one query)."""
    videos = Video.objects.filter(owner=account)
    if not _is_self_or_staff(viewer, account):
        follower = follow_status(viewer, account) == FollowStatus.ACCEPTED
        if account.is_private and not follower:
            return 0
        videos = videos.filter(state=VideoState.READY).exclude(visibility=Visibility.PRIVATE)
        if not follower:
            videos = videos.filter(visibility=Visibility.PUBLIC)
    return int(videos.aggregate(total=Sum("like_count"))["total"] or 0)


def liked_videos_of(account: User, *, limit: int = 60) -> list[Video]:
    """The videos ``account`` liked that it may still see, newest like first."""
    ids = list(Like.objects.filter(owner=account).order_by("-id").values_list("video_id", flat=True)[:limit])
    videos = {v.id: v for v in Video.objects.select_related("owner").filter(id__in=ids)}
    return [videos[i] for i in ids if i in videos and can_view(videos[i], account)]


@dataclass
class Thread:
    comment: Comment
    liked: bool
    replies: list[tuple[Comment, bool]] = field(default_factory=list)


def comment_threads(video: Video, viewer: Any, *, limit: int = 50, reply_limit: int = 50) -> list[Thread]:
    """Top-level comments (pinned first, then newest) with their first replies and the viewer's likes.

    Three queries whatever the number of comments: the comments, their replies, the viewer's comment likes."""
    top = comments_of_video(video, limit=limit)
    replies: dict[Any, list[Comment]] = {c.id: [] for c in top}
    found = Comment.objects.select_related("owner").filter(video=video, parent_id__in=list(replies)).order_by("id")
    for reply in found:
        bucket = replies[reply.parent_id]
        if len(bucket) < reply_limit:
            bucket.append(reply)
    liked = viewer_comment_likes(viewer, [c.id for c in top] + [r.id for rs in replies.values() for r in rs])
    return [Thread(comment=c, liked=c.id in liked, replies=[(r, r.id in liked) for r in replies[c.id]]) for c in top]


def view_counts(video_ids: list[Any]) -> dict[Any, int]:
    """How many times each video was shown (its ``VideoSignal.impressions``; 0 before it has one): one query."""
    if not video_ids:
        return {}
    found = dict(VideoSignal.objects.filter(video_id__in=video_ids).values_list("video_id", "impressions"))
    return {video_id: int(found.get(video_id, 0)) for video_id in video_ids}


def with_views(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards for a page's grid, each with ``views`` added (copies: the API's cards stay as they are)."""
    views = view_counts([card["id"] for card in cards])
    return [{**card, "views": views.get(card["id"], 0)} for card in cards]


def lists_visible(account: User, viewer: Any) -> bool:
    """Whether the viewer may open the account's follower and following lists: the API's rule (a private account
    shows them only to itself, staff and approved followers)."""
    return can_see_profile_videos(account, viewer)


FOLLOW_LISTS = ("followers", "following")


def follow_list(account: User, viewer: Any, which: str, *, before: Any = None, limit: int = 50) -> list[Follow]:
    """One page of the account's followers or followings (``Forbidden`` when private to this viewer), as the API
    reads them: accepted follows, newest first, accounts hidden from the viewer left out."""
    read = followers_of if which == "followers" else following_of
    return read(account, viewer, before=before, limit=limit)


def follow_states(viewer: Any, accounts: list[User]) -> dict[Any, str]:
    """The viewer's follow status towards each of these accounts ("accepted", "pending"; absent: none)."""
    if not getattr(viewer, "is_authenticated", False) or not accounts:
        return {}
    rows = Follow.objects.filter(owner_id=viewer.id, followee_id__in=[a.id for a in accounts])
    return dict(rows.values_list("followee_id", "status"))
