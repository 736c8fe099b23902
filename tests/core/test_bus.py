"""The event bus: delivery after commit, never after a rollback, one failing subscriber isolated, one event list."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from reelm.core import bus

A, B = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def on_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliver as production does (tests otherwise deliver inline, see tests/conftest.py)."""
    monkeypatch.setattr(bus, "_inline", False)


@pytest.fixture
def heard() -> Iterator[list[bus.Event]]:
    got: list[bus.Event] = []
    bus.subscribe(bus.FollowApproved, got.append)
    yield got
    bus.unsubscribe(bus.FollowApproved, got.append)


@pytest.mark.django_db(transaction=True)
def test_an_event_is_delivered_once_its_transaction_commits(on_commit: None, heard: list[bus.Event]) -> None:
    event = bus.FollowApproved(follower_id=A, followee_id=B)
    with transaction.atomic():
        bus.emit(event)
        with transaction.atomic():  # a savepoint commits nothing yet
            bus.emit(event)
        assert heard == []
    assert heard == [event, event]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_tells_nobody(on_commit: None, heard: list[bus.Event]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        bus.emit(bus.FollowApproved(follower_id=A, followee_id=B))
        raise RuntimeError("undo")
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back drops its events
            bus.emit(bus.FollowApproved(follower_id=B, followee_id=A))
            raise RuntimeError("undo")
        bus.emit(bus.FollowApproved(follower_id=A, followee_id=A))
    assert heard == [bus.FollowApproved(follower_id=A, followee_id=A)]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_delivery_is_immediate(on_commit: None, heard: list[bus.Event]) -> None:
    bus.emit(bus.FollowApproved(follower_id=A, followee_id=B))
    assert len(heard) == 1


@pytest.mark.django_db
def test_a_failing_subscriber_is_logged_and_the_others_still_run(
    heard: list[bus.Event], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Any) -> None:
        raise ValueError("broken subscriber")

    bus.subscribe(bus.FollowApproved, broken)
    bus.subscribe(bus.FollowApproved, broken)  # twice is once
    try:
        with caplog.at_level(logging.ERROR, logger="reelm.core.bus"):
            bus.emit(bus.FollowApproved(follower_id=A, followee_id=B))
    finally:
        bus.unsubscribe(bus.FollowApproved, broken)
    assert len(heard) == 1
    failures = [r for r in caplog.records if "follow.approved: subscriber" in r.getMessage()]
    assert len(failures) == 1
    assert "broken" in failures[0].getMessage()


def test_only_listed_events_can_be_emitted_or_subscribed_to() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unlisted(bus.Event):
        name = "unlisted"

    with pytest.raises(TypeError, match=r"add it to reelm\.core\.bus\.EVENTS"):
        bus.emit(Unlisted())
    with pytest.raises(TypeError, match="not an event"):
        bus.subscribe(Unlisted, print)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a plain value")


SAMPLES: dict[str, Any] = {
    "uuid.UUID": A,
    "uuid.UUID | None": None,
    "bool": True,
    "str": "like",
    "tuple[uuid.UUID, ...]": (A, B),
    "tuple[Watched, ...]": (bus.Watched(video_id=B, kind="watch", watched_ms=1, duration_ms=2),),
}


@pytest.mark.parametrize("kind", bus.EVENTS, ids=lambda kind: kind.name)
def test_every_event_is_named_once_frozen_and_holds_plain_values(kind: type[bus.Event]) -> None:
    assert [k.name for k in bus.EVENTS].count(kind.name) == 1
    event = kind(**{field.name: SAMPLES[str(field.type)] for field in dataclasses.fields(kind)})
    # Ids and plain values only: what a durable outbox could store as JSON.
    assert json.loads(json.dumps(dataclasses.asdict(event), default=_plain))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "changed"  # type: ignore[misc]


def test_every_event_has_a_subscriber() -> None:
    """An event nobody hears is dead code, or a side effect someone forgot to wire."""
    assert [kind.name for kind in bus.EVENTS if not bus.subscribers(kind)] == []
