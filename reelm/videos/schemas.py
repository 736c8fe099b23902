"""The video API's shapes (response schemas for OpenAPI and input bodies). Cards are read by ``videos.cards``,
which returns ``VideoOut`` as plain dicts."""

from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Field, Schema

from reelm.accounts.schemas import UserOut


class VideoUrls(Schema):
    page: str
    hls: str | None
    hls_live: str | None
    mp4: str | None
    poster: str | None
    previews: list[str]


class RenditionOut(Schema):
    name: str
    width: int
    height: int
    bandwidth: int


class VideoOut(Schema):
    id: uuid.UUID
    author: UserOut
    caption: str
    hashtags: list[str]
    mentions: list[str]
    visibility: str
    language: str = Field(description="ISO 639-1 code of what is spoken; empty when unknown.")
    state: str
    failure_reason: str
    duration: float | None
    width: int | None
    height: int | None
    renditions: list[RenditionOut]
    created_at: datetime
    ready_at: datetime | None
    playable_at: datetime | None
    urls: VideoUrls
    like_count: int
    comment_count: int
    bookmark_count: int
    liked: bool | None = Field(description="Whether you liked it; null when not signed in.")
    bookmarked: bool | None = Field(description="Whether you bookmarked it; null when not signed in.")


class VideoUpdateIn(Schema):
    caption: str | None = None
    visibility: str | None = None
    language: str | None = Field(None, description="ISO 639-1 code, or empty for unknown.")


class VideoPageOut(Schema):
    items: list[VideoOut]
    next_cursor: uuid.UUID | None
