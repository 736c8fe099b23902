"""The video lifecycle, declared once: uploaded → processing → ready | failed(reason)."""

from __future__ import annotations

from django.db import models


class VideoState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


TRANSITIONS: dict[str, set[str]] = {
    VideoState.UPLOADED: {VideoState.PROCESSING, VideoState.FAILED},
    # Back to uploaded when a transient error releases the claim; processing → processing is a takeover
    # of a stalled attempt.
    VideoState.PROCESSING: {VideoState.READY, VideoState.FAILED, VideoState.UPLOADED, VideoState.PROCESSING},
    VideoState.READY: set(),
    # An operator's retry sends a failed video back to the queue.
    VideoState.FAILED: {VideoState.UPLOADED},
}


class InvalidTransition(Exception):
    pass


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"a video cannot go from {current} to {target}")


# Every state has a defined way out or is final; fail at import if the graph is edited inconsistently.
assert set(TRANSITIONS) == set(VideoState.values)
assert all(target in VideoState.values for targets in TRANSITIONS.values() for target in targets)
