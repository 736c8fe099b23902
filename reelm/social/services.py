"""Social writes: follows, likes, bookmarks and comments.

Every counter (``Video.like_count``…, ``User.follower_count``…) moves with an ``F()`` update in the transaction
that inserts or deletes its row, and only when a row really was inserted or deleted, so repeated or racing
requests never count twice.
"""

from __future__ import annotations

import unicodedata
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from reelm.accounts.models import User
from reelm.core.errors import Forbidden, InvalidInput, NotFound
from reelm.feed.anonymous import listing_changed
from reelm.notifications.models import Notification, NotificationKind
from reelm.notifications.services import notification_create, notification_withdraw
from reelm.recommend.services import learn_action, learn_follow
from reelm.social.blocks import blocked_between, relations_changed
from reelm.social.models import Block, Bookmark, Comment, CommentLike, Follow, FollowStatus, Like, Mute
from reelm.videos.models import Video

# --- follows -------------------------------------------------------------------------------------------------


def _count_follow(*, follower_id: uuid.UUID, followee_id: uuid.UUID, delta: int) -> None:
    User.objects.filter(id=follower_id).update(following_count=F("following_count") + delta)
    User.objects.filter(id=followee_id).update(follower_count=F("follower_count") + delta)


def follow_create(*, follower: User, followee: User) -> tuple[Follow, bool]:
    """Follow ``followee`` (at once if public, as a pending request if private). Following again changes
    nothing. Returns the follow and whether it was created."""
    if follower.id == followee.id:
        raise InvalidInput("You cannot follow yourself.", code="self_follow")
    with transaction.atomic():
        if blocked_between(follower.id, followee.id):
            raise Forbidden("You cannot follow this account.", code="blocked")
        # Read privacy inside the transaction, not from a possibly stale instance.
        is_private = User.objects.filter(id=followee.id).values_list("is_private", flat=True).get()
        status = FollowStatus.PENDING if is_private else FollowStatus.ACCEPTED
        follow, created = Follow.objects.get_or_create(owner=follower, followee=followee, defaults={"status": status})
        if created and follow.status == FollowStatus.ACCEPTED:
            _count_follow(follower_id=follower.id, followee_id=followee.id, delta=1)
        if created:
            accepted = follow.status == FollowStatus.ACCEPTED
            notification_create(
                recipient_id=followee.id,
                actor_id=follower.id,
                kind=NotificationKind.FOLLOW if accepted else NotificationKind.FOLLOW_REQUEST,
            )
    if created:
        learn_follow(follower, followee.id)
    return follow, created


def follow_delete(*, follower: User, followee: User) -> bool:
    """Unfollow, or withdraw a pending request. Returns whether anything was removed."""
    with transaction.atomic():
        follow = Follow.objects.filter(owner=follower, followee=followee).first()
        if follow is None:
            return False
        removed, _ = Follow.objects.filter(id=follow.id, status=follow.status).delete()
        if removed and follow.status == FollowStatus.ACCEPTED:
            _count_follow(follower_id=follower.id, followee_id=followee.id, delta=-1)
        if removed:
            notification_withdraw(
                recipient_id=followee.id,
                actor_id=follower.id,
                kinds=[NotificationKind.FOLLOW, NotificationKind.FOLLOW_REQUEST],
            )
    return bool(removed)


def _pending_request(*, account: User, request_id: uuid.UUID | str) -> Follow:
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("No such follow request.") from None
    follow = Follow.objects.select_related("owner").filter(id=key, followee=account).first()
    if follow is None or follow.status != FollowStatus.PENDING:
        raise NotFound("No such follow request.")
    return follow


def follow_request_approve(*, account: User, request_id: uuid.UUID | str) -> Follow:
    with transaction.atomic():
        follow = _pending_request(account=account, request_id=request_id)
        if Follow.objects.filter(id=follow.id, status=FollowStatus.PENDING).update(status=FollowStatus.ACCEPTED):
            _count_follow(follower_id=follow.owner_id, followee_id=account.id, delta=1)
            relations_changed([follow.owner_id])
        # The account answered the request itself: it needs no reminder of it.
        notification_withdraw(
            recipient_id=account.id, actor_id=follow.owner_id, kinds=[NotificationKind.FOLLOW_REQUEST]
        )
        follow.status = FollowStatus.ACCEPTED
    return follow


