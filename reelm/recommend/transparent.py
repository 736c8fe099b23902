"""The transparent For You ranking: what For You shows signed out, with personalisation off, or when the
recommender is unavailable.

``score = (likes + 2 * comments + 1) / (age_hours + 2) ** 1.5`` over the public videos of the last :data:`WINDOW`,
re-ordered so one author never fills the screen (see :func:`diversify`). Accounts the viewer blocks, is blocked by
or muted are left out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from reelm.core.ids import uuid7_ceiling, uuid7_floor
from reelm.feed.feeds import BadCursor, FeedPage, page_limit
from reelm.relations.selectors import hidden_author_ids
from reelm.social.models import Comment, Like
from reelm.videos.models import Video, Visibility
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
#: A For You cursor remembers this many of the last videos shown.
CURSOR_IDS = 3
#: First pages share the newest ranking for this many seconds (ranking is the expensive part), unless a newer
#: public video is ready by then.
FRESH_FOR = 30
#: Seconds a snapshot's ranking stays cached for the clients paging through it; later it is simply recomputed.
SNAPSHOT_TTL = 30 * 60
CACHE_PREFIX = "feed:for-you:"


@dataclass(frozen=True)
class Ranked:
    id: str  # the video id as hex: cheap to cache and compare
    owner_id: Any
    score: float


def public_videos() -> QuerySet[Video]:
    """Ready public videos of public accounts: what anyone may see."""
    return _public_videos().all()


@functools.cache
def _public_videos() -> QuerySet[Video]:
    # Built once: resolving the filter and its join costs more Python than cloning the result per request.
    return Video.objects.filter(visibility=Visibility.PUBLIC, state=VideoState.READY, owner__is_private=False)


def score(*, likes: int, comments: int, age_hours: float) -> float:
    return (likes + 2 * comments + 1) / (max(age_hours, 0.0) + 2) ** 1.5


def _window(snapshot: datetime, language: str | None = None) -> QuerySet[Video]:
    """Public videos in For You's window before ``snapshot`` (only those in ``language``, if given), bounded by id
    as well (UUIDv7 ids sort by creation time), so the database walks an index newest first."""
    start_ms = int((snapshot - WINDOW).timestamp() * 1000)
    end_ms = int(snapshot.timestamp() * 1000)
    window = public_videos().filter(
        id__gte=uuid7_floor(start_ms),
        id__lte=uuid7_ceiling(end_ms),
        created_at__lte=snapshot,
        created_at__gte=snapshot - WINDOW,
    )
    return window if language is None else window.filter(language=language)


def ranked_at(snapshot: datetime, language: str | None = None) -> list[Ranked]:
    """The For You candidates at ``snapshot`` (only videos in ``language``, if given), best first, ties broken by
    newest id, for every viewer alike (each viewer's hidden authors are taken out afterwards, see
    :func:`_order_for`): two queries."""

    def counted(model: type[Like] | type[Comment]) -> Any:
        rows = (
            model.objects.filter(video_id=OuterRef("pk"), created_at__lte=snapshot)
            .order_by()
            .values("video_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    # The newest candidates first, then only those few rows get their reactions counted.
    candidates = list(_window(snapshot, language).order_by("-id").values_list("id", flat=True)[:MAX_CANDIDATES])
    rows = (
        Video.objects.filter(id__in=candidates)
        .order_by()
        .annotate(n_likes=counted(Like), n_comments=counted(Comment), created=F("created_at"))
        .values_list("id", "owner_id", "n_likes", "n_comments", "created")
    )
    ranked = [
        Ranked(
            id=video_id.hex,
            owner_id=owner_id.hex,
            score=score(likes=likes, comments=comments, age_hours=(snapshot - created).total_seconds() / 3600),
        )
        for video_id, owner_id, likes, comments, created in rows
    ]
    ranked.sort(key=lambda r: r.id, reverse=True)  # hex of UUIDv7: newest first
    ranked.sort(key=lambda r: -r.score)  # stable: equal scores stay newest first
    return ranked


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
class Ranking:
    """The ranking at one snapshot, shared by every viewer: the candidates best first (video and owner ids as
    hex) and their diversified order. Cached as three joined strings, because unpickling 500 ``UUID``s alone
    costs more than a page's queries."""

    snapshot: datetime
    ids: list[str]
    owners: list[str]
    order: list[str]

    @staticmethod
    def at(snapshot: datetime, language: str | None = None) -> Ranking:
        ranked = ranked_at(snapshot, language)
        return Ranking(
            snapshot, [r.id for r in ranked], [r.owner_id for r in ranked], [r.id for r in diversify(ranked)]
        )

    def dump(self) -> tuple[int, str, str, str]:
        return _micros(self.snapshot), "".join(self.ids), "".join(self.owners), "".join(self.order)

    @staticmethod
    def load(value: tuple[int, str, str, str]) -> Ranking:
        micros, ids, owners, order = value
        return Ranking(datetime.fromtimestamp(micros / 1_000_000, tz=UTC), _split(ids), _split(owners), _split(order))


