"""Keep the API's error shape for responses produced outside Ninja (unknown URLs, oversized bodies)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from reelm.core.errors import ReelmError

_MESSAGES = {
    # Django answers a body it cannot parse (a malformed multipart upload) with its own HTML 400 page.
    400: ("bad_request", "The request could not be parsed."),
    404: ("not_found", "No such endpoint."),
    405: ("method_not_allowed", "Method not allowed."),
}


def error_response(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code in _MESSAGES:
            code, message = _MESSAGES[response.status_code]
            return error_response(code, message, response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Upload limits fire while Django parses the body, before a view runs.
        if isinstance(exception, ReelmError):
            if request.path.startswith("/api/"):
                return error_response(exception.code, exception.message, exception.status)
            return HttpResponse(exception.message, status=exception.status, content_type="text/plain")
        return None
