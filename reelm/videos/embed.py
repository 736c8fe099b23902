"""Embedding a public video on another site: the iframe code and the oEmbed answer (https://oembed.com)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from django.utils.html import format_html
from ninja import Schema

from reelm.core.errors import NotFound
from reelm.videos.cards import media_urls
from reelm.videos.models import Video
from reelm.videos.selectors import is_publicly_visible, video_get

# Vertical by default; a video's own shape where it is known.
DEFAULT_WIDTH, DEFAULT_HEIGHT = 325, 578
_PAGE_PATH_RE = re.compile(r"^/v/(?P<id>[0-9a-fA-F-]{36})/?$")


class OEmbedOut(Schema):
    version: str
    type: str
    provider_name: str
    provider_url: str
    title: str
    author_name: str
    author_url: str
    width: int
    height: int
    html: str
    thumbnail_url: str
    thumbnail_width: int
    thumbnail_height: int


def embeddable(video: Video) -> bool:
    """Only what anyone may watch can be put on another site."""
    return is_publicly_visible(video)


def embed_size(video: Video, max_width: int | None = None, max_height: int | None = None) -> tuple[int, int]:
    width, height = DEFAULT_WIDTH, DEFAULT_HEIGHT
    if video.width and video.height:
        height = round(width * video.height / video.width)
    # Non-positive limits are ignored rather than refused: consumers send all sorts.
    limit_w = max_width if max_width and max_width > 0 else width
    limit_h = max_height if max_height and max_height > 0 else height
    scale = min(1.0, limit_w / width, limit_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def embed_code(video: Video, origin: str, size: tuple[int, int] | None = None) -> str:
    width, height = size or embed_size(video)
    return format_html(
        '<iframe src="{}/embed/{}" width="{}" height="{}" title="{}" frameborder="0" '
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen loading="lazy"></iframe>',
        origin,
        video.id,
        width,
        height,
        f"Video by @{video.owner.username} on Reelm",
    )


def oembed(url: str, origin: str, *, max_width: int | None = None, max_height: int | None = None) -> dict[str, Any]:
    """The oEmbed ``video`` answer for one of this site's video page URLs. Anything else, and any video that is
    not public, is "not found" (404 in the API), as the spec asks."""
    parsed = urlparse(url)
    own = urlparse(origin)
    match = _PAGE_PATH_RE.match(parsed.path)
    if parsed.scheme not in ("http", "https") or parsed.netloc != own.netloc or not match:
        raise NotFound("Not a video page of this site.")
    video = video_get(match["id"])
    if not embeddable(video):
        raise NotFound("No such video.")
    width, height = embed_size(video, max_width, max_height)
    poster = media_urls(video.id, video.state, video.playable_at, video.renditions, video.preview_count)["poster"]
    return {
        "version": "1.0",
        "type": "video",
        "provider_name": "Reelm",
        "provider_url": origin + "/",
        "title": video.caption[:200] or f"Video by @{video.owner.username}",
        "author_name": video.owner.username,
        "author_url": f"{origin}/@{video.owner.username}",
        "width": width,
        "height": height,
        "html": str(embed_code(video, origin, (width, height))),
        "thumbnail_url": origin + poster,
        "thumbnail_width": video.width or width,
        "thumbnail_height": video.height or height,
    }
