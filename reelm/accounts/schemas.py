from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Field, Schema

from reelm.accounts.models import AccessToken, User
from reelm.accounts.selectors import avatar_url


class UserOut(Schema):
    id: uuid.UUID
    username: str
    display_name: str
    bio: str
    avatar_url: str | None
    profile_url: str
    is_private: bool
    follower_count: int
    following_count: int

    @staticmethod
    def of(user: User) -> UserOut:
        return UserOut(
            id=user.id,
            username=user.username,
            display_name=user.name,
            bio=user.bio,
            avatar_url=avatar_url(user),
            profile_url=f"/@{user.username}",
            is_private=user.is_private,
            follower_count=user.follower_count,
            following_count=user.following_count,
        )


class SignupIn(Schema):
    username: str
    password: str
    email: str = ""
    display_name: str = ""
    country: str = Field(
        "",
        pattern=r"^([A-Za-z]{2})?$",
        description="Two letters (ISO 3166-1): where the account lives, which chooses its home realm.",
    )


class ProfileIn(Schema):
    display_name: str | None = None
    bio: str | None = None
    is_private: bool | None = None


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def of(token: AccessToken) -> TokenOut:
        return TokenOut(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreatedOut(TokenOut):
    secret: str
