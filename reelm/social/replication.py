"""Comments across realms. A comment is authored, and kept, in its author's realm; one on a public video is public
and is replicated into every other realm (with the same id, so replies find their thread anywhere). The video's
home realm counts it and tells the video's author; every realm tells its own accounts of replies to them. The
author, or the video's author, may take it down: ``comment.gone`` goes to every realm."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.utils.dateparse import parse_datetime

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.gateway.kinds import Delivery, GatewayRefused, kind
from reelm.gateway.services import send
from reelm.social.models import Comment
from reelm.videos.models import Video
from reelm.videos.replication import video_replicate

COMMENT_FIELDS = ("id", "owner", "video", "parent", "body", "like_count", "created_at")


def _crosses(comment: Comment) -> bool:
    """A comment leaves its realm with its video: one on another realm's video, or on a video here that is public."""
    video = comment.video
    return video.owner.home_realm != realms.current_realm() or video.replicated


def comment_replicate(comment_ids: Iterable[uuid.UUID]) -> None:
    """Send every other realm the comments written here, as they are now (in the transaction that wrote them)."""
    if not realms.configured():
        return
    here = realms.current_realm()
    comments = Comment.objects.select_related("video__owner").filter(id__in=list(comment_ids), owner__home_realm=here)
    for comment in comments:
        if _crosses(comment):
            row = {
                name: getattr(comment, f"{name}_id" if name in ("owner", "video", "parent") else name)
                for name in COMMENT_FIELDS
            }
            send("comment.public", **row)


def comment_withdraw(comment: Comment) -> None:
    """The comment was taken down here: every realm that holds it drops it."""
    if realms.configured() and _crosses(comment):
        send("comment.gone", id=str(comment.id))


def comment_added(comment: Comment, video: Video, parent: Comment | None) -> None:
    """Tell this realm's subscribers (notifications, the recommender) of a comment written here or arrived."""
    bus.emit(
        bus.CommentAdded(
            comment_id=comment.id,
            author_id=comment.owner_id,
            video_id=video.id,
            video_owner_id=video.owner_id,
            parent_id=parent.id if parent else None,
            parent_author_id=parent.owner_id if parent else None,
        )
    )


def counted_here(video: Video) -> bool:
    return video.owner.home_realm == realms.current_realm()


@kind(
    "comment.public",
    why="a comment on a public video: every realm shows the thread; the video's realm counts it and tells its author",
    fields={name: f"social.Comment.{name}" for name in COMMENT_FIELDS},
)
def comment_public_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    author = User.objects.filter(id=uuid.UUID(payload["owner"])).first()
    if author is None or author.home_realm != delivery.source:
        raise GatewayRefused(f"realm {delivery.source!r} sent a comment of an account it does not hold")
    video = Video.objects.select_related("owner").filter(id=uuid.UUID(payload["video"])).first()
    if video is None:
        return  # the video is not here (gone, or no longer public): nothing to show it under
    parent = None
    if payload["parent"]:
        parent = Comment.objects.filter(id=uuid.UUID(payload["parent"])).first()
        if parent is None:
            raise GatewayRefused("the comment it replies to has not arrived yet")
    comment_id = uuid.UUID(payload["id"])
    existing = Comment.objects.filter(id=comment_id).first()
    if existing is not None:
        Comment.objects.filter(id=comment_id).update(body=payload["body"], like_count=payload["like_count"])
        return
    comment = Comment.objects.create(id=comment_id, owner=author, video=video, parent=parent, body=payload["body"])
    Comment.objects.filter(id=comment_id).update(
        like_count=payload["like_count"], created_at=parse_datetime(payload["created_at"])
    )
    if counted_here(video):
        Video.objects.filter(id=video.id).update(comment_count=F("comment_count") + 1)
        video_replicate([video.id])  # the new count, to every realm
    comment_added(comment, video, parent)


@kind(
    "comment.gone",
    why="a comment was taken down by its author or the video's author: every realm drops it and its replies",
    fields={"id": "social.Comment.id"},
)
def comment_gone_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    comment = Comment.objects.select_related("owner", "video__owner").filter(id=uuid.UUID(payload["id"])).first()
    if comment is None:
        return
    if delivery.source not in (comment.owner.home_realm, comment.video.owner.home_realm):
        raise GatewayRefused(f"realm {delivery.source!r} may not take down comment {comment.id}")
    _, per_model = Comment.objects.filter(id=comment.id).delete()
    removed = per_model.get(Comment._meta.label, 0)
    if removed and counted_here(comment.video):
        Video.objects.filter(id=comment.video_id).update(comment_count=F("comment_count") - removed)
        video_replicate([comment.video_id])
