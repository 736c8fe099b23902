"""Video writes: accept an upload, transcode it, publish it, edit, retry and delete it."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reelm.accounts.models import User
from reelm.accounts.selectors import users_by_usernames
from reelm.core.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge, UnsupportedMedia
from reelm.core.ids import uuid7
from reelm.core.languages import clean_language
from reelm.notifications.models import NotificationKind
from reelm.notifications.services import notification_create, notification_withdraw
from reelm.storage.base import ObjectStore
from reelm.storage.registry import media_store
from reelm.transcode import ffmpeg
from reelm.transcode.publisher import SegmentPublisher
from reelm.videos.captions import CAPTION_MAX, parse_hashtags, parse_mentions
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag, Visibility
from reelm.videos.selectors import can_view
from reelm.videos.states import VideoState, check_transition

log = logging.getLogger(__name__)

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_caption(caption: str) -> str:
    caption = _CONTROL_CHARS.sub("", caption).strip()
    if len(caption) > CAPTION_MAX:
        raise InvalidInput(f"Captions are limited to {CAPTION_MAX} characters.", code="caption_too_long")
    return caption


def clean_visibility(visibility: str) -> str:
    if visibility not in Visibility.values:
        raise InvalidInput(f"Visibility must be one of: {', '.join(Visibility.values)}.", code="invalid_visibility")
    return visibility


def probe_upload(path: Path) -> ffmpeg.MediaProbe:
    """Identify the upload by its content and hold it to the configured limits."""
    try:
        media = ffmpeg.probe(path)
    except ffmpeg.ProbeError as exc:
        raise UnsupportedMedia(exc.message, code=exc.code) from exc
    if media.duration > settings.REELM_MAX_DURATION_SECONDS:
        raise InvalidInput(
            f"The video is {media.duration:.0f} s long; the limit is {settings.REELM_MAX_DURATION_SECONDS} s.",
            code="video_too_long",
            status=422,
        )
    if max(media.width, media.height) > settings.REELM_MAX_DIMENSION:
        raise InvalidInput(
            f"The video is {media.width}×{media.height}; the limit is {settings.REELM_MAX_DIMENSION} px "
            "on the long side.",
            code="video_too_large",
            status=422,
        )
    return media


def video_create(
    *,
    owner: User,
    upload_path: Path,
    caption: str = "",
    visibility: str = "public",
    language: str | None = None,
) -> Video:
    """Accept an upload: probe it, store the original under a Reelm-made key, queue the transcode. ``language``
    None: the uploader's first preferred language, if any."""
    caption = clean_caption(caption)
    visibility = clean_visibility(visibility)
    language = clean_language(language) if language is not None else default_language(owner)
    size = upload_path.stat().st_size
    if size > settings.REELM_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge("The file is over the upload limit.")
    media = probe_upload(upload_path)
    video_id = uuid7()
    key = f"originals/{video_id}/source.{media.extension}"
    store = media_store()
    written = store.put_file(key, upload_path)
    try:
        with transaction.atomic():
            video = Video.objects.create(
                id=video_id,
                owner=owner,
                caption=caption,
                visibility=visibility,
                language=language,
                source_key=key,
                source_size=written.size,
                source_sha256=written.sha256,
                source_container=media.container[:40],
                source_codecs=",".join(filter(None, [media.video_codec, media.audio_codec])),
                duration=media.duration,
                width=media.width,
                height=media.height,
            )
            _link_caption(video)
            transaction.on_commit(lambda: transcode_enqueue(video.id))
    except BaseException:
        store.delete(key)  # nothing left behind for a rejected or failed upload
        raise
    log.info("video %s uploaded by %s (%s, %.1f s)", video.id, owner.username, media.container, media.duration)
    return video


def _link_caption(video: Video) -> None:
    """Link the caption's hashtags and mentions. Only accounts mentioned for the first time are notified (and
    only if they could see the video once it is ready); a mention taken out takes its unread notification."""
    VideoHashtag.objects.filter(video=video).delete()
    before = set(Mention.objects.filter(video=video).values_list("mentioned_id", flat=True))
    Mention.objects.filter(video=video).delete()
    for name in parse_hashtags(video.caption):
        hashtag, _ = Hashtag.objects.get_or_create(name=name)
        VideoHashtag.objects.create(owner_id=video.owner_id, video=video, hashtag=hashtag)
    after: set[uuid.UUID] = set()
    for user in users_by_usernames(set(parse_mentions(video.caption))):
        Mention.objects.create(owner_id=video.owner_id, video=video, mentioned=user)
        after.add(user.id)
        if user.id not in before and can_view(video, user, once_ready=True):
            notification_create(
                recipient_id=user.id, actor_id=video.owner_id, kind=NotificationKind.MENTION, video_id=video.id
            )
    for gone in before - after:
        notification_withdraw(
            recipient_id=gone, actor_id=video.owner_id, kinds=[NotificationKind.MENTION], video_id=video.id
        )


