"""Transcoding one video: claim it with a lease, run the ladder, publish the attempt or release it."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from reelm.core import bus, realms
from reelm.core.ids import uuid7
from reelm.storage.base import ObjectStore
from reelm.storage.registry import media_store
from reelm.transcode import ffmpeg
from reelm.transcode.publisher import SegmentPublisher
from reelm.videos.models import Video
from reelm.videos.states import VideoState, transition

log = logging.getLogger(__name__)


def _lease() -> timedelta:
    return timedelta(seconds=settings.REELM_TRANSCODE_LEASE_SECONDS)


def _claim(video_id: uuid.UUID) -> tuple[Video, uuid.UUID] | None:
    """Take the video for one attempt, or return None if it is done, failed or another worker holds it."""
    now = timezone.now()
    video = Video.objects.filter(id=video_id).first()
    if video is None:
        log.info("video %s no longer exists; nothing to transcode", video_id)
        return None
    stalled = video.state == VideoState.PROCESSING and video.lease_until is not None and video.lease_until < now
    if video.state != VideoState.UPLOADED and not stalled:
        log.info("video %s is %s; nothing to do", video_id, video.state)
        return None
    if video.attempts >= settings.REELM_TRANSCODE_MAX_ATTEMPTS:
        _finish_failed(video, f"gave up after {video.attempts} attempts")
        return None
    token = uuid7()
    # Compare-and-set on the previous attempt's token: of two workers racing for the row, one wins.
    won = transition(
        Video.objects.filter(id=video_id, attempt_token=video.attempt_token),
        video.state,
        VideoState.PROCESSING,
        attempt_token=token,
        attempt_prefix=f"videos/{video_id}/{token}/",
        lease_until=now + _lease(),
        attempts=F("attempts") + 1,
        playable_at=None,
    )
    if not won:
        return None
    if video.attempt_prefix and video.attempt_prefix != video.media_prefix:
        # What a killed or abandoned attempt left behind is never published; clear it away.
        media_store().delete_prefix(video.attempt_prefix)
    video.refresh_from_db()
    log.info("video %s: transcode attempt %d (%s)", video_id, video.attempts, "takeover" if stalled else "new")
    return video, token


def _mine(video: Video, token: uuid.UUID) -> Any:
    return Video.objects.filter(id=video.id, attempt_token=token, state=VideoState.PROCESSING)


class LeaseLost(Exception):
    """Another worker took the video over (this one stalled past its lease)."""


class AttemptHeartbeat:
    """Renews the attempt's lease and records early playability, from the transcoding thread only.

    A killed worker stops renewing and its lease runs out. Database writes stay on one thread on purpose: the
    publisher thread only talks to the object store.
    """

    def __init__(self, video: Video, token: uuid.UUID, outputs: ffmpeg.LadderOutputs | None = None):
        self.video, self.token, self.outputs = video, token, outputs
        self.interval = max(settings.REELM_TRANSCODE_LEASE_SECONDS / 3, 0.5)
        self.renewed = time.monotonic()
        self.marked_playable = False

    def beat(self, *, playable: bool = False) -> None:
        if playable and not self.marked_playable and self.outputs is not None:
            lowest = min(self.outputs.renditions, key=lambda r: r.width * r.height)
            _mine(self.video, self.token).update(
                playable_at=timezone.now(), renditions=_renditions_json(self.outputs, lowest)
            )
            self.marked_playable = True
        if time.monotonic() - self.renewed >= self.interval:
            if not _mine(self.video, self.token).update(lease_until=timezone.now() + _lease()):
                raise LeaseLost(f"video {self.video.id}: another worker took over")
            self.renewed = time.monotonic()


WORKDIR_PREFIX = "reelm-transcode-"


def _remove_local_leftovers(video_id: uuid.UUID) -> None:
    """A worker killed on this machine left its scratch folder; the claim proves nobody here still uses it."""
    for leftover in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}{video_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def video_transcode(*, video_id: uuid.UUID) -> None:
    """Run one transcode attempt. Safe to call twice or concurrently: only the claim holder works."""
    claimed = _claim(video_id)
    if claimed is None:
        return
    video, token = claimed
    store = media_store()
    _remove_local_leftovers(video.id)
    workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{video.id}-"))
    try:
        outputs, media = _transcode_into(video, token, store, workdir)
    except (ffmpeg.TranscodeError, ffmpeg.ProbeError) as exc:
        reason = exc.message if isinstance(exc, ffmpeg.ProbeError) else str(exc)
        _attempt_failed(video, token, reason)
        return
    except BaseException as exc:
        _attempt_released(video, token, exc)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _publish(video, token, media, outputs)


def _transcode_into(
    video: Video, token: uuid.UUID, store: ObjectStore, workdir: Path
) -> tuple[ffmpeg.LadderOutputs, ffmpeg.MediaProbe]:
    heartbeat = AttemptHeartbeat(video, token)
    source = workdir / f"source.{Path(video.source_key).suffix.lstrip('.')}"
    fetched = store.download(video.source_key, source)
    heartbeat.beat()
    if video.source_sha256 and fetched.sha256 != video.source_sha256:
        raise OSError(f"original {video.source_key} does not match its checksum")
    media = ffmpeg.probe(source)  # trust nothing stored earlier
    outputs = ffmpeg.plan_outputs(media)
    ffmpeg.prepare_workdir(workdir, outputs)
    lowest = min(outputs.renditions, key=lambda r: r.width * r.height)
    heartbeat.outputs = outputs
    publisher = SegmentPublisher(
        store=store,
        workdir=workdir,
        prefix=video.attempt_prefix,
        playlists=[outputs.playlist(r) for r in outputs.renditions],
        first_playlist=outputs.playlist(lowest),
    )
    cmd = ffmpeg.ladder_command(source, media, outputs, preset=settings.REELM_X264_PRESET)
    publisher.start()
    try:
        ffmpeg.run_ladder(cmd, workdir, on_progress=lambda _done: heartbeat.beat(playable=publisher.playable))
    finally:
        publisher.stop()
    publisher.flush()  # every final segment and playlist, with its end marker
    heartbeat.beat(playable=publisher.playable)
    prefix = video.attempt_prefix
    store.put(prefix + "hls/master.m3u8", ffmpeg.master_playlist(outputs.renditions, media.has_audio).encode())
    store.put_file(prefix + outputs.mp4, workdir / outputs.mp4)
    store.put_file(prefix + outputs.poster, workdir / outputs.poster)
    for index in range(1, outputs.preview_count + 1):
        preview = workdir / (outputs.preview_pattern % index)
        if preview.exists():
            store.put_file(prefix + preview.name, preview)
    return outputs, media


def _renditions_json(outputs: ffmpeg.LadderOutputs, lowest: ffmpeg.Rendition) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "width": r.width,
            "height": r.height,
            "bandwidth": r.bandwidth,
            "lowest": r == lowest,
            "mp4": r == outputs.mp4_rendition,
        }
        for r in sorted(outputs.renditions, key=lambda r: r.bandwidth)
    ]


def _publish(video: Video, token: uuid.UUID, media: ffmpeg.MediaProbe, outputs: ffmpeg.LadderOutputs) -> None:
    lowest = min(outputs.renditions, key=lambda r: r.width * r.height)
    old_prefix = video.media_prefix
    with realms.atomic():  # the state and the messages to other realms (a replica once public) commit together
        published = _publish_state(video, token, media, outputs, lowest)
        if published:
            bus.emit(bus.VideoReady(video_id=video.id, owner_id=video.owner_id))
    if not published:
        log.warning("video %s: attempt %s lost its claim before publishing; discarding", video.id, token)
        media_store().delete_prefix(video.attempt_prefix)
        return
    if old_prefix and old_prefix != video.attempt_prefix:
        media_store().delete_prefix(old_prefix)
    log.info("video %s ready (%d renditions)", video.id, len(outputs.renditions))


def _publish_state(
    video: Video, token: uuid.UUID, media: ffmpeg.MediaProbe, outputs: ffmpeg.LadderOutputs, lowest: Any
) -> int:
    return transition(
        _mine(video, token),
        VideoState.PROCESSING,
        VideoState.READY,
        media_prefix=video.attempt_prefix,
        lease_until=None,
        ready_at=timezone.now(),
        duration=media.duration,
        width=media.width,
        height=media.height,
        renditions=_renditions_json(outputs, lowest),
        preview_count=outputs.preview_count,
        failure_reason="",
    )


def _finish_failed(video: Video, reason: str) -> None:
    # Only a video still waiting or being worked on can fail: a ready one stays ready, a failed one keeps its reason.
    transition(
        Video.objects.filter(id=video.id),
        (VideoState.UPLOADED, VideoState.PROCESSING),
        VideoState.FAILED,
        failure_reason=reason[:500],
        lease_until=None,
    )
    log.warning("video %s failed: %s", video.id, reason)


def _attempt_failed(video: Video, token: uuid.UUID, reason: str) -> None:
    if transition(
        _mine(video, token), VideoState.PROCESSING, VideoState.FAILED, failure_reason=reason[:500], lease_until=None
    ):
        log.warning("video %s failed: %s", video.id, reason)
    media_store().delete_prefix(video.attempt_prefix)


def _attempt_released(video: Video, token: uuid.UUID, exc: BaseException) -> None:
    """A transient error (storage, a killed ffmpeg): hand the video back to the queue for a retry."""
    log.warning("video %s: transcode attempt interrupted (%s); will retry", video.id, exc)
    try:
        media_store().delete_prefix(video.attempt_prefix)
        transition(_mine(video, token), VideoState.PROCESSING, VideoState.UPLOADED, lease_until=None, playable_at=None)
    except Exception:  # the lease will run out and recovery will take the video again
        log.exception("video %s: could not release attempt", video.id)
