"""Notification reads."""

from __future__ import annotations

import uuid
from typing import Any

from reelm.notifications.models import Notification, NotificationKind
from reelm.videos.selectors import can_view

PAGE_SIZE = 30
TEXT_MAX = 140


def unread_count(recipient_id: Any) -> int:
    """One COUNT over the partial ``notification_unread`` index."""
    return Notification.objects.filter(owner_id=recipient_id, read_at__isnull=True).count()


def notifications_page(
    *, recipient: Any, before: uuid.UUID | None = None, limit: int = PAGE_SIZE
) -> list[Notification]:
    """Newest first; ``before`` is the last id of the previous page (ids are time-ordered)."""
    queryset = Notification.objects.filter(owner_id=recipient.id).select_related(
        "actor", "video", "video__owner", "comment"
    )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id")[:limit])


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def notification_text(notification: Notification, recipient: Any) -> str:
    """A plain-text sentence (templates and clients escape it). A video the recipient can no longer see, or not
    yet (a mention in a video still transcoding), lends it none of its words."""
    who = f"@{notification.actor.username}"
    kind = notification.kind
    if kind == NotificationKind.FOLLOW:
        return f"{who} started following you"
    if kind == NotificationKind.FOLLOW_REQUEST:
        return f"{who} asked to follow you"
    video = notification.video
    visible = video is not None and can_view(video, recipient)
    if kind == NotificationKind.LIKE:
        return f"{who} liked your video"
    if kind in (NotificationKind.COMMENT, NotificationKind.REPLY):
        verb = "commented" if kind == NotificationKind.COMMENT else "replied to your comment"
        body = notification.comment.body if notification.comment is not None and visible else ""
        return f"{who} {verb}: {_clip(body)}" if body else f"{who} {verb}"
    if kind == NotificationKind.MENTION:
        caption = video.caption if video is not None and visible else ""
        return f"{who} mentioned you: {_clip(caption)}" if caption else f"{who} mentioned you in a video"
    return who
