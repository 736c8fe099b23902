"""Watch events, the recommender's signal: batches of what a viewer saw, watched, finished, replayed or skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from reelm.accounts.auth import current_user
from reelm.accounts.models import User
from reelm.core.errors import ReelmError
from reelm.core.timing import phase
from reelm.events.models import WatchEvent
from reelm.recommend.services import learn_from_events
from reelm.videos.models import Video
from reelm.videos.selectors import visible_among

BATCH_MAX = 100
EVENTS_PER_MINUTE = 600
MS_MAX = 24 * 3600 * 1000  # a day; anything longer is a broken client


class RateLimited(ReelmError):
    status = 429
    code = "rate_limited"


class WatchEventIn(Schema):
    video_id: uuid.UUID
    kind: Literal["impression", "watch", "complete", "replay", "skip", "share"]
    watched_ms: int = Field(default=0, ge=0, le=MS_MAX)
    duration_ms: int = Field(default=0, ge=0, le=MS_MAX)
    position_ms: int = Field(default=0, ge=0, le=MS_MAX)
    session_id: str = Field(default="", max_length=64)
    client_at: datetime | None = None


class WatchEventBatchIn(Schema):
    events: list[WatchEventIn] = Field(min_length=1, max_length=BATCH_MAX)


class DroppedEventOut(Schema):
    index: int
    video_id: uuid.UUID
    code: str
    message: str


class WatchEventBatchOut(Schema):
    stored: int
    dropped: list[DroppedEventOut]


def _visible_ids(viewer: User, video_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among ``video_ids`` the viewer may see (never a blocked account's): three queries for any batch."""
    videos = list(Video.objects.filter(id__in=video_ids).select_related("owner"))
    return {v.id for v in visible_among(videos, viewer)}


def watch_events_record(*, viewer: User, events: list[WatchEventIn]) -> tuple[int, list[DroppedEventOut]]:
    """Store a batch of the viewer's events. Events about videos the viewer may not see (or that do not exist)
    are dropped and reported, never stored. Refuses the whole batch past ``EVENTS_PER_MINUTE``."""
    if len(events) > BATCH_MAX:
        raise ReelmError(f"At most {BATCH_MAX} events per request.", code="batch_too_large")
    with phase("store"), transaction.atomic():
        # Sliding one-minute window, counted in the database so every web process shares it.
        recent = WatchEvent.objects.filter(owner=viewer, created_at__gte=timezone.now() - timedelta(minutes=1))
        if recent.count() + len(events) > EVENTS_PER_MINUTE:
            raise RateLimited(f"At most {EVENTS_PER_MINUTE} events a minute; send them again later.")
        visible = _visible_ids(viewer, {e.video_id for e in events})
        rows: list[WatchEvent] = []
        dropped: list[DroppedEventOut] = []
        for index, event in enumerate(events):
            if event.video_id not in visible:
                dropped.append(
                    DroppedEventOut(
                        index=index, video_id=event.video_id, code="video_not_found", message="No such video."
                    )
                )
                continue
            client_at = event.client_at
            if client_at is not None and client_at.tzinfo is None:
                client_at = client_at.replace(tzinfo=UTC)
            rows.append(
                WatchEvent(
                    owner=viewer,
                    video_id=event.video_id,
                    kind=event.kind,
                    watched_ms=event.watched_ms,
                    duration_ms=event.duration_ms,
                    position_ms=event.position_ms,
                    session_id=event.session_id,
                    client_at=client_at,
                )
            )
        WatchEvent.objects.bulk_create(rows)
    # The viewer's vector moves now, so the next page already reflects these events.
    with phase("learn"):
        learn_from_events(viewer, rows)
    return len(rows), dropped


router = Router(tags=["events"])


@router.post(
    "",
    response={202: WatchEventBatchOut},
    summary="Record watch events (up to 100 per request)",
    description="Events about videos you may not see are dropped and listed in `dropped` with their index; the "
    f"rest are stored. More than {EVENTS_PER_MINUTE} events a minute are refused with 429 `rate_limited`.",
)
def events_record(request: HttpRequest, payload: WatchEventBatchIn) -> Status[Any]:
    stored, dropped = watch_events_record(viewer=current_user(request), events=payload.events)
    return Status(202, WatchEventBatchOut(stored=stored, dropped=dropped))