def _split(joined: str) -> list[str]:
    return [joined[i : i + 32] for i in range(0, len(joined), 32)]


def _micros(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def _key(name: str) -> str:
    # A ranking is read from one database: another one's (a parallel test process's, say) must never be used.
    database = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:16]
    return f"{CACHE_PREFIX}{database}:{name}"


def _snapshot_key(snapshot: datetime, language: str | None = None) -> str:
    if language is None:
        return _key(f"at:{_micros(snapshot)}")
    return _key(f"at:{language}:{_micros(snapshot)}")


def _fresh_key(language: str | None = None) -> str:
    return _key("fresh") if language is None else _key(f"fresh:{language}")


def _ranking_at(snapshot: datetime) -> tuple[Ranking, bool]:
    """The ranking a cursor's snapshot fixed, and whether it was computed just now: cached, else recomputed (it is
    a pure function of the snapshot)."""
    key = _snapshot_key(snapshot)
    cached = cache.get(key)
    if cached is not None:
        return Ranking.load(cached), False
    ranking = Ranking.at(snapshot)
    cache.set(key, ranking.dump(), SNAPSHOT_TTL)
    return ranking, True


def fresh_ranking() -> tuple[Ranking, bool]:
    """The ranking for a first page, and whether it was computed just now: the newest shared one while it is
    younger than :data:`FRESH_FOR` (``ForYouFeed.page`` also drops it as soon as a newer public video is ready,
    so a new upload shows up on the next fresh load), else a new snapshot, now. Likes and comments since the
    shared snapshot count from the next one on."""
    return fresh_ranking_in(None)


def fresh_ranking_in(language: str | None) -> tuple[Ranking, bool]:
    """As :func:`fresh_ranking`, of the videos in one ``language`` only (an ISO 639-1 code; None: every video),
    cached apart. The recommender's "trending in your language" source reads it: a language's popular videos
    rarely reach the global top, which the most used languages fill."""
    cached = cache.get(_fresh_key(language))
    if cached is not None:
        return Ranking.load(cached), False
    return _rank_now(language), True


def _rank_now(language: str | None = None) -> Ranking:
    ranking = Ranking.at(timezone.now(), language)
    value = ranking.dump()
    cache.set(_fresh_key(language), value, FRESH_FOR)
    cache.set(_snapshot_key(ranking.snapshot, language), value, SNAPSHOT_TTL)
    return ranking


def _check(chosen: list[uuid.UUID], newer_than: datetime | None) -> tuple[int, int]:
    """How many of ``chosen`` are still public and, if ``newer_than`` is given, how many public videos are newer
    than that: one query for both."""
    shown = Q(id__in=chosen)
    counts = {"shown": Count("pk", filter=shown & Q(owner__is_private=False))}
    if newer_than is not None:
        newer = Q(id__gt=uuid7_ceiling(int(newer_than.timestamp() * 1000)))
        shown |= newer
        counts["newer"] = Count("pk", filter=newer)
    found = Video.objects.filter(shown, visibility=Visibility.PUBLIC, state=VideoState.READY).aggregate(**counts)
    return found["shown"], found.get("newer", 0)


def _order_for(ranking: Ranking, hidden: set[str], still: set[str] | None = None) -> list[str]:
    """The ids (hex) of ``ranking``'s order without the authors in ``hidden`` and, if given, the videos not in
    ``still``: the shared order when nothing is left out, else the rest re-diversified, exactly as if the others
    had never been candidates."""
    if still is None and (not hidden or hidden.isdisjoint(ranking.owners)):
        return ranking.order
    kept = [
        Ranked(id=video_id, owner_id=owner, score=0.0)  # already best first: diversify only needs the order
        for video_id, owner in zip(ranking.ids, ranking.owners, strict=True)
        if owner not in hidden and (still is None or video_id in still)
    ]
    return [r.id for r in diversify(kept)]


