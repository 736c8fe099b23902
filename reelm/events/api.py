"""Watch events, the recommender's signal: batches of what a viewer saw, watched, finished, replayed or skipped."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from reelm.accounts.auth import current_user
from reelm.events.schemas import WatchEventBatchIn, WatchEventBatchOut
from reelm.events.services import EVENTS_PER_MINUTE, watch_events_record

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
