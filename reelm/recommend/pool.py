"""A viewer's candidate pool: what every source proposed, with the facts ranking needs, kept in the shared cache."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from reelm.events.models import WatchEvent
from reelm.recommend import ranker
from reelm.recommend.candidates import SOURCES, Context, Source
from reelm.recommend.index import video_index
from reelm.recommend.taste import taste_vector
from reelm.relations.selectors import followed_and_hidden
from reelm.videos.models import Video, VideoHashtag, Visibility
from reelm.videos.states import VideoState

SEEN_FOR = timedelta(days=30)
SEEN_MAX = 3000
PER_SOURCE = 40
#: A source whose proposals the viewer has mostly seen is asked again this many times deeper, until it proposes
#: :data:`PER_SOURCE` // 2 unseen ones or :data:`DEEPEST` times :data:`PER_SOURCE` (a heavy viewer's feed never
#: runs dry because the head of every source is behind them).
DEEPER = 4
DEEPEST = 16
#: How long a pool is kept for a viewer who does not come back (one who does has it gathered again in the
#: background every few minutes).
POOL_KEEP = 6 * 3600
#: After an events batch or a page, a pool older than this is gathered again in the background (for new uploads
#: and what is popular now: what the viewer watches moves the ranking at once, and their pool through the drift
#: below). Each gathering costs the worker real work at a large catalogue, so an active viewer costs one per
#: this many seconds…
POOL_REFRESH = 600
#: …as is one gathered with a vector whose cosine with the viewer's vector now is below this.
POOL_DRIFT = 0.9
#: A pool that ran dry is gathered again only if older than this.
POOL_DRY_AFTER = 10
#: A page that leaves fewer than this many videos (and under a third) of the pool has the worker gather the next
#: pool, so the viewer's page after next does not wait for it.
POOL_LOW = 60
WATCHED_KEEP = 500


@dataclass(frozen=True)
class Facts:
    """What ranking needs to know of a video, kept briefly in each process: candidates recur across viewers and
    pages, and reading them is most of a page's SQL. Whether it may still be shown is checked again, fresh, for
    the page's few videos (see :func:`_no_longer_visible`)."""

    owner_id: uuid.UUID
    visibility: str
    owner_private: bool
    likes: int
    created: datetime
    impressions: int | None
    completions: int | None
    tags: tuple[str, ...]

    def may_show(self, followed: bool) -> bool:
        return may_show(self.visibility, self.owner_private, followed=followed)


def may_show(visibility: str, owner_private: bool, *, followed: bool) -> bool:
    """Whether a ready video may be recommended: public videos of public accounts to anyone, public and
    followers-only videos to the author's followers."""
    if visibility == Visibility.PUBLIC and not owner_private:
        return True
    return followed and visibility in (Visibility.PUBLIC, Visibility.FOLLOWERS)


FACTS_SECONDS = 20.0
FACTS_MAX = 200_000
#: Video id bytes → (when read, then the facts as plain values; nothing more when the video is not ready or gone).
#: One flat tuple of bytes, strings, numbers, a datetime and the tags' tuple is not tracked by the garbage collector,
#: where ``Facts`` with their UUIDs are: full, this memory was over a million tracked objects, and a full collection
#: in a web process (set off by whichever request) grew to hundreds of milliseconds.
_facts: dict[bytes, tuple[Any, ...]] = {}


def video_facts(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Facts]:
    """The facts of the ready videos among ``ids``: from this process's memory when younger than
    :data:`FACTS_SECONDS`, else two queries for all the others."""
    now = time.monotonic()
    found: dict[uuid.UUID, Facts] = {}
    missing = []
    for video_id in ids:
        cached = _facts.get(video_id.bytes)
        if cached is not None and now - cached[0] < FACTS_SECONDS:
            if len(cached) > 1:
                found[video_id] = _facts_of(cached)
        else:
            missing.append(video_id)
    if missing:
        if len(_facts) > FACTS_MAX:
            _facts.clear()
        tags: dict[uuid.UUID, list[str]] = defaultdict(list)
        for video_id, name in VideoHashtag.objects.filter(video_id__in=missing).values_list(
            "video_id", "hashtag__name"
        ):
            tags[video_id].append(name)
        rows = Video.objects.filter(id__in=missing, state=VideoState.READY).values_list(
            "id", "owner_id", "visibility", "owner__is_private", "like_count", "created_at",
            "signal__impressions", "signal__completions",
        )  # fmt: skip
        for video_id, owner, visibility, private, likes, created, impressions, completions in rows:
            kept = (now, owner.bytes, visibility, private, likes, created, impressions, completions, tuple(tags[video_id]))  # fmt: skip
            found[video_id] = _facts_of(kept)
            _facts[video_id.bytes] = kept
        for video_id in missing:
            if video_id not in found:
                _facts[video_id.bytes] = (now,)  # not ready, or gone: asked again after a while
    return found


def _facts_of(kept: tuple[Any, ...]) -> Facts:
    _, owner, *rest = kept
    return Facts(uuid.UUID(bytes=owner), *rest)


def video_facts_forget() -> None:
    _facts.clear()


