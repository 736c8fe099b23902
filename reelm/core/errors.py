"""Errors the services raise; the API turns each into ``{"error": {"code", "message"}}`` with its status."""

from __future__ import annotations


class ReelmError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(ReelmError):
    status = 404
    code = "not_found"


class Forbidden(ReelmError):
    status = 403
    code = "forbidden"


class InvalidInput(ReelmError):
    status = 400
    code = "invalid_input"


class PayloadTooLarge(ReelmError):
    status = 413
    code = "payload_too_large"


class UnsupportedMedia(ReelmError):
    status = 415
    code = "unsupported_media"


class Conflict(ReelmError):
    status = 409
    code = "conflict"
