"""The event bus: how a lower app tells higher ones that something happened, without importing them.

An app emits a fact (one of the dataclasses in :data:`EVENTS`, the one list of every event and its payload); apps
that care subscribe in their ``AppConfig.ready``. Delivery waits for the emitting transaction to commit, so a
rolled-back write tells nobody; each subscriber runs on its own and one that fails is logged without stopping the
others or undoing the write. Payloads hold ids and plain values only, so they can be stored and sent elsewhere.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from reelm.core import realms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: ClassVar[str]


# --- videos ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoChanged(Event):
    """A video row was saved or deleted (any field, by anyone, the admin included)."""

    name = "video.changed"
    video_id: uuid.UUID
    owner_id: uuid.UUID


@dataclass(frozen=True)
class VideoReady(Event):
    """A video finished transcoding and can be played and recommended."""

    name = "video.ready"
    video_id: uuid.UUID
    owner_id: uuid.UUID


@dataclass(frozen=True)
class MentionsChanged(Event):
    """A caption now names accounts it did not (``added``) or no longer names some (``removed``)."""

    name = "video.mentions_changed"
    video_id: uuid.UUID
    owner_id: uuid.UUID
    added: tuple[uuid.UUID, ...]
    removed: tuple[uuid.UUID, ...]


# --- accounts and relations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountChanged(Event):
    """An account row was saved or deleted."""

    name = "account.changed"
    account_id: uuid.UUID


@dataclass(frozen=True)
class AccountPrivacyChanged(Event):
    """An account went private or public; going public accepted the pending requests of ``approved``."""

    name = "account.privacy_changed"
    account_id: uuid.UUID
    is_private: bool
    approved: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class FollowAdded(Event):
    """``follower_id`` follows ``followee_id`` (``pending``: a request waiting for a private account's answer)."""

    name = "follow.added"
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    pending: bool


@dataclass(frozen=True)
class FollowRemoved(Event):
    """The follower unfollowed, or withdrew a pending request."""

    name = "follow.removed"
    follower_id: uuid.UUID
    followee_id: uuid.UUID


@dataclass(frozen=True)
class FollowDeclined(Event):
    """A private account declined a follow request."""

    name = "follow.declined"
    follower_id: uuid.UUID
    followee_id: uuid.UUID


@dataclass(frozen=True)
class FollowApproved(Event):
    """A private account accepted a follow request."""

    name = "follow.approved"
    follower_id: uuid.UUID
    followee_id: uuid.UUID


@dataclass(frozen=True)
class BlockAdded(Event):
    """``blocker_id`` blocked ``blocked_id`` (which also ended any follow between the two)."""

    name = "block.added"
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID


# --- reactions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reacted(Event):
    """An account liked or bookmarked a video (``added``), or took that back."""

    name = "video.reacted"
    account_id: uuid.UUID
    video_id: uuid.UUID
    video_owner_id: uuid.UUID
    kind: str  # "like" or "bookmark"
    added: bool


@dataclass(frozen=True)
class CommentAdded(Event):
    """A comment (``parent_id`` set for a reply) was posted."""

    name = "comment.added"
    comment_id: uuid.UUID
    author_id: uuid.UUID
    video_id: uuid.UUID
    video_owner_id: uuid.UUID
    parent_id: uuid.UUID | None
    parent_author_id: uuid.UUID | None


# --- watching -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watched:
    """One stored watch event, as the recommender learns from it."""

    video_id: uuid.UUID
    kind: str
    watched_ms: int
    duration_ms: int


@dataclass(frozen=True)
class WatchEventsRecorded(Event):
    """A viewer's batch of watch events was stored."""

    name = "watch.recorded"
    viewer_id: uuid.UUID
    events: tuple[Watched, ...]


#: Every event, in one place: what may be emitted and subscribed to.
EVENTS: tuple[type[Event], ...] = (
    VideoChanged,
    VideoReady,
    MentionsChanged,
    AccountChanged,
    AccountPrivacyChanged,
    FollowAdded,
    FollowRemoved,
    FollowDeclined,
    FollowApproved,
    BlockAdded,
    Reacted,
    CommentAdded,
    WatchEventsRecorded,
)

Handler = Callable[[Any], None]
_subscribers: defaultdict[type[Event], list[Handler]] = defaultdict(list)
_in_transaction: defaultdict[type[Event], list[Handler]] = defaultdict(list)
_inline = False


def _known(kind: type[Event]) -> None:
    if kind not in EVENTS:
        raise TypeError(f"{kind.__name__} is not an event: add it to reelm.core.bus.EVENTS")


def subscribe[E: Event](kind: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler(event)`` after each committed ``kind``. Registering the same handler twice keeps one."""
    _known(kind)
    if handler not in _subscribers[kind]:
        _subscribers[kind].append(handler)


def subscribe_in_transaction[E: Event](kind: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler(event)`` as ``kind`` is emitted, inside the emitter's transaction; an exception rolls the
    change back. For what must commit with the change or not at all: a message to another realm's outbox."""
    _known(kind)
    if handler not in _in_transaction[kind]:
        _in_transaction[kind].append(handler)


def unsubscribe(kind: type[Event], handler: Handler) -> None:
    if handler in _subscribers[kind]:
        _subscribers[kind].remove(handler)


def subscribers(kind: type[Event]) -> list[Handler]:
    return list(_subscribers[kind])


def emit(event: Event) -> None:
    """Hand ``event`` to its in-transaction subscribers now, and to the others once the current transaction commits
    (at once outside one)."""
    _known(type(event))
    for handler in _in_transaction[type(event)]:
        handler(event)
    if not _subscribers[type(event)]:
        return
    if _inline:
        _deliver(event)
    else:
        realms.on_commit(lambda: _deliver(event))


def _deliver(event: Event) -> None:
    for handler in list(_subscribers[type(event)]):
        try:
            handler(event)
        except Exception:
            log.exception("%s: subscriber %s failed", event.name, getattr(handler, "__qualname__", handler))


@contextmanager
def delivered_inline() -> Iterator[None]:
    """Deliver each event as it is emitted: for tests whose transactions are rolled back, never committed."""
    global _inline
    before, _inline = _inline, True
    try:
        yield
    finally:
        _inline = before
