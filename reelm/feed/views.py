"""The vertical feed page: the first page is rendered into the HTML as JSON; feed.js plays it and fetches more."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from reelm.feed.api import PAGE_SIZE
from reelm.feed.feeds import feed_get, feed_page_context
from reelm.videos.cards import card_json, video_cards

SOURCES = {"for-you": "/api/feed/for-you", "following": "/api/feed/following"}


def _render(request: HttpRequest, name: str) -> HttpResponse:
    found = feed_get(name).page(request.user, None, PAGE_SIZE)
    items = video_cards(found.ids, request.user, found.rows)
    first = {
        "items": found.explained([card_json(item) for item in items]),
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
            # What the feed itself asks of its page (For You: whether to ask a new viewer for interests).
            **feed_page_context(name, request.user),
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
