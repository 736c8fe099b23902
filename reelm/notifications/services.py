"""Notification writes, called by ``subscribers`` once the cause (a like, a follow, a mention) has committed.

Nothing is sent between two accounts where either blocks the other, nor to an account that muted the actor;
blocking deletes what the two had already sent each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone

from reelm.accounts.models import User
from reelm.core import realms
from reelm.notifications.models import Notification, NotificationKind
from reelm.relations.selectors import blocked_between, muted_by


def notification_create(
    *,
    recipient_id: uuid.UUID,
    actor_id: uuid.UUID,
    kind: str,
    video_id: uuid.UUID | None = None,
    comment_id: uuid.UUID | None = None,
) -> Notification | None:
    """Tell ``recipient`` that ``actor`` did ``kind``. Nobody is notified of their own actions; an unread like
    of the same video by the same actor is not repeated. Returns the new notification, or None."""
    if recipient_id == actor_id:
        return None
    if realms.configured() and not User.objects.filter(id=recipient_id, home_realm=realms.current_realm()).exists():
        return None  # a replica: the recipient's own realm tells them, when the cause reaches it
    if blocked_between(recipient_id, actor_id) or muted_by(recipient_id, actor_id):
        return None
    if kind == NotificationKind.LIKE and _unread(recipient_id, actor_id, kind, video_id=video_id).exists():
        return None
    try:
        with realms.atomic():
            return Notification.objects.create(
                owner_id=recipient_id, actor_id=actor_id, kind=kind, video_id=video_id, comment_id=comment_id
            )
    except IntegrityError:  # a racing like made it first
        return None


def notification_withdraw(
    *,
    recipient_id: uuid.UUID,
    actor_id: uuid.UUID,
    kinds: Iterable[str],
    video_id: uuid.UUID | None = None,
) -> int:
    """The cause was undone (unlike, unfollow, mention removed): remove what the recipient has not read yet."""
    removed, _ = _unread(recipient_id, actor_id, *kinds, video_id=video_id).delete()
    return removed


def _unread(recipient_id: Any, actor_id: Any, *kinds: str, video_id: Any = None) -> QuerySet[Notification]:
    queryset = Notification.objects.filter(
        owner_id=recipient_id, actor_id=actor_id, kind__in=kinds, read_at__isnull=True
    )
    if video_id is not None:
        queryset = queryset.filter(video_id=video_id)
    return queryset


def notifications_mark_read(
    *, recipient_id: uuid.UUID, ids: Iterable[uuid.UUID] | None = None, up_to: uuid.UUID | None = None
) -> int:
    """Mark the recipient's unread notifications read: all of them, or only ``ids`` (others' ids are ignored), or
    only those up to the notification ``up_to`` (ids are time-ordered: what a page showed, and everything older)."""
    queryset = Notification.objects.filter(owner_id=recipient_id, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(id__in=list(ids))
    if up_to is not None:
        queryset = queryset.filter(id__lte=up_to)
    return queryset.update(read_at=timezone.now())
