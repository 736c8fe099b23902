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
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from reelm.core import realms
from reelm.core.ids import uuid7_ceiling, uuid7_floor, uuid7_time_ms
from reelm.feed.feeds import BadCursor, FeedPage, page_limit
from reelm.relations.selectors import hidden_author_ids
from reelm.social.models import Comment, Like
from reelm.videos.models import Video, VideoHashtag, Visibility
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
    database = hashlib.sha256(str(realms.connection().settings_dict["NAME"]).encode()).hexdigest()[:16]
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


def _order_for(
    ranking: Ranking, hidden: set[str], still: set[str] | None = None, drop: frozenset[str] = frozenset()
) -> list[str]:
    """The ids (hex) of ``ranking``'s order without the authors in ``hidden``, the videos in ``drop`` and, if
    given, the videos not in ``still``: the shared order when nothing is left out, else the rest re-diversified,
    exactly as if the others had never been candidates."""
    if still is None and not drop and (not hidden or hidden.isdisjoint(ranking.owners)):
        return ranking.order
    kept = [
        Ranked(id=video_id, owner_id=owner, score=0.0)  # already best first: diversify only needs the order
        for video_id, owner in zip(ranking.ids, ranking.owners, strict=True)
        if owner not in hidden and video_id not in drop and (still is None or video_id in still)
    ]
    return [r.id for r in diversify(kept)]


@dataclass(frozen=True)
class LeaveOut:
    """What a signed-in viewer said "not interested" to, left out like a hidden author: videos and creators by
    id (hex), hashtags by name."""

    videos: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def dropped(self, ids: Sequence[str]) -> frozenset[str]:
        """Which of ``ids`` (hex) to leave out as videos: those named, and those with a hashtag named."""
        if not self.tags or not ids:
            return self.videos
        tagged = VideoHashtag.objects.filter(
            video_id__in=[uuid.UUID(hex=i) for i in ids], hashtag__name__in=self.tags
        ).values_list("video_id", flat=True)
        return self.videos | {video_id.hex for video_id in tagged}


