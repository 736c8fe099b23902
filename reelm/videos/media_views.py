"""Media URLs: /media/videos/<id>/<path> and /media/avatars/<user>/<name>.jpg, read through the storage seam."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from reelm.accounts.auth import viewer
from reelm.accounts.models import User
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
    store = media_store(video.owner.home_realm)  # a replica's media stay in its home realm's store
    if settings.REELM_MEDIA_DIRECT_ORIGINS and not path.endswith(".m3u8"):
        # Playlists stay here: their relative segment URIs must resolve against Reelm, which redirects each one.
        signed = store.signed_url(key, settings.REELM_MEDIA_URL_SECONDS)
        if signed:
            return _redirect(signed, public)
    name = path.replace("/", "-")
    return serve_object(request, store, key, download_name=name, cache_control=cache)


def _redirect(url: str, public: bool) -> HttpResponse:
    # A browser may reuse the redirect for a while, never past the signature's expiry; shared caches never.
    max_age = settings.REELM_MEDIA_URL_SECONDS // 2 if public else 0
    response = HttpResponse(status=302, headers={"Location": url, "Cache-Control": f"private, max-age={max_age}"})
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def avatar_media(request: HttpRequest, path: str) -> HttpResponse:
    if not _AVATAR_RE.match(path):
        raise Http404("No such file")
    home = User.objects.filter(id=path.partition("/")[0]).values_list("home_realm", flat=True).first()
    if home is None:
        raise Http404("No such file")
    return serve_object(
        request,
        media_store(home),
        f"avatars/{path}",
        download_name="avatar.jpg",
        cache_control="public, max-age=86400",
    )
