"""Upload handler that refuses an oversized body while it streams in, not after buffering it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from reelm.core.errors import PayloadTooLarge

# Room for multipart framing and the other form fields around the file.
FORM_OVERHEAD = 1024 * 1024


def limit_message() -> str:
    return f"Uploads are limited to {settings.REELM_MAX_UPLOAD_BYTES // (1024 * 1024)} MiB."


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        # A declared length over the limit is refused before a byte of the body is read.
        if content_length and content_length > settings.REELM_MAX_UPLOAD_BYTES + FORM_OVERHEAD:
            raise PayloadTooLarge(limit_message())
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received = start + len(raw_data)
        if self.received > settings.REELM_MAX_UPLOAD_BYTES:
            self.file.close()  # deletes the temporary file
            raise PayloadTooLarge(limit_message())
        return super().receive_data_chunk(raw_data, start)
