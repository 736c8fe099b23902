"""Media URLs: /media/videos/<id>/<path> and /media/avatars/<user>/<name>.jpg, read through the storage seam."""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from reelm.accounts.auth import viewer
from reelm.core.errors import NotFound
from reelm.storage.http import serve_object
from reelm.storage.registry import media_store
from reelm.videos.selectors import is_publicly_visible, media_key, video_get_for_viewer
from reelm.videos.states import VideoState

_AVATAR_RE = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}\.jpg$")


@require_safe
def video_media(request: HttpRequest, video_id: str, path: str) -> HttpResponse:
    try:
        video = video_get_for_viewer(video_id, viewer(request))
    except NotFound:
        raise Http404("No such video") from None
    key = media_key(video, path)
    if key is None:
        raise Http404("No such file")
    public = is_publicly_visible(video)
    if path.endswith(".m3u8") and video.state != VideoState.READY:
        cache = "no-store"
    elif public:
        cache = "public, max-age=31536000, immutable"  # attempt prefixes make every URL's content final
    else:
        cache = "private, no-store"
    name = path.replace("/", "-")
    return serve_object(request, media_store(), key, download_name=name, cache_control=cache)


@require_safe
def avatar_media(request: HttpRequest, path: str) -> HttpResponse:
    if not _AVATAR_RE.match(path):
        raise Http404("No such file")
    return serve_object(
        request,
        media_store(),
        f"avatars/{path}",
        download_name="avatar.jpg",
        cache_control="public, max-age=86400",
    )
