"""The one NinjaAPI. Each app owns a router; errors share one shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser

from reelm.accounts.api import router as accounts_router
from reelm.accounts.auth import api_auth
from reelm.core.errors import ReelmError
from reelm.events.api import router as events_router
from reelm.feed.api import router as feed_router
from reelm.notifications.api import router as notifications_router
from reelm.recommend.api import router as recommend_router
from reelm.relations.api import router as relations_router
from reelm.search.api import router as search_router
from reelm.site.api import router as site_router
from reelm.social.api import router as social_router
from reelm.videos.api import router as videos_router


class ObjectBodyParser(Parser):
    """Every JSON body Reelm takes is an object; an array or a bare value is refused rather than silently read
    as "no fields given"."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")
        return data


api = NinjaAPI(
    title="Reelm API",
    parser=ObjectBodyParser(),
    version="1",
    description="Short videos: accounts, uploads, transcoding status, playback URLs, follows, likes, bookmarks and comments. "
    "Authenticate with a personal access token (`Authorization: Bearer reelm_…`) or a browser session.",
    auth=api_auth,
    urls_namespace="api",
)
api.add_router("", accounts_router)
api.add_router("", site_router)  # account endpoints that compose other apps: tagged "accounts"
api.add_router("/videos", videos_router)
api.add_router("", relations_router)  # follows, blocks and mutes: tagged "social" like the rest
api.add_router("", social_router)
api.add_router("/feed", feed_router)
api.add_router("/search", search_router)
api.add_router("/notifications", notifications_router)
api.add_router("/events", events_router)
api.add_router("/recommendations", recommend_router)


def error(api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(ReelmError)
def on_reelm_error(request: HttpRequest, exc: ReelmError) -> HttpResponse:
    return error(api, request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": ".".join(str(part) for part in item.get("loc", [])), "message": item.get("msg", "")}
        for item in exc.errors
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "Invalid request."
    return error(api, request, 422, "validation_error", summary, details=details)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(api, request, 401, "unauthenticated", "Sign in or send a valid access token.")


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error(api, request, 403, "forbidden", str(exc) or "Not allowed.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
        exc.status_code, "error"
    )
    message = str(exc)
    if message == "Cannot parse request body":
        code, message = "malformed_json", "The request body is not a valid JSON object."
    return error(api, request, exc.status_code, code, message)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(api, request, 404, "not_found", "Not found.")
