"""What a viewer said "not interested" to: a video, a creator or a hashtag, left out of their For You."""

from __future__ import annotations

import uuid
from typing import Any

from reelm.core.prepared import PreparedRead
from reelm.recommend.learning import learn_action
from reelm.recommend.models import NotInterested, NotInterestedScope


def not_interested_add(user: Any, *, scope: str, target: str, video_id: uuid.UUID | None = None) -> NotInterested:
    """Remember the choice (idempotent); the video that prompted it also teaches the viewer's vector to avoid it."""
    choice, _ = NotInterested.objects.get_or_create(owner_id=user.id, scope=scope, target=target[:64])
    if video_id is not None:
        learn_action(user, video_id, "not_interested")
    return choice


def not_interested_remove(user: Any, choice_id: uuid.UUID) -> bool:
    return NotInterested.objects.filter(owner_id=user.id, id=choice_id).delete()[0] > 0


def not_interested_sets(user: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {s: set() for s in NotInterestedScope.values}
    for scope, target in _not_interested_rows(user.id):
        out[scope].add(target)
    return out


# Compiled once (For You asks on every page).
_not_interested_rows = PreparedRead(
    lambda owner_id: NotInterested.objects.order_by().filter(owner_id=owner_id).values_list("scope", "target")
)
