"""Social reads: viewer reactions and comments, with video visibility enforced (the follow graph is
``reelm.relations.selectors``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count

from reelm.accounts.models import User
from reelm.core.errors import NotFound
from reelm.relations.selectors import blocked_between, not_hidden
from reelm.social.models import Bookmark, Comment, CommentLike
from reelm.videos.models import Video
from reelm.videos.selectors import video_get_for_viewer, visible_among


def _authenticated(viewer: Any) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def bookmarks_of(account: User, *, limit: int = 60) -> list[Video]:
    """The videos ``account`` bookmarked that it may still see, newest bookmark first."""
    marks = Bookmark.objects.filter(owner=account).order_by("-id").values_list("video_id", flat=True)[:limit]
    ids = list(marks)
    videos = {v.id: v for v in visible_among(list(Video.objects.select_related("owner").filter(id__in=ids)), account)}
    return [videos[i] for i in ids if i in videos]


def comment_get_for_viewer(comment_id: uuid.UUID | str, viewer: Any) -> Comment:
    """A comment on a video this viewer may see; anything else is reported as missing."""
    try:
        key = uuid.UUID(str(comment_id))
    except ValueError:
        raise NotFound("No such comment.") from None
    comment = Comment.objects.select_related("owner", "video", "video__owner").filter(id=key).first()
    if comment is None:
        raise NotFound("No such comment.")
    try:
        video_get_for_viewer(comment.video_id, viewer)
    except NotFound:
        raise NotFound("No such comment.") from None
    if _authenticated(viewer) and blocked_between(viewer.id, comment.owner_id):
        raise NotFound("No such comment.")
    return comment


def comments_of_video(
    video: Video,
    *,
    parent: Comment | None = None,
    cursor: uuid.UUID | None = None,
    limit: int = 50,
    viewer: Any = None,
) -> list[Comment]:
    """Top-level comments (pinned first, then newest) or, with ``parent``, its replies (oldest first), without
    those of accounts ``viewer`` blocks or is blocked by.

    ``cursor`` is the last id of the previous page (ids are time-ordered)."""
    queryset = Comment.objects.select_related("owner").filter(not_hidden(viewer), video=video, parent=parent)
    if parent is None:
        if cursor is not None:
            queryset = queryset.filter(id__lt=cursor, pinned=False)
        page = list(queryset.order_by("-pinned", "-id")[:limit])
        # Replies are counted for this page only: annotating the query counted them for every comment of the
        # video before the limit applied, so a long thread made every page slower.
        totals = dict(
            Comment.objects.filter(parent_id__in=[c.id for c in page])
            .values("parent_id")
            .annotate(total=Count("id"))
            .values_list("parent_id", "total")
        )
        for comment in page:
            comment.reply_total = totals.get(comment.id, 0)  # type: ignore[attr-defined]
        return page
    if cursor is not None:
        queryset = queryset.filter(id__gt=cursor)
    return list(queryset.order_by("id")[:limit])


def viewer_comment_likes(viewer: Any, comment_ids: Iterable[Any]) -> set[Any]:
    ids = list(comment_ids)
    if not _authenticated(viewer) or not ids:
        return set()
    return set(CommentLike.objects.filter(owner_id=viewer.id, comment_id__in=ids).values_list("comment_id", flat=True))