def _seen(viewer: Any) -> set[uuid.UUID]:
    since = timezone.now() - SEEN_FOR
    rows = WatchEvent.objects.filter(owner_id=viewer.id, created_at__gte=since).order_by("-created_at")
    return set(rows.values_list("video_id", flat=True)[:SEEN_MAX])


@dataclass
class Pool:
    """The ready videos the sources proposed that the viewer had not seen, as columns (one row per video, in the
    order they were proposed): a page reads it from the shared cache, and plain bytes, strings and numpy arrays
    unpickle in a fraction of the time a few hundred ``Facts`` with their UUIDs and datetimes took."""

    gathered: float  # time.time()
    vector: np.ndarray | None
    follows: bytes  # :func:`follows_digest` of whom the viewer followed
    interests: tuple[str, ...]
    languages: tuple[str, ...]
    ids: list[bytes]  # 16-byte UUIDs
    owners: list[bytes]
    sources: list[str]  # the first source to propose it
    tags: list[tuple[str, ...]]
    shown_to_anyone: list[bool]  # :func:`may_show` to a viewer who does not follow the author…
    shown_to_followers: list[bool]  # …and to one who does
    likes: np.ndarray
    created: np.ndarray  # seconds since the epoch
    impressions: np.ndarray
    completions: np.ndarray
    trending_rank: np.ndarray  # -1 when not in the transparent ranking
    explore: np.ndarray  # fresh uploads' order of their Thompson draws, -1 for the others
    vectors: np.ndarray  # the index's vectors at the gathering (seeded ones for videos it did not have)
    gathered_now: bool = field(default=False, compare=False)  # in this request (so gathering again is no use)

    def __len__(self) -> int:
        return len(self.ids)

    def video_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(bytes=b) for b in self.ids]

    def explore_order(self) -> dict[bytes, int]:
        """The fresh uploads the exploration budget may pick from (by id bytes), in the order of their Thompson
        draws."""
        return {self.ids[at]: int(self.explore[at]) for at in np.flatnonzero(self.explore >= 0).tolist()}

    def worth_gathering_again(self) -> bool:
        """Once it ran dry: not if gathered moments ago (the sources would propose the same videos)."""
        return not self.gathered_now and time.time() - self.gathered > POOL_DRY_AFTER

    def fits(self, ctx: Context) -> bool:
        """Whether a page may be ranked from it: gathered for the same follows, interests and languages (whatever
        its age: the page's videos are checked again, and an old pool is gathered again in the background)."""
        return time.time() - self.gathered < POOL_KEEP and (
            self.follows == follows_digest(ctx.follows)
            and self.interests == tuple(ctx.interests)
            and self.languages == tuple(ctx.languages)
        )


def follows_digest(follows: Iterable[uuid.UUID]) -> bytes:
    """Whom a viewer follows, in 16 bytes: a pool keeps this rather than the accounts, which every page would
    unpickle and compare one UUID at a time."""
    return hashlib.blake2b(b"".join(sorted(a.bytes for a in follows)), digest_size=16).digest()


def viewer_context(viewer: Any, taste: Any) -> Context:
    follows, hidden = followed_and_hidden(viewer)
    return Context(
        user=viewer,
        vector=taste_vector(taste),
        follows=follows,
        tag_affinity=taste.tag_affinity,
        interests=taste.interests,
        hidden=hidden,
        languages=tuple(taste.languages),
    )


def _pool_key(user_id: uuid.UUID) -> str:
    return f"recommend:pool5:{user_id.hex}"  # the number changes with the layout of Pool


def pool_for(ctx: Context) -> Pool:
    """The viewer's pool from the cache when it still fits them, else gathered now.

    Gathering candidates is most of a page's cost (seven sources; hundreds of ids through the ORM), ranking them
    is not. So each page re-ranks the viewer's pool with their current vector and the current ranker — what was
    just watched moves the very next page. The pool is gathered again before a page only when there is none
    (first visit, or unused for :data:`POOL_KEEP`), when the viewer's follows, interests or languages changed,
    or when it runs dry. Otherwise the worker gathers it in the background (after an events batch or a page):

    - when it is older than :data:`POOL_REFRESH` or the viewer's vector has moved away from the one it was gathered
      with, so a returning viewer's first page ranks their old pool and the next ones a fresh one;
    - when a page used most of it up (:data:`POOL_LOW`), so a viewer who keeps swiping never waits for one.

    Sources are asked past the head the viewer has already seen. What the viewer watched or was shown since the
    pool was gathered is kept beside it (:func:`watched_add`, for as long as the pool), so it is never shown
    again."""
    pool = cache.get(_pool_key(ctx.user.id))
    if isinstance(pool, Pool) and pool.fits(ctx):
        return pool
    return pool_gather(ctx)


