"""The viewer's control over For You: "not interested" (a video, its creator or a hashtag) and the feed settings."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from reelm.accounts.auth import current_user
from reelm.core.errors import NotFound, ReelmError
from reelm.core.languages import MAX_PREFERRED
from reelm.recommend.models import Taste
from reelm.recommend.not_interested import not_interested_add, not_interested_remove
from reelm.recommend.selectors import NotInterestedRow, not_interested_rows
from reelm.recommend.taste import taste_get, taste_settings_set
from reelm.videos.models import VideoHashtag
from reelm.videos.selectors import video_get_for_viewer

router = Router(tags=["recommendations"])


class NotInterestedIn(Schema):
    video_id: uuid.UUID
    scope: Literal["video", "author", "hashtag"] = "video"
    hashtag: str | None = Field(default=None, max_length=64, description="Needed when scope is hashtag.")


class NotInterestedOut(Schema):
    id: uuid.UUID
    scope: str
    target: str
    label: str


class FeedSettingsIn(Schema):
    personalised: bool | None = None
    more_following: int | None = Field(default=None, ge=0, le=100)
    more_new_creators: int | None = Field(default=None, ge=0, le=100)
    interests: list[str] | None = Field(default=None, max_length=20)
    languages: list[str] | None = Field(
        default=None,
        max_length=MAX_PREFERRED,
        description="ISO 639-1 codes of the languages you watch in, first preferred (an empty list: none).",
    )


class FeedSettingsOut(Schema):
    personalised: bool
    more_following: int
    more_new_creators: int
    interests: list[str]
    languages: list[str]
    languages_chosen: bool = Field(
        description="False while the languages are guessed from your browser at sign-in; true once you set them."
    )


def _out(rows: list[NotInterestedRow]) -> list[NotInterestedOut]:
    return [NotInterestedOut(id=r.id, scope=r.scope, target=r.target, label=r.label) for r in rows]


def not_interested_target(user: Any, payload: NotInterestedIn) -> str:
    """What the choice names: the video, its creator or one of its hashtags (which must be on it)."""
    video = video_get_for_viewer(payload.video_id, user)
    if payload.scope == "video":
        return video.id.hex
    if payload.scope == "author":
        if video.owner_id == user.id:
            raise ReelmError("That is your own video.", code="own_video")
        return video.owner_id.hex
    name = (payload.hashtag or "").lower().lstrip("#")
    if not VideoHashtag.objects.filter(video_id=video.id, hashtag__name=name).exists():
        raise ReelmError("That hashtag is not on this video.", code="hashtag_not_on_video")
    return name


@router.post(
    "/not-interested",
    response={201: NotInterestedOut},
    summary="Not interested: stop showing this video, its creator or one of its hashtags in For You",
)
def not_interested_create(request: HttpRequest, payload: NotInterestedIn) -> Status[Any]:
    user = current_user(request)
    target = not_interested_target(user, payload)
    choice = not_interested_add(user, scope=payload.scope, target=target, video_id=payload.video_id)
    return Status(201, _out(not_interested_rows(user, [choice]))[0])


@router.get("/not-interested", response=list[NotInterestedOut], summary="What you said you are not interested in")
def not_interested_list(request: HttpRequest) -> list[NotInterestedOut]:
    return _out(not_interested_rows(current_user(request)))


@router.delete("/not-interested/{choice_id}", response={204: None}, summary="Take a 'not interested' back")
def not_interested_delete(request: HttpRequest, choice_id: uuid.UUID) -> Status[None]:
    if not not_interested_remove(current_user(request), choice_id):
        raise NotFound("No such choice.")
    return Status(204, None)


def _settings_out(taste: Taste) -> FeedSettingsOut:
    return FeedSettingsOut(
        personalised=taste.personalised,
        more_following=taste.more_following,
        more_new_creators=taste.more_new_creators,
        interests=list(taste.interests),
        languages=list(taste.languages),
        languages_chosen=taste.languages_chosen,
    )


@router.get("/settings", response=FeedSettingsOut, summary="Your For You settings")
def settings_get(request: HttpRequest) -> FeedSettingsOut:
    return _settings_out(taste_get(current_user(request)))


@router.patch(
    "/settings",
    response=FeedSettingsOut,
    summary="Tune For You",
    description="`personalised: false` shows the transparent, non-personalised ranking; `more_following` and "
    "`more_new_creators` (0–100, 50 is the default) tune the mix; `interests` are hashtags to start from; "
    f'`languages` (ISO 639-1 codes, first preferred, at most {MAX_PREFERRED}) feed "popular in your language": once '
    "set, even to none, they are no longer guessed from your browser.",
)
def settings_update(request: HttpRequest, payload: FeedSettingsIn) -> FeedSettingsOut:
    taste = taste_settings_set(current_user(request), **payload.model_dump())
    return _settings_out(taste)