def default_language(owner: User) -> str:
    """A new upload's language when the uploader names none: their first preferred one, else unknown."""
    from reelm.recommend.selectors import preferred_languages  # the recommender keeps the viewer's languages

    return next(iter(preferred_languages(owner)), "")


def video_update(
    *,
    video: Video,
    editor: User,
    caption: str | None = None,
    visibility: str | None = None,
    language: str | None = None,
) -> Video:
    if editor.id != video.owner_id:
        raise Forbidden("Only the author can edit this video.")
    with transaction.atomic():
        if caption is not None:
            video.caption = clean_caption(caption)
        if visibility is not None:
            video.visibility = clean_visibility(visibility)
        if language is not None:
            video.language = clean_language(language)
        video.save(update_fields=["caption", "visibility", "language", "updated_at"])
        if caption is not None:
            _link_caption(video)
    return video


def video_delete(*, video: Video, actor: User) -> None:
    if actor.id != video.owner_id and not actor.is_staff:
        raise Forbidden("Only the author can delete this video.")
    prefixes = [f"videos/{video.id}/", f"originals/{video.id}/"]
    video.delete()
    store = media_store()
    transaction.on_commit(lambda: [store.delete_prefix(prefix) for prefix in prefixes])


def video_retry(*, video: Video) -> Video:
    """Send a failed video back to the transcode queue (operator action)."""
    check_transition(video.state, VideoState.UPLOADED)
    updated = Video.objects.filter(id=video.id, state=VideoState.FAILED).update(
        state=VideoState.UPLOADED, failure_reason="", attempts=0, lease_until=None
    )
    if not updated:
        raise Conflict("The video is no longer failed.")
    transaction.on_commit(lambda: transcode_enqueue(video.id))
    video.refresh_from_db()
    return video


def transcode_enqueue(video_id: uuid.UUID, *, delay: float | None = None) -> None:
    from reelm.videos.tasks import transcode_video

    if delay:
        transcode_video.schedule(args=(str(video_id),), delay=delay)
    else:
        transcode_video(str(video_id))


# --- transcoding -------------------------------------------------------------------------------------------


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
    won = Video.objects.filter(id=video_id, state=video.state, attempt_token=video.attempt_token).update(
        state=VideoState.PROCESSING,
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
    published = _mine(video, token).update(
        state=VideoState.READY,
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
    if not published:
        log.warning("video %s: attempt %s lost its claim before publishing; discarding", video.id, token)
        media_store().delete_prefix(video.attempt_prefix)
        return
    if old_prefix and old_prefix != video.attempt_prefix:
        media_store().delete_prefix(old_prefix)
    log.info("video %s ready (%d renditions)", video.id, len(outputs.renditions))
    _recommendable(video.id)


def _recommendable(video_id: uuid.UUID) -> None:
    """Give the new video its first vector so every process's recommender can find it at once; a failure here
    must not undo the publication (the next rebuild gives it one)."""
    from reelm.recommend.services import video_signal_ensure

    try:
        video_signal_ensure(video_id)
    except Exception:
        log.exception("video %s: could not make its recommender vector", video_id)


def _finish_failed(video: Video, reason: str) -> None:
    Video.objects.filter(id=video.id).exclude(state=VideoState.READY).update(
        state=VideoState.FAILED, failure_reason=reason[:500], lease_until=None
    )
    log.warning("video %s failed: %s", video.id, reason)


def _attempt_failed(video: Video, token: uuid.UUID, reason: str) -> None:
    if _mine(video, token).update(state=VideoState.FAILED, failure_reason=reason[:500], lease_until=None):
        log.warning("video %s failed: %s", video.id, reason)
    media_store().delete_prefix(video.attempt_prefix)


def _attempt_released(video: Video, token: uuid.UUID, exc: BaseException) -> None:
    """A transient error (storage, a killed ffmpeg): hand the video back to the queue for a retry."""
    log.warning("video %s: transcode attempt interrupted (%s); will retry", video.id, exc)
    try:
        media_store().delete_prefix(video.attempt_prefix)
        _mine(video, token).update(state=VideoState.UPLOADED, lease_until=None, playable_at=None)
    except Exception:  # the lease will run out and recovery will take the video again
        log.exception("video %s: could not release attempt", video.id)


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
