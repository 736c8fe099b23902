"""Background work for videos. Tasks are thin: they load by id and call a service."""

from __future__ import annotations

import uuid

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from reelm.videos import services


# Transient failures (storage hiccups, a killed ffmpeg) are retried; permanent ones mark the video failed.
@db_task(retries=3, retry_delay=5)
def transcode_video(video_id: str) -> None:
    services.video_transcode(video_id=uuid.UUID(video_id))


@db_periodic_task(crontab(minute="*"))
def recover_stalled_transcodes() -> None:
    services.videos_recover_stalled()


@HUEY.on_startup()
def recover_on_startup() -> None:
    # A worker that starts after a crash takes up what the dead one held, without waiting for the minute tick.
    if not HUEY.immediate:
        services.videos_recover_stalled(grace_seconds=0)
