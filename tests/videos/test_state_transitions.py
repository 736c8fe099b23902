"""Every change of a video's state goes through the declared transitions: an undeclared one raises, whatever the
row holds, and the lifecycle's own moves still work."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reelm.accounts.models import User
from reelm.core.errors import Conflict
from reelm.core.ids import uuid7
from reelm.videos import services, transcoding
from reelm.videos.models import Video
from reelm.videos.states import InvalidTransition, VideoState, transition

pytestmark = pytest.mark.django_db

REELM = Path(__file__).resolve().parents[2] / "reelm"


def _video(owner: User, state: str = VideoState.UPLOADED) -> Video:
    return Video.objects.create(owner=owner, state=state, source_key=f"originals/{uuid7()}/source.mp4")


def _state(video: Video) -> str:
    return Video.objects.values_list("state", flat=True).get(id=video.id)


def test_an_undeclared_transition_raises_and_changes_nothing(user: User) -> None:
    ready = _video(user, VideoState.READY)
    rows = Video.objects.filter(id=ready.id)
    with pytest.raises(InvalidTransition, match="from ready to processing"):
        transition(rows, VideoState.READY, VideoState.PROCESSING)
    with pytest.raises(InvalidTransition, match="from uploaded to ready"):
        transition(rows, VideoState.UPLOADED, VideoState.READY)
    # One undeclared source among several is enough, even if no row is in it.
    with pytest.raises(InvalidTransition, match="from ready to failed"):
        transition(rows, (VideoState.PROCESSING, VideoState.READY), VideoState.FAILED)
    assert _state(ready) == VideoState.READY


def test_a_row_in_another_state_is_left_alone(user: User) -> None:
    video = _video(user, VideoState.FAILED)
    assert transition(Video.objects.filter(id=video.id), VideoState.PROCESSING, VideoState.READY) == 0
    assert _state(video) == VideoState.FAILED
    assert transition(Video.objects.filter(id=video.id), VideoState.FAILED, VideoState.UPLOADED, attempts=0) == 1
    assert _state(video) == VideoState.UPLOADED


def test_retrying_a_ready_video_is_an_invalid_transition(user: User) -> None:
    ready = _video(user, VideoState.READY)
    with pytest.raises(InvalidTransition, match="from ready to uploaded"):
        services.video_retry(video=ready)
    assert _state(ready) == VideoState.READY


def test_retrying_a_video_that_is_no_longer_failed_is_a_conflict(user: User) -> None:
    video = _video(user, VideoState.FAILED)
    Video.objects.filter(id=video.id).update(state=VideoState.UPLOADED)  # another operator retried it meanwhile
    with pytest.raises(Conflict):
        services.video_retry(video=video)  # its in-memory state is still failed
    assert _state(video) == VideoState.UPLOADED


def test_the_lifecycle_claim_release_fail_retry_claim(user: User) -> None:
    video = _video(user)
    claimed = transcoding._claim(video.id)
    assert claimed is not None
    video, token = claimed
    assert video.state == VideoState.PROCESSING and video.attempts == 1 and video.lease_until is not None

    transcoding._attempt_released(video, token, OSError("storage hiccup"))
    video.refresh_from_db()
    assert video.state == VideoState.UPLOADED and video.lease_until is None

    claimed = transcoding._claim(video.id)
    assert claimed is not None
    video, token = claimed
    assert video.attempts == 2
    transcoding._attempt_failed(video, token, "not a video")
    video.refresh_from_db()
    assert video.state == VideoState.FAILED and video.failure_reason == "not a video"
    assert transcoding._claim(video.id) is None  # a failed video waits for an operator

    services.video_retry(video=video)
    video.refresh_from_db()
    assert video.state == VideoState.UPLOADED and video.attempts == 0 and video.failure_reason == ""
    claimed = transcoding._claim(video.id)
    assert claimed is not None and claimed[0].state == VideoState.PROCESSING


def test_a_stale_attempt_cannot_fail_or_release_the_video(user: User) -> None:
    video = _video(user)
    claimed = transcoding._claim(video.id)
    assert claimed is not None
    video, _token = claimed
    stale = uuid7()
    transcoding._attempt_failed(video, stale, "too late")
    transcoding._attempt_released(video, stale, OSError("too late"))
    assert _state(video) == VideoState.PROCESSING


def test_giving_up_fails_a_waiting_video_but_never_a_ready_one(user: User) -> None:
    waiting = _video(user)
    transcoding._finish_failed(waiting, "gave up")
    waiting.refresh_from_db()
    assert waiting.state == VideoState.FAILED and waiting.failure_reason == "gave up"

    ready = _video(user, VideoState.READY)
    transcoding._finish_failed(ready, "gave up")
    ready.refresh_from_db()
    assert ready.state == VideoState.READY and ready.failure_reason == ""
    assert transcoding._claim(ready.id) is None


def _state_writes(path: Path) -> list[str]:
    """``state=VideoState.X`` passed to a create or update call, or ``x.state = VideoState.X``, in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def is_video_state(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "VideoState"

    writers = {"update", "create", "bulk_create", "update_or_create", "get_or_create", "save"}
    for node in ast.walk(tree):
        passed = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in writers
            and any(k.arg == "state" and is_video_state(k.value) for k in node.keywords)
        )
        assigned = (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Attribute) and t.attr == "state" for t in node.targets)
            and is_video_state(node.value)
        )
        if passed or assigned:
            found.append(f"{path}:{getattr(node, 'lineno', 0)}")
    return found


def test_no_state_is_written_outside_the_declared_transitions() -> None:
    writes = [
        hit for path in sorted(REELM.rglob("*.py")) if "migrations" not in path.parts for hit in _state_writes(path)
    ]
    assert writes == [], "write video states with reelm.videos.states.transition"