def pool_gather(ctx: Context) -> Pool:
    """Ask every source, read the facts of what they proposed that the viewer has not seen lately; keep it."""
    seen = _seen(ctx.user) | {uuid.UUID(hex=h) for h in watched_recall(ctx.user.id)}
    proposed: dict[uuid.UUID, tuple[str, float]] = {}
    explore: dict[uuid.UUID, int] = {}
    for source in SOURCES:
        for video_id, score in _unseen_proposals(source, ctx, seen):
            if source.name == "fresh":
                explore.setdefault(video_id, len(explore))
            proposed.setdefault(video_id, (source.name, score))  # the first source to propose it names it
    facts = video_facts(list(proposed))
    ids = [v for v in proposed if v in facts]
    rows = [facts[v] for v in ids]
    trending = ctx.trending_rank
    indexed = video_index().vectors(ids)
    vectors = [indexed.get(v) for v in ids]
    pool = Pool(
        gathered=time.time(),
        vector=ctx.vector,
        follows=follows_digest(ctx.follows),
        interests=tuple(ctx.interests),
        languages=tuple(ctx.languages),
        ids=[v.bytes for v in ids],
        owners=[f.owner_id.bytes for f in rows],
        sources=[proposed[v][0] for v in ids],
        tags=[f.tags for f in rows],
        shown_to_anyone=[f.may_show(followed=False) for f in rows],
        shown_to_followers=[f.may_show(followed=True) for f in rows],
        likes=np.array([f.likes for f in rows], dtype=np.int64),
        created=np.array([f.created.timestamp() for f in rows], dtype=np.float64),
        impressions=np.array([f.impressions or 0 for f in rows], dtype=np.int64),
        completions=np.array([f.completions or 0 for f in rows], dtype=np.int64),
        trending_rank=np.array([trending.get(v.hex, -1) for v in ids], dtype=np.int64),
        explore=np.array([explore.get(v, -1) for v in ids], dtype=np.int64),
        vectors=np.array(
            [v if v is not None else ranker.seeded_vector(i.hex) for i, v in zip(ids, vectors, strict=True)],
            dtype=np.float32,
        ).reshape(len(ids), ranker.DIM),
    )
    cache.set(_pool_key(ctx.user.id), pool, POOL_KEEP)
    pool.gathered_now = True
    return pool


def _unseen_proposals(source: Source, ctx: Context, seen: set[uuid.UUID]) -> list[tuple[uuid.UUID, float]]:
    """Up to :data:`PER_SOURCE` of ``source``'s proposals the viewer has not seen, best first, asking deeper while
    they are mostly seen and the source has more."""
    k = PER_SOURCE
    while True:
        proposals = source.candidates(ctx, k)
        unseen = [(video_id, score) for video_id, score in proposals if video_id not in seen]
        if len(unseen) >= PER_SOURCE // 2 or len(proposals) < k or k >= PER_SOURCE * DEEPEST:
            return unseen[:PER_SOURCE]
        k *= DEEPER


def pool_refresh_due(user_id: uuid.UUID, vector: np.ndarray | None, pool: Pool | None = None) -> bool:
    """Whether the viewer's kept pool (read from the cache unless given) should be gathered again in the
    background — older than :data:`POOL_REFRESH`, or gathered with a vector the viewer has moved away from — and
    nobody is doing so already."""
    if pool is None:
        pool = cache.get(_pool_key(user_id))
    if not isinstance(pool, Pool) or pool.gathered_now:
        return False  # the next page gathers one, or this one just did
    old = time.time() - pool.gathered > POOL_REFRESH
    drifted = vector is not None and (pool.vector is None or float(pool.vector @ vector) < POOL_DRIFT)
    return (old or drifted) and _claim_gathering(user_id)


def pool_running_low(user_id: uuid.UUID, pool: Pool, left: int) -> bool:
    """Whether a page that left ``left`` of ``pool``'s videos for the viewer should have the worker gather the
    next pool now: most of it is used up (a small catalogue's whole pool is never "low"), it was not gathered
    moments ago, and nobody is gathering already."""
    return left < min(POOL_LOW, len(pool) / 3) and pool.worth_gathering_again() and _claim_gathering(user_id)


def _claim_gathering(user_id: uuid.UUID) -> bool:
    return cache.add(f"recommend:pool-gathering:{user_id.hex}", 1, 30)


def pool_forget(user_id: uuid.UUID) -> None:
    cache.delete(_pool_key(user_id))


def _watched_key(user_id: uuid.UUID) -> str:
    return f"recommend:watched:{user_id.hex}"


def watched_add(user_id: uuid.UUID, video_ids: Iterable[str]) -> None:
    """Remember what the viewer was just shown or watched (ids as hex), for pools gathered before it (newest last,
    bounded)."""
    known: list[str] = cache.get(_watched_key(user_id)) or []
    already = set(known)
    added = [v for v in dict.fromkeys(video_ids) if v not in already]
    cache.set(_watched_key(user_id), (known + added)[-WATCHED_KEEP:], POOL_KEEP + 600)  # outlives its pools


def watched_recall(user_id: uuid.UUID) -> set[str]:
    """What :func:`watched_add` remembered, as hex ids."""
    return set(cache.get(_watched_key(user_id)) or [])


def watched_list(user_id: uuid.UUID) -> list[str]:
    """What :func:`watched_add` remembered, as hex ids, in the order remembered (newest last)."""
    return list(cache.get(_watched_key(user_id)) or [])
