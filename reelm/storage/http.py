"""Serve stored objects over HTTP: streaming, byte ranges, and headers that stop a browser from treating an
upload as a page (nosniff, a fixed content type chosen from Reelm's own key, a sandboxing CSP)."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

from reelm.storage.base import ObjectNotFound, ObjectStore

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type_for(key: str) -> str:
    for suffix, content_type in CONTENT_TYPES.items():
        if key.endswith(suffix):
            return content_type
    return "application/octet-stream"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` for a single satisfiable range; None for no/ignored range.

    Raises ValueError for an unsatisfiable range.
    """
    match = _RANGE_RE.match(header.strip())
    if not match:
        return None  # malformed or multi-range: serve the whole object, as RFC 9110 allows
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise ValueError("empty suffix range")
        return max(size - length, 0), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        raise ValueError("range not satisfiable")
    return start, end


def serve_object(
    request: HttpRequest, store: ObjectStore, key: str, *, download_name: str, cache_control: str
) -> HttpResponse:
    try:
        info = store.head(key)
    except ObjectNotFound:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
        "Content-Disposition": f'inline; filename="{download_name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if info.etag:
        headers["ETag"] = info.etag
    if info.last_modified:
        headers["Last-Modified"] = http_date(info.last_modified.timestamp())
    content_type = content_type_for(key)
    if info.etag and request.headers.get("If-None-Match") == info.etag:
        return HttpResponse(status=304, headers=headers)
    byte_range = None
    if "Range" in request.headers and request.method == "GET":
        try:
            byte_range = parse_range(request.headers["Range"], info.size)
        except ValueError:
            headers["Content-Range"] = f"bytes */{info.size}"
            return HttpResponse(status=416, headers=headers)
    start, end = byte_range or (0, info.size)
    if request.method == "HEAD":
        response: HttpResponse | StreamingHttpResponse = HttpResponse(content_type=content_type, headers=headers)
    else:
        response = StreamingHttpResponse(store.stream(key, start, end), content_type=content_type, headers=headers)
    response["Content-Length"] = str(end - start)
    if byte_range:
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return response  # type: ignore[return-value]
