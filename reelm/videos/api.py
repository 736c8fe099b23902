from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from reelm.accounts.auth import current_user, viewer
from reelm.core.errors import ReelmError
from reelm.relations.selectors import account_get_for_viewer
from reelm.videos import selectors, services
from reelm.videos.cards import video_card, video_cards
from reelm.videos.embed import OEmbedOut, oembed
from reelm.videos.schemas import VideoOut, VideoPageOut, VideoUpdateIn

router = Router(tags=["videos"])
PAGE_SIZE = 20


@router.post(
    "",
    response={201: VideoOut},
    summary="Upload a video",
    description="Multipart form with `file`, optional `caption`, `visibility` (public, followers, private) and "
    "`language` (an ISO 639-1 code of what is spoken, such as `en`; empty for unknown; left out: your first "
    "preferred language). The file is identified by its content (MP4/MOV, WebM, MKV). Transcoding runs in the background: poll the "
    "video until `state` is `ready` (or `failed`, with `failure_reason`).",
)
def video_upload(
    request: HttpRequest,
    file: File[UploadedFile],
    caption: Form[str] = "",
    visibility: Form[str] = "public",
    language: Form[str | None] = None,
) -> Status[dict[str, Any]]:
    video = services.video_create(
        owner=current_user(request),
        upload_path=Path(file.temporary_file_path()),  # type: ignore[attr-defined]
        caption=caption,
        visibility=visibility,
        language=language,
    )
    return Status(201, video_card(video, current_user(request)))


@router.get("", response=VideoPageOut, auth=None, summary="Newest public videos (cursor paginated)")
def video_list(request: HttpRequest, cursor: Query[uuid.UUID | None] = None) -> dict[str, Any]:
    who = viewer(request)
    videos = list(selectors.videos_public(before=cursor, limit=PAGE_SIZE + 1, viewer=who))
    more = len(videos) > PAGE_SIZE
    videos = videos[:PAGE_SIZE]
    return {"items": video_cards(videos, who), "next_cursor": videos[-1].id if more else None}


@router.get("/by/{username}", response=list[VideoOut], auth=None, summary="An account's videos you may see")
def video_list_by_author(request: HttpRequest, username: str) -> list[dict[str, Any]]:
    who = viewer(request)
    author = account_get_for_viewer(username, who)
    return video_cards(selectors.videos_of_owner(owner_id=author.id, viewer=who), who)


@router.get(
    "/oembed",
    response=OEmbedOut,
    auth=None,
    url_name="video_oembed",
    summary="oEmbed for a video page URL (public videos only)",
    description="https://oembed.com: `url` is a video page of this site (`/v/<id>`); the answer's `html` is an "
    "iframe of the embed player. Only JSON is offered (`format=xml` answers 501).",
)
def video_oembed(
    request: HttpRequest,
    url: str,
    maxwidth: int | None = None,
    maxheight: int | None = None,
    format: str = "json",
) -> dict[str, Any]:
    if format != "json":
        raise ReelmError("Only format=json is offered.", code="format_not_supported", status=501)
    origin = f"{request.scheme}://{request.get_host()}"
    return oembed(url, origin, max_width=maxwidth, max_height=maxheight)


@router.get("/{video_id}", response=VideoOut, auth=None, summary="A video, its state and playback URLs")
def video_detail(request: HttpRequest, video_id: str) -> dict[str, Any]:
    who = viewer(request)
    return video_card(selectors.video_get_for_viewer(video_id, who), who)


@router.patch("/{video_id}", response=VideoOut, summary="Edit caption, visibility or language")
def video_update(request: HttpRequest, video_id: str, payload: VideoUpdateIn) -> dict[str, Any]:
    video = selectors.video_get_for_viewer(video_id, current_user(request))
    video = services.video_update(
        video=video,
        editor=current_user(request),
        caption=payload.caption,
        visibility=payload.visibility,
        language=payload.language,
    )
    return video_card(video, current_user(request))


@router.delete("/{video_id}", response={204: None}, summary="Delete a video and all its media")
def video_delete(request: HttpRequest, video_id: str) -> Status[None]:
    video = selectors.video_get_for_viewer(video_id, current_user(request))
    services.video_delete(video=video, actor=current_user(request))
    return Status(204, None)
