from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Field, Schema

from reelm.accounts.schemas import UserOut
from reelm.notifications.models import Notification
from reelm.notifications.selectors import notification_text


class NotificationOut(Schema):
    id: uuid.UUID
    kind: str = Field(description="follow, follow_request, like, comment, reply or mention")
    actor: UserOut
    video_id: uuid.UUID | None
    comment_id: uuid.UUID | None
    text: str = Field(description="A plain-text sentence; escape it before showing it as HTML.")
    read: bool
    created_at: datetime

    @staticmethod
    def of(notification: Notification, recipient: Any) -> NotificationOut:
        return NotificationOut(
            id=notification.id,
            kind=notification.kind,
            actor=UserOut.of(notification.actor),
            video_id=notification.video_id,
            comment_id=notification.comment_id,
            text=notification_text(notification, recipient),
            read=notification.read_at is not None,
            created_at=notification.created_at,
        )


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    next_cursor: uuid.UUID | None


class UnreadCountOut(Schema):
    unread: int


class MarkReadIn(Schema):
    ids: list[uuid.UUID] | None = Field(default=None, max_length=500, description="Omit to mark every one read.")


class MarkReadOut(Schema):
    marked: int
    unread: int
