"""Your notifications: newest first, the unread count for the bell, and marking them read."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Query, Router

from reelm.accounts.auth import current_user
from reelm.notifications import selectors, services
from reelm.notifications.schemas import MarkReadIn, MarkReadOut, NotificationOut, NotificationPageOut, UnreadCountOut

router = Router(tags=["notifications"])


@router.get("", response=NotificationPageOut, summary="Your notifications, newest first")
def notifications(request: HttpRequest, cursor: Query[uuid.UUID | None] = None) -> NotificationPageOut:
    me = current_user(request)
    found = selectors.notifications_page(recipient=me, before=cursor, limit=selectors.PAGE_SIZE + 1)
    more = len(found) > selectors.PAGE_SIZE
    found = found[: selectors.PAGE_SIZE]
    return NotificationPageOut(
        items=[NotificationOut.of(n, me) for n in found], next_cursor=found[-1].id if more else None
    )


@router.get("/unread-count", response=UnreadCountOut, summary="How many notifications you have not read")
def unread_count(request: HttpRequest) -> UnreadCountOut:
    return UnreadCountOut(unread=selectors.unread_count(current_user(request).id))


@router.post(
    "/read",
    response=MarkReadOut,
    summary="Mark notifications read",
    description="Marks the given `ids` read, or every notification when `ids` is omitted. Ids that are not "
    "yours are ignored.",
)
def mark_read(request: HttpRequest, payload: MarkReadIn) -> MarkReadOut:
    me = current_user(request)
    marked = services.notifications_mark_read(recipient_id=me.id, ids=payload.ids)
    return MarkReadOut(marked=marked, unread=selectors.unread_count(me.id))
