"""The transcode lifecycle: states, idempotency, retries, failure and recovery of stalled work."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from reelm.accounts.models import User
from reelm.core.ids import uuid7
from reelm.storage.base import ObjectStore, StorageError
from reelm.videos import services, tasks, transcoding
from reelm.videos.admin import VideoAdmin
from reelm.videos.models import Video
from reelm.videos.states import InvalidTransition, VideoState, check_transition

pytestmark = pytest.mark.django_db


def _uploaded(user: User, clip: Path, capture: Any, *, run: bool = False) -> Video:
    """An accepted upload; its transcode runs only if ``run``."""
    with capture(execute=run):
        video = services.video_create(owner=user, upload_path=clip, caption="a #test")
    video.refresh_from_db()
    return video


def _objects(store: ObjectStore, video: Video) -> list[str]:
    return sorted(info.key for info in store.list(f"videos/{video.id}/"))


def test_state_graph() -> None:
    check_transition(VideoState.UPLOADED, VideoState.PROCESSING)
    check_transition(VideoState.PROCESSING, VideoState.READY)
    check_transition(VideoState.FAILED, VideoState.UPLOADED)
    with pytest.raises(InvalidTransition):
        check_transition(VideoState.READY, VideoState.PROCESSING)
    with pytest.raises(InvalidTransition):
        check_transition(VideoState.UPLOADED, VideoState.READY)


def test_transcode_publishes_ladder_and_marks_early_playability(
    user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    assert video.state == VideoState.UPLOADED
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.READY and video.attempts == 1
    assert video.playable_at is not None and video.ready_at is not None
    assert video.playable_at <= video.ready_at
    assert video.media_prefix == video.attempt_prefix
    keys = _objects(media_store, video)
    assert all(key.startswith(video.media_prefix) for key in keys)
    names = {key.removeprefix(video.media_prefix) for key in keys}
    assert {"hls/master.m3u8", "hls/320p/index.m3u8", "video.mp4", "poster.jpg", "preview_1.jpg"} <= names
    playlist = media_store.read_bytes(video.media_prefix + "hls/320p/index.m3u8").decode()
    assert "#EXT-X-ENDLIST" in playlist
    for line in playlist.splitlines():
        if line.endswith(".ts"):
            assert f"hls/320p/{line}" in names, "every listed segment was uploaded"


def test_running_twice_is_a_no_op(
    user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks, run=True)
    assert video.state == VideoState.READY
    before = _objects(media_store, video)
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.attempts == 1
    assert _objects(media_store, video) == before


def test_a_held_lease_is_not_taken(user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    Video.objects.filter(id=video.id).update(
        state=VideoState.PROCESSING, lease_until=timezone.now() + timedelta(minutes=1)
    )
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.PROCESSING and video.attempts == 0


def test_a_stalled_attempt_is_taken_over_and_its_leftovers_removed(
    user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    # A worker died mid-transcode: its lease ran out and it left a partial segment behind.
    dead_prefix = f"videos/{video.id}/dead-attempt/"
    media_store.put(dead_prefix + "hls/320p/seg_00000.ts", b"partial")
    Video.objects.filter(id=video.id).update(
        state=VideoState.PROCESSING,
        attempts=1,
        attempt_prefix=dead_prefix,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert tasks.videos_recover_stalled() == 1  # runs the queued transcode inline in tests
    video.refresh_from_db()
    assert video.state == VideoState.READY and video.attempts == 2
    keys = _objects(media_store, video)
    assert keys and not any(key.startswith(dead_prefix) for key in keys)


def test_lost_uploads_are_requeued(user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    assert tasks.videos_recover_stalled() == 0, "a fresh upload still has its own queued task"
    Video.objects.filter(id=video.id).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert tasks.videos_recover_stalled() == 1
    video.refresh_from_db()
    assert video.state == VideoState.READY


def test_transient_failure_releases_the_video_for_a_retry(
    user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    original = media_store.read_bytes(video.source_key)
    media_store.delete(video.source_key)  # the store is unreachable for this key, for now
    with pytest.raises(StorageError):
        transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.UPLOADED and video.attempts == 1
    assert _objects(media_store, video) == []
    media_store.put(video.source_key, original)  # the store is back
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.READY and video.attempts == 2


def test_gives_up_after_the_attempt_budget(
    settings: Any, user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REELM_TRANSCODE_MAX_ATTEMPTS = 2
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    media_store.delete(video.source_key)
    for _ in range(2):
        with pytest.raises(StorageError):
            transcoding.video_transcode(video_id=video.id)
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.FAILED
    assert "gave up after 2 attempts" in video.failure_reason


def test_corrupt_original_fails_with_a_reason_and_admin_can_retry(
    user: User,
    clips: dict[str, Path],
    media_store: ObjectStore,
    django_capture_on_commit_callbacks: Any,
    admin_client: Any,
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    good = media_store.read_bytes(video.source_key)
    bad = b"<html>not a video</html>"
    media_store.put(video.source_key, bad)
    Video.objects.filter(id=video.id).update(source_sha256=hashlib.sha256(bad).hexdigest())
    transcoding.video_transcode(video_id=video.id)
    video.refresh_from_db()
    assert video.state == VideoState.FAILED
    assert "not a video" in video.failure_reason
    assert _objects(media_store, video) == []
    listing = admin_client.get("/admin/videos/video/?state=failed")
    assert listing.status_code == 200 and str(video.id).encode() in listing.content
    # The operator fixes the cause and retries from the console.
    media_store.put(video.source_key, good)
    Video.objects.filter(id=video.id).update(source_sha256=hashlib.sha256(good).hexdigest())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/videos/video/", {"action": "retry_transcode", "_selected_action": [str(video.id)]}
        )
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.state == VideoState.READY and video.failure_reason == ""


def test_admin_retry_skips_videos_that_are_not_failed(
    user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any, admin_client: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks, run=True)
    response = admin_client.post(
        "/admin/videos/video/", {"action": "retry_transcode", "_selected_action": [str(video.id)]}, follow=True
    )
    assert b"Skipped 1 video" in response.content
    assert VideoAdmin.actions == ["retry_transcode"]
    video.refresh_from_db()
    assert video.state == VideoState.READY and video.attempts == 1


def test_deleting_a_video_removes_every_object(
    user: User, clips: dict[str, Path], media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks, run=True)
    assert list(media_store.list())
    with django_capture_on_commit_callbacks(execute=True):
        services.video_delete(video=video, actor=user)
    assert list(media_store.list()) == []
    assert not Video.objects.filter(id=video.id).exists()


def test_a_worker_that_lost_its_lease_notices(
    user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    claimed = transcoding._claim(video.id)
    assert claimed is not None
    mine, token = claimed
    heartbeat = transcoding.AttemptHeartbeat(mine, token)
    heartbeat.interval = 0  # renew on every progress report
    heartbeat.beat()
    assert Video.objects.get(id=video.id).lease_until > mine.lease_until
    # Another worker takes the video over.
    Video.objects.filter(id=video.id).update(attempt_token=uuid7())
    with pytest.raises(transcoding.LeaseLost):
        heartbeat.beat()


def test_a_killed_workers_scratch_folder_is_removed_by_the_next_attempt(
    user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    video = _uploaded(user, clips["portrait"], django_capture_on_commit_callbacks)
    stale = Path(tempfile.gettempdir()) / f"{transcoding.WORKDIR_PREFIX}{video.id}-killed"
    (stale / "hls").mkdir(parents=True)
    (stale / "hls" / "seg_00000.ts").write_bytes(b"partial")
    transcoding.video_transcode(video_id=video.id)
    assert not stale.exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"{transcoding.WORKDIR_PREFIX}{video.id}-*"))
