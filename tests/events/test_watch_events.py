"""Watch events: validated batches, stored in one insert, only for videos the viewer may see, rate limited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.events.models import WatchEvent
from reelm.events.schemas import BATCH_MAX
from reelm.events.services import EVENTS_PER_MINUTE
from tests.helpers import assert_error
from tests.social.conftest import make_video


def _send(client: Client, events: list[dict[str, Any]]) -> Any:
    return client.post("/api/events", {"events": events}, content_type="application/json")


def test_a_batch_is_stored_for_the_viewer(api: Client, user: User, other_user: User) -> None:
    video = make_video(other_user)
    events = [
        {"video_id": str(video.id), "kind": "impression", "session_id": "s1", "client_at": "2026-01-02T03:04:05Z"},
        {"video_id": str(video.id), "kind": "watch", "watched_ms": 1500, "duration_ms": 2000, "position_ms": 1500},
        {"video_id": str(video.id), "kind": "complete", "watched_ms": 2000, "duration_ms": 2000},
    ]
    response = _send(api, events)
    assert response.status_code == 202, response.content[:500]
    assert response.json() == {"stored": 3, "dropped": []}
    stored = list(WatchEvent.objects.order_by("id"))
    assert [e.kind for e in stored] == ["impression", "watch", "complete"]
    assert {e.owner_id for e in stored} == {user.id}
    assert stored[0].session_id == "s1" and stored[0].client_at is not None and stored[0].client_at.year == 2026
    assert (stored[1].watched_ms, stored[1].duration_ms, stored[1].position_ms) == (1500, 2000, 1500)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "stare"},
        {"watched_ms": -1},
        {"position_ms": -5},
        {"duration_ms": "long"},
        {"video_id": "not-a-uuid"},
        {"session_id": "x" * 65},
    ],
)
def test_invalid_events_are_refused_and_nothing_is_stored(api: Client, other_user: User, bad: dict[str, Any]) -> None:
    video = make_video(other_user)
    good = {"video_id": str(video.id), "kind": "watch"}
    assert_error(_send(api, [good, {**good, **bad}]), 422, "validation_error")
    assert WatchEvent.objects.count() == 0


def test_batches_are_bounded(api: Client, other_user: User) -> None:
    video = make_video(other_user)
    event = {"video_id": str(video.id), "kind": "impression"}
    assert_error(_send(api, [event] * (BATCH_MAX + 1)), 422, "validation_error")
    assert_error(_send(api, []), 422, "validation_error")
    assert WatchEvent.objects.count() == 0
    assert _send(api, [event] * BATCH_MAX).json()["stored"] == BATCH_MAX


def test_events_for_videos_the_viewer_may_not_see_are_dropped(
    api: Client, user: User, other_user: User, other_api: Client
) -> None:
    public = make_video(other_user)
    private = make_video(other_user, visibility="private")
    followers_only = make_video(other_user, visibility="followers")
    processing = make_video(other_user, state="processing")
    missing = "0190c0de-0000-7000-8000-000000000000"
    events = [{"video_id": str(v), "kind": "impression"} for v in (public.id, private.id, followers_only.id)]
    events += [{"video_id": str(processing.id), "kind": "watch"}, {"video_id": missing, "kind": "skip"}]
    body = _send(api, events).json()
    assert body["stored"] == 1
    assert [(d["index"], d["code"]) for d in body["dropped"]] == [
        (1, "video_not_found"),
        (2, "video_not_found"),
        (3, "video_not_found"),
        (4, "video_not_found"),
    ]
    assert list(WatchEvent.objects.values_list("video_id", flat=True)) == [public.id]
    # A follower may see the followers-only video; its author sees even the private one.
    api.post("/api/users/bob/follow")
    assert _send(api, [events[2]]).json()["stored"] == 1
    assert _send(other_api, [events[1]]).json()["stored"] == 1


def test_rate_limit_refuses_with_429(api: Client, other_api: Client, other_user: User) -> None:
    video = make_video(other_user)
    batch = [{"video_id": str(video.id), "kind": "impression"}] * BATCH_MAX
    for _ in range(EVENTS_PER_MINUTE // BATCH_MAX):
        assert _send(api, batch).status_code == 202
    assert_error(_send(api, batch), 429, "rate_limited")
    assert_error(_send(api, batch[:1]), 429, "rate_limited")
    assert WatchEvent.objects.filter(owner__username="alice").count() == EVENTS_PER_MINUTE
    # Per user: another viewer is not limited by it.
    assert _send(other_api, batch[:1]).status_code == 202


def test_events_need_a_signed_in_viewer(client: Client, other_user: User) -> None:
    video = make_video(other_user)
    assert_error(_send(client, [{"video_id": str(video.id), "kind": "watch"}]), 401, "unauthenticated")
    assert WatchEvent.objects.count() == 0
