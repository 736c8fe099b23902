"""The feed interface every feed implements, the Following feed, and the registry that finds a feed by name.

A feed answers ``page(viewer, cursor, limit)`` with a :class:`FeedPage`: the videos to show, in order, and an opaque
cursor for the next page (``None`` at the end; For You has none while the viewer may see any video). Cursors are
strings the client hands back untouched; a feed that cannot read one raises :class:`BadCursor` (400).

Feeds built by apps above this one (For You, in ``reelm.recommend``) register themselves with :func:`feed_register`
from their ``AppConfig.ready``, so this app never imports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Subquery
from django.utils import timezone

from reelm.core.errors import ReelmError
from reelm.core.ids import uuid7_floor, uuid7_time_ms
from reelm.relations.models import Follow, FollowStatus
from reelm.relations.selectors import hidden_author_ids
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

MAX_LIMIT = 50
#: Following first looks this far back (milliseconds) before the cursor; see ``FollowingFeed.page``.
RECENT_MS = 3 * 24 * 3600 * 1000


class BadCursor(ReelmError):
    status = 400
    code = "bad_cursor"


@dataclass(frozen=True)
class FeedPage:
    """The ids of the videos to show, in order (the API serialises them)."""

    ids: list[uuid.UUID]
    next_cursor: str | None
    #: For You says why each video is there: {video id: {"source", "summary", "reasons"}}.
    why: dict[uuid.UUID, dict[str, Any]] | None = None
    #: The videos' rows as ``videos.cards.video_rows`` reads them, when the feed read them already.
    rows: dict[uuid.UUID, dict[str, Any]] | None = None
    #: The videos shown again because the viewer has seen everything newer (For You never runs dry); clients mark
    #: where they start ("You're all caught up").
    seen_before: frozenset[uuid.UUID] = frozenset()

    def explained(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``items`` (the page's videos as JSON-ready dicts, ids as UUIDs or strings), each with its ``why`` and
        ``seen_before`` when the feed explains itself (as ``ForYouItemOut`` documents them)."""
        if self.why is not None:
            for item in items:
                video_id = uuid.UUID(str(item["id"]))
                item["why"] = self.why.get(video_id)
                item["seen_before"] = video_id in self.seen_before
        return items


class Feed(Protocol):
    """What every feed offers. ``viewer`` is a user or an anonymous user; ``cursor`` is None for page one."""

    name: str

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage: ...


def signed_in(viewer: Any) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def page_limit(limit: int) -> int:
    """``limit`` within what one page may hold."""
    return max(1, min(int(limit), MAX_LIMIT))


# --- the registry --------------------------------------------------------------------------------------------

#: Extra template context a feed's web page asks for, for one viewer (For You prompts a new viewer for interests).
PageContext = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class _Registered:
    factory: Callable[[], Feed]
    page_context: PageContext | None


_registry: dict[str, _Registered] = {}


def feed_register(name: str, factory: Callable[[], Feed], *, page_context: PageContext | None = None) -> None:
    """Make ``factory`` the feed behind ``name`` (registering a name again replaces it). ``factory`` is called on
    every :func:`feed_get`, so it may hand out one shared feed or a new one each time."""
    _registry[name] = _Registered(factory, page_context)


def feed_get(name: str) -> Feed:
    """The feed registered as ``name``; KeyError if none is."""
    found = _registry.get(name)
    if found is None:
        raise KeyError(f"no feed is registered as {name!r}")
    return found.factory()


def feed_page_context(name: str, viewer: Any) -> dict[str, Any]:
    """What the feed registered as ``name`` adds to its web page's template context for ``viewer`` (often nothing)."""
    found = _registry.get(name)
    if found is None or found.page_context is None:
        return {}
    return found.page_context(viewer)


# --- Following -----------------------------------------------------------------------------------------------


class FollowingFeed:
    """Newest first from the accounts the viewer follows (accepted follows only). Followers-only videos and every
    video of a private account are shown because the follow is accepted; private videos never are. Keyset
    pagination on the time-ordered video id: ``id < cursor``, never OFFSET, so new uploads between pages never
    shift what the next page holds. Accounts the viewer blocks, is blocked by or muted are left out."""

    name = "following"

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        limit = page_limit(limit)
        if not signed_in(viewer):
            return FeedPage(ids=[], next_cursor=None)
        followees = Follow.objects.filter(owner_id=viewer.id, status=FollowStatus.ACCEPTED).values("followee_id")
        queryset = Video.objects.filter(
            owner_id__in=Subquery(followees),
            state=VideoState.READY,
            visibility__in=[Visibility.PUBLIC, Visibility.FOLLOWERS],
        )
        # The viewer's few hidden accounts as a list: cheaper to build than not_hidden()'s three subqueries.
        hidden = hidden_author_ids(viewer)
        if hidden:
            queryset = queryset.exclude(owner_id__in=hidden)
        before = _uuid_cursor(cursor) if cursor else None
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        # Look at the last few days before the cursor first: the database then walks only those of each followed
        # account's videos (its id index), not all of them, to merge them newest first. Widen to everything only
        # when that is not a full page.
        top_ms = uuid7_time_ms(before) if before is not None else int(timezone.now().timestamp() * 1000)
        recent = queryset.filter(id__gte=uuid7_floor(top_ms - RECENT_MS))
        ids = list(recent.order_by("-id").values_list("id", flat=True)[: limit + 1])
        if len(ids) <= limit:
            ids = list(queryset.order_by("-id").values_list("id", flat=True)[: limit + 1])
        more = len(ids) > limit
        ids = ids[:limit]
        return FeedPage(ids=ids, next_cursor=str(ids[-1]) if more and ids else None)


def _uuid_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(cursor)
    except (ValueError, TypeError):
        raise BadCursor("This cursor is not valid; start again without one.") from None
