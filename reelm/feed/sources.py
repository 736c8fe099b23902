"""Feed sources: the one interface a feed (and, later, the recommender) implements, and its two first versions.

A feed answers ``page(viewer, cursor, limit)`` with a :class:`FeedPage`: the videos to show, in order, and an opaque
cursor for the next page (``None`` at the end). Cursors are strings the client hands back untouched; a source that
cannot read one raises :class:`BadCursor` (400).

- :class:`FollowingFeed`: the newest ready videos of accounts the viewer follows (accepted follows only) that the
  viewer may see. Keyset pagination on the time-ordered video id: ``id < cursor``, never OFFSET, so new uploads
  between pages never shift what the next page holds.
- :class:`ForYouFeed`: until the recommender lands, a transparent ranking of recent public videos,
  ``score = (likes + 2 * comments + 1) / (age_hours + 2) ** 1.5`` over the last :data:`WINDOW`, re-ordered so one
  author never fills the screen (see :func:`diversify`). Accounts the viewer blocks, is blocked by or muted are
  left out of both.

Why the For You cursor is a snapshot: scores decay with time and move with every like, so a keyset on
``(score, id)`` would let a video jump across the cursor between two requests and be shown twice or never. Instead
the first page fixes a snapshot time ``t``; every later page ranks *the same* candidates (videos created at or
before ``t``, within the window before ``t``) with *the same* inputs (likes and comments made at or before ``t``,
ages measured at ``t``), so the ordering is a pure function of ``t`` and pages are consecutive slices of it. The
cursor carries ``t``, the position reached and the last few videos shown; the next page starts right after the
newest of them that still exists, so deleting a video between two pages never causes a gap. Videos uploaded after ``t`` wait for the next fresh load.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from reelm.core.errors import ReelmError
from reelm.core.ids import uuid7_ceiling, uuid7_floor
from reelm.social.blocks import not_hidden
from reelm.social.models import Comment, Follow, FollowStatus, Like
from reelm.videos.models import Hashtag, Video, Visibility
from reelm.videos.selectors import with_listing
from reelm.videos.states import VideoState

#: How far back For You looks for candidates.
WINDOW = timedelta(days=7)
#: At most this many of the newest candidates in the window are ranked (bounds the work per request).
MAX_CANDIDATES = 500
#: Diversity: at most this many videos in a row from one author ...
MAX_RUN = 2
#: ... and at most this many from one author in any :data:`DIVERSITY_SPAN` consecutive positions (so in any page).
MAX_PER_SPAN = 4
DIVERSITY_SPAN = 20
MAX_LIMIT = 50
#: A For You cursor remembers this many of the last videos shown.
CURSOR_IDS = 3


class BadCursor(ReelmError):
    status = 400
    code = "bad_cursor"


@dataclass(frozen=True)
class FeedPage:
    items: list[Video]
    next_cursor: str | None


class Feed(Protocol):
    """What every feed source offers. ``viewer`` is a user or an anonymous user; ``cursor`` is None for page one."""

    name: str

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage: ...


def _signed_in(viewer: Any) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


# --- Following -----------------------------------------------------------------------------------------------


class FollowingFeed:
    """Newest first from the accounts the viewer follows. Followers-only videos and every video of a private
    account are shown because the follow is accepted; private videos never are."""

    name = "following"

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        limit = _clamp(limit)
        if not _signed_in(viewer):
            return FeedPage(items=[], next_cursor=None)
        followees = Follow.objects.filter(owner_id=viewer.id, status=FollowStatus.ACCEPTED).values("followee_id")
        queryset = Video.objects.filter(
            not_hidden(viewer, muted=True),
            owner_id__in=Subquery(followees),
            state=VideoState.READY,
            visibility__in=[Visibility.PUBLIC, Visibility.FOLLOWERS],
        )
        if cursor:
            queryset = queryset.filter(id__lt=_uuid_cursor(cursor))
        videos = list(with_listing(queryset).order_by("-id")[: limit + 1])
        more = len(videos) > limit
        videos = videos[:limit]
        return FeedPage(items=videos, next_cursor=str(videos[-1].id) if more and videos else None)


def _uuid_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(cursor)
    except (ValueError, TypeError):
        raise BadCursor("This cursor is not valid; start again without one.") from None


# --- For You -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    id: uuid.UUID
    owner_id: Any
    score: float


def public_videos() -> QuerySet[Video]:
    """Ready public videos of public accounts: what anyone may see."""
    return Video.objects.filter(visibility=Visibility.PUBLIC, state=VideoState.READY, owner__is_private=False)


def score(*, likes: int, comments: int, age_hours: float) -> float:
    return (likes + 2 * comments + 1) / (max(age_hours, 0.0) + 2) ** 1.5


def ranked_at(snapshot: datetime, *, viewer: Any = None) -> list[Ranked]:
    """Every For You candidate at ``snapshot``, best first, ties broken by newest id: two queries. Authors the
    ``viewer`` blocks, is blocked by or muted are left out in that same query (so they never take a candidate's
    place), and the order stays the same on every page as long as the viewer blocks or mutes no one new."""

    def counted(model: type[Like] | type[Comment]) -> Any:
        rows = (
            model.objects.filter(video_id=OuterRef("pk"), created_at__lte=snapshot)
            .order_by()
            .values("video_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    # First the newest candidates, bounded by id (UUIDv7 ids sort by creation time), so the database walks an
    # index newest-first and stops after MAX_CANDIDATES; only those few rows get their reactions counted.
    start_ms = int((snapshot - WINDOW).timestamp() * 1000)
    end_ms = int(snapshot.timestamp() * 1000)
    candidates = list(
        public_videos()
        .filter(not_hidden(viewer, muted=True), id__gte=uuid7_floor(start_ms), id__lte=uuid7_ceiling(end_ms))
        .filter(created_at__lte=snapshot, created_at__gte=snapshot - WINDOW)
        .order_by("-id")
        .values_list("id", flat=True)[:MAX_CANDIDATES]
    )
    rows = (
        Video.objects.filter(id__in=candidates)
        .order_by()
        .annotate(n_likes=counted(Like), n_comments=counted(Comment), created=F("created_at"))
        .values_list("id", "owner_id", "n_likes", "n_comments", "created")
    )
    ranked = [
        Ranked(
            id=video_id,
            owner_id=owner_id,
            score=score(likes=likes, comments=comments, age_hours=(snapshot - created).total_seconds() / 3600),
        )
        for video_id, owner_id, likes, comments, created in rows
    ]
    ranked.sort(key=lambda r: (-r.score, -r.id.int))
    return diversify(ranked)


def diversify(
    ranked: Sequence[Ranked], *, max_run: int = MAX_RUN, max_per_span: int = MAX_PER_SPAN, span: int = DIVERSITY_SPAN
) -> list[Ranked]:
    """Re-order best-first candidates so no author has more than ``max_run`` videos in a row or more than
    ``max_per_span`` in any ``span`` consecutive positions. Greedy: each position takes the best remaining video
    that keeps both rules; when none does (one author is all that is left), the best remaining one. Nothing is
    dropped, only moved later, so paging through the whole order shows every candidate exactly once."""
    remaining = list(ranked)
    out: list[Ranked] = []
    recent: deque[Any] = deque(maxlen=span - 1)  # the authors of the last span-1 positions
    in_span: Counter[Any] = Counter()
    while remaining:
        last = out[-max_run:]
        same = len(last) == max_run and all(r.owner_id == last[0].owner_id for r in last)
        run_author = last[0].owner_id if same else None
        pick = 0
        for index, candidate in enumerate(remaining):
            if candidate.owner_id != run_author and in_span[candidate.owner_id] < max_per_span:
                pick = index
                break
        chosen = remaining.pop(pick)
        out.append(chosen)
        if len(recent) == recent.maxlen:
            in_span[recent[0]] -= 1
        recent.append(chosen.owner_id)
        in_span[chosen.owner_id] += 1
    return out


@dataclass(frozen=True)
class SnapshotCursor:
    """Where a client is in the For You order fixed at ``snapshot``: the position reached and the ids of the last
    few videos shown (newest last), so a deleted video never makes the next page skip one."""

    snapshot: datetime
    position: int
    last_ids: tuple[uuid.UUID, ...]

    def encode(self) -> str:
        body = {
            "t": int(self.snapshot.timestamp() * 1_000_000),
            "p": self.position,
            "v": [i.hex for i in self.last_ids[-CURSOR_IDS:]],
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> SnapshotCursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            micros, position, last = data["t"], data["p"], data["v"]
            if not (isinstance(micros, int) and isinstance(position, int) and isinstance(last, list)):
                raise ValueError("wrong types")
            if position < 0 or not 0 < len(last) <= CURSOR_IDS:
                raise ValueError("out of range")
            snapshot = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
            return SnapshotCursor(snapshot, position, tuple(uuid.UUID(hex=str(i)) for i in last))
        except (ValueError, TypeError, KeyError, OverflowError, OSError, binascii.Error, UnicodeDecodeError):
            raise BadCursor("This cursor is not valid; start again without one.") from None

    def start_in(self, order: Sequence[Ranked]) -> int:
        """Right after the newest of the last videos shown that still exists; if all are gone, where the first of
        them was (a repeat, which clients drop, rather than a gap)."""
        where = {r.id: i for i, r in enumerate(order)}
        for video_id in reversed(self.last_ids):
            if video_id in where:
                return where[video_id] + 1
        return max(0, self.position - len(self.last_ids))


class ForYouFeed:
    """Recent, popular public videos with per-author diversity, paged over a snapshot (see the module docs)."""

    name = "for-you"

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        limit = _clamp(limit)
        at = SnapshotCursor.decode(cursor) if cursor else None
        snapshot = at.snapshot if at else timezone.now()
        order = ranked_at(snapshot, viewer=viewer)
        start = at.start_in(order) if at else 0
        chosen = order[start : start + limit]
        by_id = {v.id: v for v in with_listing(Video.objects.filter(id__in=[r.id for r in chosen]))}
        videos = [by_id[r.id] for r in chosen if r.id in by_id]
        end = start + len(chosen)
        more = end < len(order) and bool(chosen)
        shown = tuple(r.id for r in chosen[-CURSOR_IDS:])
        next_cursor = SnapshotCursor(snapshot, end, shown).encode() if more else None
        return FeedPage(items=videos, next_cursor=next_cursor)


FEEDS: dict[str, Feed] = {"for-you": ForYouFeed(), "following": FollowingFeed()}


def feed_get(name: str) -> Feed:
    """The source behind a feed name: the one place the recommender will be swapped in."""
    return FEEDS[name]


# --- trending hashtags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendingTag:
    name: str
    count: int


def trending_hashtags(*, now: datetime | None = None, limit: int = 10) -> list[TrendingTag]:
    """Hashtags on the most public videos created in the last 7 days, most first (ties by name): one query."""
    since = (now or timezone.now()) - timedelta(days=7)
    recent = Q(
        video_links__video__visibility=Visibility.PUBLIC,
        video_links__video__state=VideoState.READY,
        video_links__video__owner__is_private=False,
        video_links__video__created_at__gte=since,
    )
    rows = (
        Hashtag.objects.annotate(n=Count("video_links", filter=recent))
        .filter(n__gt=0)
        .order_by("-n", "name")
        .values_list("name", "n")[:limit]
    )
    return [TrendingTag(name=name, count=n) for name, n in rows]
