from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reelm.core.errors import InvalidInput, NotFound
from reelm.search import selectors


def search_page(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    context: dict[str, object] = {"q": raw[: selectors.QUERY_MAX * 2]}
    status = 200
    if raw.strip():
        try:
            query = selectors.clean_query(raw)
        except InvalidInput as exc:
            context["error"] = exc.message
            status = 400
        else:
            context["results"] = selectors.search(query=query, viewer=request.user, limit=24)
    return render(request, "search/search.html", context, status=status)


def hashtag_page(request: HttpRequest, name: str) -> HttpResponse:
    try:
        hashtag = selectors.hashtag_get(name, request.user)
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        before = uuid.UUID(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    videos, next_cursor = selectors.hashtag_videos(hashtag, request.user, before=before)
    return render(request, "search/hashtag.html", {"hashtag": hashtag, "videos": videos, "next_cursor": next_cursor})
