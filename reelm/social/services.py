"""Social writes: likes, bookmarks and comments (follows, blocks and mutes are ``reelm.relations.services``).

Every counter (``Video.like_count``…) moves with an ``F()`` update in the transaction that inserts or deletes its
row, and only when a row really was inserted or deleted, so repeated or racing requests never count twice.
"""

from __future__ import annotations

import unicodedata

from django.db import IntegrityError
from django.db.models import F

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from reelm.social.models import Bookmark, Comment, CommentLike, Like
from reelm.social.replication import comment_added, comment_replicate, comment_withdraw, counted_here
from reelm.videos.models import Video
from reelm.videos.replication import video_replicate

# --- likes and bookmarks -------------------------------------------------------------------------------------


def _add(model: type[Like] | type[Bookmark], counter: str, *, user: User, video: Video) -> bool:
    with realms.atomic():
        try:
            with realms.atomic():
                model.objects.create(owner=user, video=video)
        except IntegrityError:
            return False  # already there: idempotent
        Video.objects.filter(id=video.id).update(**{counter: F(counter) + 1})
    return True


def _remove(model: type[Like] | type[Bookmark], counter: str, *, user: User, video: Video) -> bool:
    with realms.atomic():
        removed, _ = model.objects.filter(owner=user, video=video).delete()
        if removed:
            Video.objects.filter(id=video.id).update(**{counter: F(counter) - removed})
    return bool(removed)


def like_create(*, user: User, video: Video) -> bool:
    """Like a video the caller has already checked ``user`` may see. Returns whether a like was added."""
    with realms.atomic():
        added = _add(Like, "like_count", user=user, video=video)
        if added:
            _reacted(user, video, "like", added=True)
    return added


def like_delete(*, user: User, video: Video) -> bool:
    with realms.atomic():
        removed = _remove(Like, "like_count", user=user, video=video)
        if removed:
            _reacted(user, video, "like", added=False)
    return removed


def bookmark_create(*, user: User, video: Video) -> bool:
    with realms.atomic():
        added = _add(Bookmark, "bookmark_count", user=user, video=video)
        if added:
            _reacted(user, video, "bookmark", added=True)
    return added


def bookmark_delete(*, user: User, video: Video) -> bool:
    with realms.atomic():
        removed = _remove(Bookmark, "bookmark_count", user=user, video=video)
        if removed:
            _reacted(user, video, "bookmark", added=False)
    return removed


def _reacted(user: User, video: Video, kind: str, *, added: bool) -> None:
    bus.emit(bus.Reacted(account_id=user.id, video_id=video.id, video_owner_id=video.owner_id, kind=kind, added=added))


# --- comments ------------------------------------------------------------------------------------------------


def clean_comment_body(body: str) -> str:
    """Drop control and bidi-override characters (newlines and tabs stay), then check the length."""
    cleaned = "".join(
        ch
        for ch in body
        if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"} or ch == "\u200d"  # keep ZWJ emoji
    ).strip()
    if not cleaned:
        raise InvalidInput("A comment cannot be empty.", code="empty_comment")
    if len(cleaned) > Comment.MAX_LENGTH:
        raise InvalidInput(f"Comments are limited to {Comment.MAX_LENGTH} characters.", code="comment_too_long")
    return cleaned


def comment_create(*, author: User, video: Video, body: str, parent: Comment | None = None) -> Comment:
    """Comment on a video ``author`` may see. Replies are one level deep: replying to a reply attaches the new
    comment to that reply's top-level comment."""
    text = clean_comment_body(body)
    if parent is not None:
        if parent.video_id != video.id:
            raise NotFound("No such comment on this video.")
        if parent.parent_id is not None:
            parent = Comment.objects.get(id=parent.parent_id)
    with realms.atomic():
        comment = Comment.objects.create(owner=author, video=video, parent=parent, body=text)
        Video.objects.filter(id=video.id).update(comment_count=F("comment_count") + 1)
        comment_added(comment, video, parent)
        comment_replicate([comment.id])
        if counted_here(video):
            video_replicate([video.id])  # the new count, to every realm
    return comment


def comment_delete(*, actor: User, comment: Comment) -> int:
    """Delete a comment (and its replies). Its author, the video's author and staff may. Returns how many
    comments went."""
    if actor.id not in (comment.owner_id, comment.video.owner_id) and not actor.is_staff:
        raise Forbidden("Only the comment's author or the video's author can delete it.")
    with realms.atomic():
        _, per_model = Comment.objects.filter(id=comment.id).delete()
        removed = per_model.get(Comment._meta.label, 0)
        if removed:
            Video.objects.filter(id=comment.video_id).update(comment_count=F("comment_count") - removed)
            comment_withdraw(comment)
            if counted_here(comment.video):
                video_replicate([comment.video_id])
    return removed


def comment_pin(*, actor: User, comment: Comment, pinned: bool = True) -> Comment:
    """The video's author pins one top-level comment; pinning another unpins the previous one."""
    if actor.id != comment.video.owner_id:
        raise Forbidden("Only the video's author can pin comments.")
    if comment.parent_id is not None:
        raise InvalidInput("Only top-level comments can be pinned.", code="pin_reply")
    with realms.atomic():
        if pinned:
            Comment.objects.filter(video_id=comment.video_id, pinned=True).exclude(id=comment.id).update(pinned=False)
        Comment.objects.filter(id=comment.id).update(pinned=pinned)
    comment.pinned = pinned
    return comment


def comment_like_create(*, user: User, comment: Comment) -> bool:
    if comment.owner.is_replica:
        raise Conflict(
            "This comment comes from another region of this site; liking it is not possible yet.", code="other_realm"
        )
    with realms.atomic():
        try:
            with realms.atomic():
                CommentLike.objects.create(owner=user, comment=comment)
        except IntegrityError:
            return False
        Comment.objects.filter(id=comment.id).update(like_count=F("like_count") + 1)
    return True


def comment_like_delete(*, user: User, comment: Comment) -> bool:
    with realms.atomic():
        removed, _ = CommentLike.objects.filter(owner=user, comment=comment).delete()
        if removed:
            Comment.objects.filter(id=comment.id).update(like_count=F("like_count") - removed)
    return bool(removed)
