"""Video writes: accept an upload, edit, retry and delete it (``transcoding`` turns an upload into media)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from reelm.accounts.models import User
from reelm.accounts.selectors import users_by_usernames
from reelm.core import bus, realms
from reelm.core.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge, UnsupportedMedia
from reelm.core.ids import uuid7
from reelm.core.languages import clean_language
from reelm.storage.registry import media_store
from reelm.transcode import ffmpeg
from reelm.videos.captions import CAPTION_MAX, parse_hashtags, parse_mentions
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag, Visibility
from reelm.videos.states import VideoState, check_transition, transition
from reelm.videos.tasks import transcode_enqueue

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
        with realms.atomic():
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
            realms.on_commit(lambda: transcode_enqueue(video.id))
    except BaseException:
        store.delete(key)  # nothing left behind for a rejected or failed upload
        raise
    log.info("video %s uploaded by %s (%s, %.1f s)", video.id, owner.username, media.container, media.duration)
    return video


def _link_caption(video: Video) -> None:
    """Link the caption's hashtags and mentions; accounts mentioned for the first time, or no longer, are told
    (``MentionsChanged``)."""
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
    if after != before:
        bus.emit(
            bus.MentionsChanged(
                video_id=video.id,
                owner_id=video.owner_id,
                added=tuple(sorted(after - before)),
                removed=tuple(sorted(before - after)),
            )
        )


#: Who knows an account's preferred languages: a higher app (the recommender) registers itself here.
_preferred_languages: list[Callable[[User], list[str]]] = []


def preferred_languages_register(source: Callable[[User], list[str]]) -> None:
    if source not in _preferred_languages:
        _preferred_languages.append(source)


def default_language(owner: User) -> str:
    """A new upload's language when the uploader names none: their first preferred one, else unknown."""
    for source in _preferred_languages:
        for language in source(owner):
            return language
    return ""


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
    with realms.atomic():
        if caption is not None:
            video.caption = clean_caption(caption)
        if visibility is not None:
            video.visibility = clean_visibility(visibility)
        if language is not None:
            video.language = clean_language(language)
        if caption is not None:
            _link_caption(video)  # first: the save below sends other realms the video with its new links
        video.save(update_fields=["caption", "visibility", "language", "updated_at"])
    return video


def video_delete(*, video: Video, actor: User) -> None:
    if actor.id != video.owner_id and not actor.is_staff:
        raise Forbidden("Only the author can delete this video.")
    prefixes = [f"videos/{video.id}/", f"originals/{video.id}/"]
    video.delete()
    store = media_store()
    realms.on_commit(lambda: [store.delete_prefix(prefix) for prefix in prefixes])


def video_retry(*, video: Video) -> Video:
    """Send a failed video back to the transcode queue (operator action)."""
    check_transition(video.state, VideoState.UPLOADED)
    updated = transition(
        Video.objects.filter(id=video.id),
        VideoState.FAILED,
        VideoState.UPLOADED,
        failure_reason="",
        attempts=0,
        lease_until=None,
    )
    if not updated:
        raise Conflict("The video is no longer failed.")
    realms.on_commit(lambda: transcode_enqueue(video.id))
    video.refresh_from_db()
    return video