def follow_request_decline(*, account: User, request_id: uuid.UUID | str) -> None:
    with transaction.atomic():
        follow = _pending_request(account=account, request_id=request_id)
        Follow.objects.filter(id=follow.id, status=FollowStatus.PENDING).delete()
        notification_withdraw(
            recipient_id=account.id, actor_id=follow.owner_id, kinds=[NotificationKind.FOLLOW_REQUEST]
        )


def account_privacy_set(*, user: User, is_private: bool) -> User:
    """Make an account private or public. Going public approves every pending request, as TikTok does."""
    with transaction.atomic():
        User.objects.filter(id=user.id).update(is_private=is_private)
        listing_changed()  # an update() sends no signal: retire the shared anonymous pages by hand
        if not is_private:
            pending = Follow.objects.filter(followee=user, status=FollowStatus.PENDING)
            follower_ids = list(pending.values_list("owner_id", flat=True))
            if follower_ids:
                Follow.objects.filter(followee=user, owner_id__in=follower_ids, status=FollowStatus.PENDING).update(
                    status=FollowStatus.ACCEPTED
                )
                relations_changed(follower_ids)
                User.objects.filter(id__in=follower_ids).update(following_count=F("following_count") + 1)
                User.objects.filter(id=user.id).update(follower_count=F("follower_count") + len(follower_ids))
                # Unanswered requests are now follows.
                Notification.objects.filter(
                    owner=user, actor_id__in=follower_ids, kind=NotificationKind.FOLLOW_REQUEST, read_at__isnull=True
                ).update(kind=NotificationKind.FOLLOW)
    user.refresh_from_db(fields=["is_private", "follower_count", "following_count"])
    return user


# --- blocks and mutes ---------------------------------------------------------------------------------------


def block_create(*, blocker: User, blocked: User) -> tuple[Block, bool]:
    """Block ``blocked``: follows both ways are removed (through ``follow_delete``, so counters and
    notifications follow), and notifications between the two are deleted. Blocking again changes nothing.
    Returns the block and whether it was created."""
    if blocker.id == blocked.id:
        raise InvalidInput("You cannot block yourself.", code="self_block")
    with transaction.atomic():
        made, created = Block.objects.get_or_create(owner=blocker, blocked=blocked)
        if created:
            follow_delete(follower=blocker, followee=blocked)
            follow_delete(follower=blocked, followee=blocker)
            Notification.objects.filter(Q(owner=blocker, actor=blocked) | Q(owner=blocked, actor=blocker)).delete()
    return made, created


def block_delete(*, blocker: User, blocked: User) -> bool:
    """Unblock. Follows removed by the block stay removed. Returns whether a block was removed."""
    removed, _ = Block.objects.filter(owner=blocker, blocked=blocked).delete()
    return bool(removed)


def mute_create(*, muter: User, muted: User) -> tuple[Mute, bool]:
    if muter.id == muted.id:
        raise InvalidInput("You cannot mute yourself.", code="self_mute")
    return Mute.objects.get_or_create(owner=muter, muted=muted)


def mute_delete(*, muter: User, muted: User) -> bool:
    removed, _ = Mute.objects.filter(owner=muter, muted=muted).delete()
    return bool(removed)


# --- likes and bookmarks -------------------------------------------------------------------------------------


def _add(model: type[Like] | type[Bookmark], counter: str, *, user: User, video: Video) -> bool:
    with transaction.atomic():
        try:
            with transaction.atomic():
                model.objects.create(owner=user, video=video)
        except IntegrityError:
            return False  # already there: idempotent
        Video.objects.filter(id=video.id).update(**{counter: F(counter) + 1})
    return True


