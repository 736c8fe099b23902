"""Follows, follow requests, blocks and mutes.

These endpoints were first served by ``reelm.social.api``: they keep its OpenAPI tag and operation ids, so the
public API did not change when they moved.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from reelm.accounts.auth import current_user, viewer
from reelm.accounts.schemas import UserOut
from reelm.accounts.selectors import user_get_by_username
from reelm.relations import selectors, services
from reelm.relations.schemas import FollowOut, FollowRequestOut, RelationOut, UserPageOut

router = Router(tags=["social"])
PAGE_SIZE = 50


def _op(name: str) -> str:
    """The operation id this endpoint had in ``reelm.social.api``: generated clients name their methods by it."""
    return f"reelm_social_api_{name}"


# --- follows -------------------------------------------------------------------------------------------------


@router.post(
    "/users/{username}/follow",
    response={200: FollowOut, 201: FollowOut},
    summary="Follow an account",
    description="Public accounts are followed at once (`accepted`); a private account gets a `pending` request "
    "it may approve or decline. 201 when a follow or request was made, 200 when it already existed.",
    operation_id=_op("follow"),
)
def follow(request: HttpRequest, username: str) -> Status[FollowOut]:
    followee = user_get_by_username(username)
    created_follow, created = services.follow_create(follower=current_user(request), followee=followee)
    return Status(201 if created else 200, FollowOut.of(created_follow, followee.username))


@router.delete(
    "/users/{username}/follow",
    response={204: None},
    summary="Unfollow an account, or withdraw a pending request",
    operation_id=_op("unfollow"),
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
    operation_id=_op("followers"),
)
def followers(request: HttpRequest, username: str, cursor: Query[uuid.UUID | None] = None) -> UserPageOut:
    who = viewer(request)
    account = selectors.account_get_for_viewer(username, who)
    found = selectors.followers_of(account, who, before=cursor, limit=PAGE_SIZE + 1)
    return _user_page([f.owner for f in found], found)


@router.get(
    "/users/{username}/following",
    response=UserPageOut,
    auth=None,
    summary="Accounts an account follows (a private account shows them only to approved followers)",
    operation_id=_op("following"),
)
def following(request: HttpRequest, username: str, cursor: Query[uuid.UUID | None] = None) -> UserPageOut:
    who = viewer(request)
    account = selectors.account_get_for_viewer(username, who)
    found = selectors.following_of(account, who, before=cursor, limit=PAGE_SIZE + 1)
    return _user_page([f.followee for f in found], found)


@router.get(
    "/me/follow-requests",
    response=list[FollowRequestOut],
    summary="Pending requests to follow you",
    operation_id=_op("follow_requests"),
)
def follow_requests(request: HttpRequest) -> list[FollowRequestOut]:
    return [FollowRequestOut.of(f) for f in selectors.follow_requests_pending(current_user(request))[:200]]


@router.post(
    "/me/follow-requests/{request_id}/approve",
    response=FollowOut,
    summary="Approve a request to follow you",
    operation_id=_op("follow_request_approve"),
)
def follow_request_approve(request: HttpRequest, request_id: str) -> FollowOut:
    approved = services.follow_request_approve(account=current_user(request), request_id=request_id)
    return FollowOut.of(approved, approved.owner.username)


@router.post(
    "/me/follow-requests/{request_id}/decline",
    response={204: None},
    summary="Decline a request to follow you",
    operation_id=_op("follow_request_decline"),
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
    operation_id=_op("block"),
)
def block(request: HttpRequest, username: str) -> Status[RelationOut]:
    target = user_get_by_username(username)
    made, created = services.block_create(blocker=current_user(request), blocked=target)
    return Status(201 if created else 200, RelationOut(username=target.username, created_at=made.created_at))


@router.delete(
    "/users/{username}/block",
    response={204: None},
    summary="Unblock an account (idempotent)",
    operation_id=_op("unblock"),
)
def unblock(request: HttpRequest, username: str) -> Status[None]:
    services.block_delete(blocker=current_user(request), blocked=user_get_by_username(username))
    return Status(204, None)


@router.put(
    "/users/{username}/mute",
    response={200: RelationOut, 201: RelationOut},
    summary="Mute an account",
    description="Its videos leave your For You and Following feeds and it sends you no notifications; you can "
    "still open its profile. 201 when the mute was made, 200 when it already existed.",
    operation_id=_op("mute"),
)
def mute(request: HttpRequest, username: str) -> Status[RelationOut]:
    target = user_get_by_username(username)
    made, created = services.mute_create(muter=current_user(request), muted=target)
    return Status(201 if created else 200, RelationOut(username=target.username, created_at=made.created_at))


@router.delete(
    "/users/{username}/mute",
    response={204: None},
    summary="Unmute an account (idempotent)",
    operation_id=_op("unmute"),
)
def unmute(request: HttpRequest, username: str) -> Status[None]:
    services.mute_delete(muter=current_user(request), muted=user_get_by_username(username))
    return Status(204, None)


@router.get(
    "/me/blocks",
    response=list[RelationOut],
    summary="Accounts you blocked, newest first",
    operation_id=_op("my_blocks"),
)
def my_blocks(request: HttpRequest) -> list[RelationOut]:
    return [
        RelationOut(username=b.blocked.username, created_at=b.created_at)
        for b in selectors.blocks_of(current_user(request))[:500]
    ]


@router.get(
    "/me/mutes",
    response=list[RelationOut],
    summary="Accounts you muted, newest first",
    operation_id=_op("my_mutes"),
)
def my_mutes(request: HttpRequest) -> list[RelationOut]:
    return [
        RelationOut(username=m.muted.username, created_at=m.created_at)
        for m in selectors.mutes_of(current_user(request))[:500]
    ]
