"""The shapes of the watch-event API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from ninja import Field, Schema

BATCH_MAX = 100
MS_MAX = 24 * 3600 * 1000  # a day; anything longer is a broken client


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