def _remove(model: type[Like] | type[Bookmark], counter: str, *, user: User, video: Video) -> bool:
    with transaction.atomic():
        removed, _ = model.objects.filter(owner=user, video=video).delete()
        if removed:
            Video.objects.filter(id=video.id).update(**{counter: F(counter) - removed})
    return bool(removed)


def like_create(*, user: User, video: Video) -> bool:
    """Like a video the caller has already checked ``user`` may see. Returns whether a like was added."""
    with transaction.atomic():
        added = _add(Like, "like_count", user=user, video=video)
        if added:
            notification_create(
                recipient_id=video.owner_id, actor_id=user.id, kind=NotificationKind.LIKE, video_id=video.id
            )
    if added:
        learn_action(user, video.id, "like")
    return added


def like_delete(*, user: User, video: Video) -> bool:
    with transaction.atomic():
        removed = _remove(Like, "like_count", user=user, video=video)
        if removed:
            notification_withdraw(
                recipient_id=video.owner_id, actor_id=user.id, kinds=[NotificationKind.LIKE], video_id=video.id
            )
    return removed


def bookmark_create(*, user: User, video: Video) -> bool:
    added = _add(Bookmark, "bookmark_count", user=user, video=video)
    if added:
        learn_action(user, video.id, "bookmark")
    return added


def bookmark_delete(*, user: User, video: Video) -> bool:
    return _remove(Bookmark, "bookmark_count", user=user, video=video)


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
    with transaction.atomic():
        comment = Comment.objects.create(owner=author, video=video, parent=parent, body=text)
        Video.objects.filter(id=video.id).update(comment_count=F("comment_count") + 1)
        # Deleting the comment deletes these with it (the foreign key cascades).
        if parent is not None:
            notification_create(
                recipient_id=parent.owner_id,
                actor_id=author.id,
                kind=NotificationKind.REPLY,
                video_id=video.id,
                comment_id=comment.id,
            )
        if parent is None or parent.owner_id != video.owner_id:
            notification_create(
                recipient_id=video.owner_id,
                actor_id=author.id,
                kind=NotificationKind.COMMENT,
                video_id=video.id,
                comment_id=comment.id,
            )
    learn_action(author, video.id, "comment")
    return comment


def comment_delete(*, actor: User, comment: Comment) -> int:
    """Delete a comment (and its replies). Its author, the video's author and staff may. Returns how many
    comments went."""
    if actor.id not in (comment.owner_id, comment.video.owner_id) and not actor.is_staff:
        raise Forbidden("Only the comment's author or the video's author can delete it.")
    with transaction.atomic():
        _, per_model = Comment.objects.filter(id=comment.id).delete()
        removed = per_model.get(Comment._meta.label, 0)
        if removed:
            Video.objects.filter(id=comment.video_id).update(comment_count=F("comment_count") - removed)
    return removed


def comment_pin(*, actor: User, comment: Comment, pinned: bool = True) -> Comment:
    """The video's author pins one top-level comment; pinning another unpins the previous one."""
    if actor.id != comment.video.owner_id:
        raise Forbidden("Only the video's author can pin comments.")
    if comment.parent_id is not None:
        raise InvalidInput("Only top-level comments can be pinned.", code="pin_reply")
    with transaction.atomic():
        if pinned:
            Comment.objects.filter(video_id=comment.video_id, pinned=True).exclude(id=comment.id).update(pinned=False)
        Comment.objects.filter(id=comment.id).update(pinned=pinned)
    comment.pinned = pinned
    return comment


def comment_like_create(*, user: User, comment: Comment) -> bool:
    with transaction.atomic():
        try:
            with transaction.atomic():
                CommentLike.objects.create(owner=user, comment=comment)
        except IntegrityError:
            return False
        Comment.objects.filter(id=comment.id).update(like_count=F("like_count") + 1)
    return True


def comment_like_delete(*, user: User, comment: Comment) -> bool:
    with transaction.atomic():
        removed, _ = CommentLike.objects.filter(owner=user, comment=comment).delete()
        if removed:
            Comment.objects.filter(id=comment.id).update(like_count=F("like_count") - removed)
    return bool(removed)
