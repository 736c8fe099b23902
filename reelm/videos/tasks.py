"""Background work for videos: transcode an upload, and queue again what a dead worker dropped."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from huey import crontab

from reelm.core.queues import TRANSCODE
from reelm.videos import transcoding
from reelm.videos.models import Video
from reelm.videos.states import VideoState

log = logging.getLogger(__name__)


# Transient failures (storage hiccups, a killed ffmpeg) are retried; permanent ones mark the video failed.
@TRANSCODE.db_task(retries=3, retry_delay=5)
def transcode_video(video_id: str) -> None:
    transcoding.video_transcode(video_id=uuid.UUID(video_id))


@TRANSCODE.db_periodic_task(crontab(minute="*"))
def recover_stalled_transcodes() -> None:
    videos_recover_stalled()


@TRANSCODE.on_startup()
def recover_on_startup() -> None:
    # A worker that starts after a crash takes up what the dead one held, without waiting for the minute tick.
    if not TRANSCODE.immediate:
        videos_recover_stalled(grace_seconds=0)


def transcode_enqueue(video_id: uuid.UUID, *, delay: float | None = None) -> None:
    if delay:
        transcode_video.schedule(args=(str(video_id),), delay=delay)
    else:
        transcode_video(str(video_id))


def videos_recover_stalled(*, grace_seconds: float = 30) -> int:
    """Queue every video whose transcode was lost: never picked up, or held by a worker that died.

    Queueing a video twice is harmless: only one attempt can claim it.
    """
    now = timezone.now()
    count = 0
    stalled = Video.objects.filter(
        Q(state=VideoState.UPLOADED, updated_at__lt=now - timedelta(seconds=grace_seconds))
        | Q(state=VideoState.PROCESSING, lease_until__lt=now)
    )
    for video_id in stalled.values_list("id", flat=True):
        transcode_enqueue(video_id)
        count += 1
    # Held by a worker that may have died: look again when the lease runs out.
    held = Video.objects.filter(state=VideoState.PROCESSING, lease_until__gte=now)
    for video_id, lease_until in held.values_list("id", "lease_until"):
        assert lease_until is not None
        transcode_enqueue(video_id, delay=(lease_until - now).total_seconds() + 1)
        count += 1
    if count:
        log.info("recovery queued %d video(s) for transcoding", count)
    return count
