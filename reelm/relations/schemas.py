"""What the relations API sends: follows, follow requests, blocks and mutes, and pages of accounts."""

from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Field, Schema

from reelm.accounts.schemas import UserOut
from reelm.relations.models import Follow


class FollowOut(Schema):
    username: str
    status: str = Field(description="`accepted`, or `pending` until a private account approves the request.")

    @staticmethod
    def of(follow: Follow, username: str) -> FollowOut:
        return FollowOut(username=username, status=follow.status)


class RelationOut(Schema):
    """An account you blocked or muted."""

    username: str
    created_at: datetime = Field(description="When you blocked (or muted) it.")


class FollowRequestOut(Schema):
    id: uuid.UUID
    follower: UserOut
    created_at: datetime

    @staticmethod
    def of(follow: Follow) -> FollowRequestOut:
        return FollowRequestOut(id=follow.id, follower=UserOut.of(follow.owner), created_at=follow.created_at)


class UserPageOut(Schema):
    items: list[UserOut]
    next_cursor: uuid.UUID | None
