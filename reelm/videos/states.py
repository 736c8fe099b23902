"""The video lifecycle, declared once: uploaded → processing → ready | failed(reason)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import QuerySet


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


def transition(videos: QuerySet[Any], current: str | Iterable[str], target: str, **fields: Any) -> int:
    """Move those of ``videos`` that are in ``current`` (a state or several) to ``target``, setting ``fields`` too;
    return how many moved.

    Every source state is checked against the graph first, so an undeclared move raises ``InvalidTransition``
    whatever the rows hold. The UPDATE is filtered on the source states: a row another process moved on
    meanwhile is left alone (compare-and-set), which is why callers look at the count.
    """
    sources = [current] if isinstance(current, str) else list(current)
    for source in sources:
        check_transition(source, target)
    return int(videos.filter(state__in=sources).update(state=target, **fields))


# Every state has a defined way out or is final; fail at import if the graph is edited inconsistently.
assert set(TRANSITIONS) == set(VideoState.values)
assert all(target in VideoState.values for targets in TRANSITIONS.values() for target in targets)
