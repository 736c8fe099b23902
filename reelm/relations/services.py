"""Relation writes: follows (with requests and account privacy), blocks and mutes.

``User.follower_count`` and ``following_count`` move with an ``F()`` update in the transaction that inserts or
deletes the follow, and only when a row really was inserted or deleted, so repeated or racing requests never
count twice.

Notifications, the recommender and the page cache hear of follows, blocks and privacy through ``reelm.core.bus``.
"""

from __future__ import annotations

import uuid

from django.db.models import F

from reelm.accounts.models import User
from reelm.accounts.replication import account_replicate
from reelm.core import bus, realms
from reelm.core.errors import Forbidden, InvalidInput, NotFound
from reelm.relations.counts import count_follow
from reelm.relations.models import Block, Follow, FollowStatus, Mute
from reelm.relations.replication import follow_replicate
from reelm.relations.selectors import blocked_between, relations_changed

# --- follows -------------------------------------------------------------------------------------------------


def follow_create(*, follower: User, followee: User) -> tuple[Follow, bool]:
    """Follow ``followee`` (at once if public, as a pending request if private). Following again changes
    nothing. Returns the follow and whether it was created."""
    if follower.id == followee.id:
        raise InvalidInput("You cannot follow yourself.", code="self_follow")
    with realms.atomic():
        if blocked_between(follower.id, followee.id):
            raise Forbidden("You cannot follow this account.", code="blocked")
        # Read privacy inside the transaction, not from a possibly stale instance.
        is_private = User.objects.filter(id=followee.id).values_list("is_private", flat=True).get()
        status = FollowStatus.PENDING if is_private else FollowStatus.ACCEPTED
        follow, created = Follow.objects.get_or_create(owner=follower, followee=followee, defaults={"status": status})
        if created and follow.status == FollowStatus.ACCEPTED:
            count_follow(follower_id=follower.id, followee_id=followee.id, delta=1)
        if created:
            pending = follow.status == FollowStatus.PENDING
            bus.emit(bus.FollowAdded(follower_id=follower.id, followee_id=followee.id, pending=pending))
            follow_replicate(follower_id=follower.id, followee_id=followee.id)
    return follow, created


def follow_delete(*, follower: User, followee: User) -> bool:
    """Unfollow, or withdraw a pending request. Returns whether anything was removed."""
    with realms.atomic():
        follow = Follow.objects.filter(owner=follower, followee=followee).first()
        if follow is None:
            return False
        removed, _ = Follow.objects.filter(id=follow.id, status=follow.status).delete()
        if removed and follow.status == FollowStatus.ACCEPTED:
            count_follow(follower_id=follower.id, followee_id=followee.id, delta=-1)
        if removed:
            bus.emit(bus.FollowRemoved(follower_id=follower.id, followee_id=followee.id))
            follow_replicate(follower_id=follower.id, followee_id=followee.id)
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
    with realms.atomic():
        follow = _pending_request(account=account, request_id=request_id)
        if Follow.objects.filter(id=follow.id, status=FollowStatus.PENDING).update(status=FollowStatus.ACCEPTED):
            count_follow(follower_id=follow.owner_id, followee_id=account.id, delta=1)
            relations_changed([follow.owner_id])
        bus.emit(bus.FollowApproved(follower_id=follow.owner_id, followee_id=account.id))
        follow_replicate(follower_id=follow.owner_id, followee_id=account.id)
        follow.status = FollowStatus.ACCEPTED
    return follow


def follow_request_decline(*, account: User, request_id: uuid.UUID | str) -> None:
    with realms.atomic():
        follow = _pending_request(account=account, request_id=request_id)
        Follow.objects.filter(id=follow.id, status=FollowStatus.PENDING).delete()
        bus.emit(bus.FollowDeclined(follower_id=follow.owner_id, followee_id=account.id))
        follow_replicate(follower_id=follow.owner_id, followee_id=account.id)


def account_privacy_set(*, user: User, is_private: bool) -> User:
    """Make an account private or public. Going public approves every pending request, as TikTok does."""
    with realms.atomic():
        User.objects.filter(id=user.id).update(is_private=is_private)
        follower_ids: list[uuid.UUID] = []
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
        account_replicate([user.id, *follower_ids])
        for follower_id in follower_ids:
            follow_replicate(follower_id=follower_id, followee_id=user.id)
        # An update() sends no signal: the page cache and notifications hear of it here.
        bus.emit(bus.AccountPrivacyChanged(account_id=user.id, is_private=is_private, approved=tuple(follower_ids)))
    user.refresh_from_db(fields=["is_private", "follower_count", "following_count"])
    return user


# --- blocks and mutes ---------------------------------------------------------------------------------------


def block_create(*, blocker: User, blocked: User) -> tuple[Block, bool]:
    """Block ``blocked``: follows both ways are removed (through ``follow_delete``, so counters and
    notifications follow), and notifications between the two are deleted. Blocking again changes nothing.
    Returns the block and whether it was created."""
    if blocker.id == blocked.id:
        raise InvalidInput("You cannot block yourself.", code="self_block")
    with realms.atomic():
        made, created = Block.objects.get_or_create(owner=blocker, blocked=blocked)
        if created:
            follow_delete(follower=blocker, followee=blocked)
            follow_delete(follower=blocked, followee=blocker)
            bus.emit(bus.BlockAdded(blocker_id=blocker.id, blocked_id=blocked.id))
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