@dataclass(frozen=True)
class SnapshotCursor:
    """Where a client is in the For You order fixed at ``snapshot``: the position reached and the ids of the last
    few videos shown (newest last), so a deleted video never makes the next page skip one.

    Why the cursor is a snapshot: scores decay with time and move with every like, so a keyset on ``(score,
    id)`` would let a video jump across the cursor between two requests and be shown twice or never. Instead the
    first page fixes a snapshot time ``t``; every later page ranks *the same* candidates (videos created at or
    before ``t``, within the window before ``t``) with *the same* inputs (likes and comments made at or before
    ``t``, ages measured at ``t``), so the ordering is a pure function of ``t`` and pages are consecutive slices
    of it. The cursor carries ``t``, the position reached and the last few videos shown; the next page starts
    right after the newest of them that still exists, so deleting a video between two pages never causes a gap.
    Videos uploaded after ``t`` wait for the next fresh load.

    Being pure, the ranking is computed once per snapshot for every viewer and kept in Django's cache; first
    pages share the newest snapshot for up to :data:`FRESH_FOR` seconds, or until a newer public video is ready.
    What depends on the viewer or may have changed since ``t`` is applied on every request: the viewer's blocks
    and mutes are taken out of the order before it is diversified, and a video deleted or no longer public since
    ``t`` makes the order be re-diversified without it. The recommender's trending sources read the same cached
    rankings (:func:`fresh_ranking`, :func:`fresh_ranking_in`)."""

    snapshot: datetime
    position: int
    last_ids: tuple[uuid.UUID, ...]

    def encode(self) -> str:
        body = {"t": _micros(self.snapshot), "p": self.position, "v": [i.hex for i in self.last_ids[-CURSOR_IDS:]]}
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

    def start_in(self, order: Sequence[str]) -> int:
        """Right after the newest of the last videos shown that still is in ``order`` (ids as hex); if all are
        gone, where the first of them was (a repeat, which clients drop, rather than a gap)."""
        where = {video_id: i for i, video_id in enumerate(order)}
        for video_id in reversed(self.last_ids):
            if video_id.hex in where:
                return where[video_id.hex] + 1
        return max(0, self.position - len(self.last_ids))


class ForYouFeed:
    """Recent, popular public videos with per-author diversity, paged over a snapshot (see the module docs)."""

    name = "for-you"

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        limit = page_limit(limit)
        at = SnapshotCursor.decode(cursor) if cursor else None
        ranking, just_ranked = _ranking_at(at.snapshot) if at else fresh_ranking()
        # The shared ranking is for nobody in particular: this viewer's blocks and mutes apply now, and a video
        # deleted or no longer public since the snapshot (not if it was ranked just now) is noticed on the page
        # that would show it.
        hidden = {account.hex for account in hidden_author_ids(viewer)}
        order = _order_for(ranking, hidden)
        start = at.start_in(order) if at else 0
        chosen = [uuid.UUID(hex=video_id) for video_id in order[start : start + limit]]
        if not just_ranked:
            shown, newer = _check(chosen, None if at else ranking.snapshot)
            if newer:
                ranking = _rank_now()
                order = _order_for(ranking, hidden)
                chosen = [uuid.UUID(hex=video_id) for video_id in order[:limit]]
            elif shown != len(chosen):
                still = _window(ranking.snapshot).filter(id__gte=uuid.UUID(hex=min(ranking.ids)))
                order = _order_for(ranking, hidden, {video_id.hex for video_id in still.values_list("id", flat=True)})
                start = at.start_in(order) if at else 0
                chosen = [uuid.UUID(hex=video_id) for video_id in order[start : start + limit]]
        end = start + len(chosen)
        more = end < len(order) and bool(chosen)
        next_cursor = SnapshotCursor(ranking.snapshot, end, tuple(chosen[-CURSOR_IDS:])).encode() if more else None
        return FeedPage(ids=chosen, next_cursor=next_cursor)
