from __future__ import annotations

from ninja import Schema

from reelm.accounts.schemas import UserOut
from reelm.videos.schemas import VideoOut


class HashtagOut(Schema):
    name: str
    video_count: int


class SearchOut(Schema):
    accounts: list[UserOut]
    videos: list[VideoOut]
    hashtags: list[HashtagOut]