#: Where a cursor is: in the snapshot's ranking, among the older public videos past it, or at the end of a lap.
RANKED, OLDER, WRAP = "r", "o", "w"


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
    Videos uploaded after ``t`` wait for the next fresh load (or the next lap).

    Being pure, the ranking is computed once per snapshot for every viewer and kept in Django's cache; first
    pages share the newest snapshot for up to :data:`FRESH_FOR` seconds, or until a newer public video is ready.
    What depends on the viewer or may have changed since ``t`` is applied on every request: the viewer's blocks
    and mutes are taken out of the order before it is diversified, and a video deleted or no longer public since
    ``t`` makes the order be re-diversified without it. The recommender's trending sources read the same cached
    rankings (:func:`fresh_ranking`, :func:`fresh_ranking_in`).

    Past the ranking (``phase`` :data:`OLDER`) the cursor is a keyset: ``position`` counts the older videos shown
    and the next page holds those with an id below the last one; ``floor`` is the oldest ranked id, below which
    videos of the window that were not ranked wait. ``lap`` counts the times the order started over
    (:data:`WRAP`: the next page starts a new lap), and ``seen_until`` is when the lap before this one was fixed:
    what was made by then was shown in it."""

    snapshot: datetime
    position: int
    last_ids: tuple[uuid.UUID, ...]
    phase: str = RANKED
    floor: str | None = None
    lap: int = 0
    seen_until: int | None = None  # micros

    def encode(self) -> str:
        body: dict[str, Any] = {
            "t": _micros(self.snapshot),
            "p": self.position,
            "v": [i.hex for i in self.last_ids[-CURSOR_IDS:]],
        }
        if self.phase != RANKED:
            body["k"] = self.phase
        if self.floor is not None:
            body["f"] = self.floor
        if self.lap:
            body["l"] = self.lap
        if self.seen_until is not None:
            body["s"] = self.seen_until
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> SnapshotCursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            micros, position, last = data["t"], data["p"], data["v"]
            phase, floor, lap, seen_until = data.get("k", RANKED), data.get("f"), data.get("l", 0), data.get("s")
            if not (isinstance(micros, int) and isinstance(position, int) and isinstance(last, list)):
                raise ValueError("wrong types")
            if position < 0 or not 0 < len(last) <= CURSOR_IDS:
                raise ValueError("out of range")
            if phase not in (RANKED, OLDER, WRAP) or not isinstance(lap, int) or lap < 0:
                raise ValueError("wrong phase")
            if not (seen_until is None or isinstance(seen_until, int)):
                raise ValueError("wrong types")
            if floor is not None:
                floor = uuid.UUID(hex=str(floor)).hex
            snapshot = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
            ids = tuple(uuid.UUID(hex=str(i)) for i in last)
            return SnapshotCursor(snapshot, position, ids, phase, floor, lap, seen_until)
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
    """Recent, popular public videos with per-author diversity, paged over a snapshot (see the module docs).

    It never runs dry while a public video is left: past the end of the snapshot's ranking come the older public
    videos beyond it (older than the window, or in it but not among the ranked), newest first; past those the
    order starts over — a new lap, from a fresh ranking, so what was uploaded meanwhile comes first. A page never
    spans two laps (it ends short instead), so it never holds a video twice, and a lap does not start with the
    video that ended the last one. Signed out, a viewer has no memory to tell what they saw: nothing is marked.
    Signed in (personalisation off), what a later lap shows that was made before the previous lap started was
    shown in it, and is marked ``seen_before``."""

    name = "for-you"

    def page(self, viewer: Any, cursor: str | None, limit: int, leave_out: LeaveOut | None = None) -> FeedPage:
        limit = page_limit(limit)
        at = SnapshotCursor.decode(cursor) if cursor else None
        # The shared ranking is for nobody in particular: this viewer's blocks and mutes (and "not interested")
        # apply now.
        hidden = {account.hex for account in hidden_author_ids(viewer)}
        if leave_out is not None:
            hidden |= leave_out.authors
        lap, seen_until = (at.lap, at.seen_until) if at else (0, None)
        previous = at.last_ids[-1] if at else None
        if at is not None and at.phase == WRAP:
            lap, seen_until, at = lap + 1, _micros(at.snapshot), None
        for _ in range(2):  # this lap and, when it has nothing left, the next one
            whole_lap = at is None
            if at is None or at.phase == RANKED:
                ranking, chosen, sliced, end, total = self._ranked(at, hidden, leave_out, limit, previous)
                floor = min(ranking.ids) if ranking.ids else None
                older = SnapshotCursor(ranking.snapshot, 0, (), OLDER, floor, lap, seen_until)
                if chosen:
                    phase, position = RANKED, end
                    if end >= total:  # the ranking ends here: the lap too, unless older videos are left
                        phase = OLDER if _older(older, hidden, leave_out, 1) else WRAP
                        position = 0
                    after = SnapshotCursor(
                        ranking.snapshot, position, tuple(sliced[-CURSOR_IDS:]), phase, floor, lap, seen_until
                    )
                    return self._found(viewer, chosen, after, seen_until)
                at = older
            chosen = _older(at, hidden, leave_out, limit + 1)
            if chosen:
                phase = OLDER if len(chosen) > limit else WRAP  # so a lap's last page says so
                chosen = chosen[:limit]
                after = SnapshotCursor(
                    at.snapshot, at.position + len(chosen), tuple(chosen[-CURSOR_IDS:]), phase, at.floor, lap,
                    seen_until,
                )  # fmt: skip
                return self._found(viewer, chosen, after, seen_until)
            if whole_lap:
                break  # a whole lap with nothing in it: no public video this viewer may see
            lap, seen_until, at = lap + 1, _micros(at.snapshot), None
        return FeedPage(ids=[], next_cursor=None)

    @staticmethod
    def _found(viewer: Any, chosen: list[uuid.UUID], after: SnapshotCursor, seen_until: int | None) -> FeedPage:
        seen: frozenset[uuid.UUID] = frozenset()
        if seen_until is not None and getattr(viewer, "is_authenticated", False):
            seen = frozenset(i for i in chosen if uuid7_time_ms(i) * 1000 <= seen_until)
        return FeedPage(ids=chosen, next_cursor=after.encode(), seen_before=seen)

    @staticmethod
    def _ranked(
        at: SnapshotCursor | None, hidden: set[str], leave_out: LeaveOut | None, limit: int, avoid: uuid.UUID | None
    ) -> tuple[Ranking, list[uuid.UUID], list[uuid.UUID], int, int]:
        """A page of the snapshot's ranking (a fresh one without ``at``): the ranking, the page's videos, the same
        in the order's order, where the page ends in the order and the order's length. A new lap does not start
        with ``avoid``, the video shown last, when there is another."""
        ranking, just_ranked = _ranking_at(at.snapshot) if at else fresh_ranking()
        drop = leave_out.dropped(ranking.ids) if leave_out else frozenset()
        order = _order_for(ranking, hidden, drop=drop)
        start = at.start_in(order) if at else 0
        chosen = [uuid.UUID(hex=video_id) for video_id in order[start : start + limit]]
        if not just_ranked:
            # A video deleted or no longer public since the snapshot (not if it was ranked just now) is noticed
            # on the page that would show it.
            shown, newer = _check(chosen, None if at else ranking.snapshot)
            if newer:
                ranking = _rank_now()
                drop = leave_out.dropped(ranking.ids) if leave_out else frozenset()
                order = _order_for(ranking, hidden, drop=drop)
                chosen = [uuid.UUID(hex=video_id) for video_id in order[:limit]]
            elif shown != len(chosen):
                still = _window(ranking.snapshot).filter(id__gte=uuid.UUID(hex=min(ranking.ids)))
                alive = {video_id.hex for video_id in still.values_list("id", flat=True)}
                order = _order_for(ranking, hidden, alive, drop)
                start = at.start_in(order) if at else 0
                chosen = [uuid.UUID(hex=video_id) for video_id in order[start : start + limit]]
        end = start + len(chosen)
        sliced = list(chosen)
        if at is None and avoid is not None and chosen and chosen[0] == avoid:
            if len(chosen) > 1:
                chosen[0], chosen[1] = chosen[1], chosen[0]
            elif end < len(order):
                chosen = sliced = [uuid.UUID(hex=order[end])]  # just shown: this lap skips it
                end += 1
        return ranking, chosen, sliced, end, len(order)


def _older(at: SnapshotCursor, hidden: set[str], leave_out: LeaveOut | None, limit: int) -> list[uuid.UUID]:
    """The next page of the public videos past ``at``'s ranking, newest first: made before the window, or in it
    but older than the oldest ranked one (:data:`MAX_CANDIDATES` were ranked); none made after the snapshot."""
    beyond = Q(created_at__lt=at.snapshot - WINDOW)
    if at.floor is not None:
        beyond |= Q(id__lt=uuid.UUID(hex=at.floor))
    rows = public_videos().filter(beyond, created_at__lte=at.snapshot)
    if at.position and at.last_ids:
        rows = rows.filter(id__lt=at.last_ids[-1])
    if hidden:
        rows = rows.exclude(owner_id__in=[uuid.UUID(hex=h) for h in hidden])
    if leave_out is not None and leave_out.videos:
        rows = rows.exclude(id__in=[uuid.UUID(hex=h) for h in leave_out.videos])
    if leave_out is not None and leave_out.tags:
        rows = rows.exclude(hashtag_links__hashtag__name__in=leave_out.tags)
    return list(rows.order_by("-id").values_list("id", flat=True)[:limit])
