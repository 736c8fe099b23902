"""The vertical feed page: the first page is rendered into the HTML as JSON; feed.js plays it and fetches more."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from reelm.feed.api import PAGE_SIZE
from reelm.feed.sources import feed_get
from reelm.recommend.views import needs_interests
from reelm.videos.models import Video
from reelm.videos.schemas import VideoOut
from reelm.videos.selectors import with_listing

SOURCES = {"for-you": "/api/feed/for-you", "following": "/api/feed/following"}


def _render(request: HttpRequest, name: str) -> HttpResponse:
    found = feed_get(name).page(request.user, None, PAGE_SIZE)
    by_id = {v.id: v for v in with_listing(Video.objects.filter(id__in=found.ids))}
    items = VideoOut.many([by_id[i] for i in found.ids if i in by_id], request.user)
    first = {
        "items": found.explained([item.model_dump(mode="json") for item in items]),
        "next_cursor": found.next_cursor,
    }
    return render(
        request,
        "feed/feed.html",
        {
            "tab": name,
            "source": SOURCES[name],
            "first": first,
            "items": items,
            "needs_interests": name == "for-you" and needs_interests(request.user),
        },
    )


@ensure_csrf_cookie
def feed(request: HttpRequest) -> HttpResponse:
    return _render(request, "for-you")


@ensure_csrf_cookie
def feed_following(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"/login?next={request.path}")
    return _render(request, "following")
