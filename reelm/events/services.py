"""Recording watch events: the rate limit, the visibility check and the batch insert."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from django.utils import timezone

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.core.errors import ReelmError
from reelm.core.timing import phase
from reelm.events.models import WatchEvent
from reelm.events.schemas import BATCH_MAX, DroppedEventOut, WatchEventIn
from reelm.videos.models import Video
from reelm.videos.selectors import visible_among

EVENTS_PER_MINUTE = 600


class RateLimited(ReelmError):
    status = 429
    code = "rate_limited"


def _visible_ids(viewer: User, video_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among ``video_ids`` the viewer may see (never a blocked account's): three queries for any batch."""
    videos = list(Video.objects.filter(id__in=video_ids).select_related("owner"))
    return {v.id for v in visible_among(videos, viewer)}


def watch_events_record(*, viewer: User, events: list[WatchEventIn]) -> tuple[int, list[DroppedEventOut]]:
    """Store a batch of the viewer's events. Events about videos the viewer may not see (or that do not exist)
    are dropped and reported, never stored. Refuses the whole batch past ``EVENTS_PER_MINUTE``."""
    if len(events) > BATCH_MAX:
        raise ReelmError(f"At most {BATCH_MAX} events per request.", code="batch_too_large")
    with phase("store"), realms.atomic():
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
    # The recommender learns from them as soon as they are stored, so the next page already reflects them.
    with phase("learn"):
        bus.emit(
            bus.WatchEventsRecorded(
                viewer_id=viewer.id,
                events=tuple(bus.Watched(r.video_id, r.kind, r.watched_ms, r.duration_ms) for r in rows),
            )
        )
    return len(rows), dropped
