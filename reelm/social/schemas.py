"""What the social API sends: reactions and comments."""

from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Field, Schema

from reelm.accounts.schemas import UserOut
from reelm.social.models import Comment


class ReactionOut(Schema):
    active: bool = Field(description="Whether you now like (or bookmark) it.")
    count: int


class CommentIn(Schema):
    body: str
    parent_id: uuid.UUID | None = Field(
        default=None, description="Reply to this comment; a reply to a reply joins its top-level thread."
    )


class CommentOut(Schema):
    id: uuid.UUID
    video_id: uuid.UUID
    parent_id: uuid.UUID | None
    author: UserOut
    body: str
    pinned: bool
    like_count: int
    reply_count: int | None = Field(description="Replies to a top-level comment; null for replies.")
    liked: bool | None = Field(description="Whether you liked it; null when not signed in.")
    created_at: datetime

    @staticmethod
    def of(comment: Comment, *, liked: bool | None = None) -> CommentOut:
        return CommentOut(
            id=comment.id,
            video_id=comment.video_id,
            parent_id=comment.parent_id,
            author=UserOut.of(comment.owner),
            body=comment.body,
            pinned=comment.pinned,
            like_count=comment.like_count,
            reply_count=getattr(comment, "reply_total", 0 if comment.parent_id is None else None),
            liked=liked,
            created_at=comment.created_at,
        )


class CommentPageOut(Schema):
    items: list[CommentOut]
    next_cursor: uuid.UUID | None
