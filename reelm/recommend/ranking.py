"""For You for a signed-in viewer: candidates from every source, filtered once, scored by the online ranker,
with a guaranteed share for fresh uploads, re-ordered for author and hashtag diversity, and explained.

Pages: the first page starts a session (the cursor names it); each later page is ranked afresh — so it already
reflects the events sent since — leaving out everything shown in the session and everything the viewer has seen
in the last ``pool.SEEN_FOR``. Once nothing fresh is left, pages come from ``caught_up`` (what the viewer has not
seen yet that no source proposed, then what they saw before, marked ``seen_before``): For You never ends while the
viewer may see a video. If anything in the model is unavailable, the page comes from the transparent ranking
instead (``transparent.ForYouFeed``) and says so.
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache

from reelm.core.timing import phase
from reelm.feed.feeds import BadCursor, FeedPage, signed_in
from reelm.recommend.candidates import SOURCE_WORDS, Context
from reelm.recommend.caught_up import Rules, caught_up_page
from reelm.recommend.features import completion_rate, pool_items
from reelm.recommend.not_interested import not_interested_sets
from reelm.recommend.pool import (
    SEEN_MAX,
    WATCHED_KEEP,
    Pool,
    may_show,
    pool_for,
    pool_gather,
    pool_refresh_due,
    pool_running_low,
    viewer_context,
    watched_add,
    watched_recall,
)
from reelm.recommend.ranker import FEATURE_WORDS, SCALE, Item, Items, Ranker, features, sigmoid
from reelm.recommend.ranker_store import ranker_current
from reelm.recommend.served import served_remember
from reelm.recommend.tasks import pool_refresh
from reelm.recommend.taste import taste_get
from reelm.recommend.transparent import ForYouFeed, LeaveOut
from reelm.relations.selectors import hidden_author_ids
from reelm.videos.cards import video_rows
from reelm.videos.states import VideoState

log = logging.getLogger(__name__)

#: Candidates (besides followed creators' and fresh ones) that get the ranker's full features.
PRE_RANK = 80
SESSION_TTL = 3600
CURSOR_PREFIX = "r1."
#: Share of a page reserved for fresh uploads at the default setting (50); 0 at 0, twice this at 100.
FRESH_SHARE = 0.15
MAX_AUTHOR_RUN = 1
MAX_TAG_RUN = 2
#: Impressions after which the ranker's predictions are trusted fully over the fixed prior.
TRUST_AFTER = 500

TRANSPARENT_WHY = {
    "source": "popular",
    "summary": "Popular recent public videos (the same ranking for everyone)",
    "reasons": ["likes and comments, weighed against age"],
}


@dataclass
class Scored:
    video: bytes  # the video's UUID, as bytes: cheaper to make, hash and compare for a hundred candidates
    owner: bytes
    tags: list[str]
    source: str
    score: float
    columns: Items  # every candidate's ranker inputs, as columns; this one's at ``at``
    at: int
    features: list[tuple[str, float]] = field(default_factory=list)  # named, for the page's videos only

    @property
    def video_id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.video)

    @functools.cached_property
    def item(self) -> Item:
        """This candidate's ranker inputs as an ``Item``: made only for the page's few videos."""
        return self.columns.item(self.at)


class RecommendedFeed:
    name = "for-you"

    def __init__(self) -> None:
        self.transparent = ForYouFeed()

    def page(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        if not signed_in(viewer) or (cursor and not cursor.startswith(CURSOR_PREFIX)):
            return self._transparent(viewer, cursor, limit)
        with phase("taste"):
            taste = taste_get(viewer)
        if not taste.personalised:
            return self._transparent(viewer, None, limit)
        try:
            return self._recommended(viewer, taste, cursor, limit)
        except BadCursor:
            raise
        except Exception:
            log.exception("For You for %s fell back to the transparent ranking", viewer.id)
            return self._transparent(viewer, None, limit)

    def _transparent(self, viewer: Any, cursor: str | None, limit: int) -> FeedPage:
        found = self.transparent.page(viewer, cursor, limit, _leave_out(viewer))
        ids = found.ids
        why = {i: TRANSPARENT_WHY for i in ids}
        return FeedPage(ids=ids, next_cursor=found.next_cursor, why=why, seen_before=found.seen_before)

    def _recommended(self, viewer: Any, taste: Any, cursor: str | None, limit: int) -> FeedPage:
        session = _session(cursor)
        with phase("pool"):
            shown: list[str] = cache.get(_session_key(session)) or []
            ranker = ranker_current()
            ctx = viewer_context(viewer, taste)
            candidates = pool_for(ctx)
        with phase("enqueue"):
            if pool_refresh_due(viewer.id, ctx.vector, candidates):
                _gather_in_background(viewer.id)  # this page ranks the kept pool; the worker gathers the next one
        # The fresh uploads the exploration budget may pick from (twice its slots) skip the pre-ranking.
        budget = 2 * _fresh_slots(limit, taste.more_new_creators)
        while True:
            with phase("score"):
                excluded = {bytes.fromhex(h) for h in watched_recall(viewer.id).union(shown)}
                explore = candidates.explore_order()
                fresh = {v for v, n in explore.items() if n < budget}
                scored, allowed = self._score(viewer, taste, ctx, ranker, candidates, excluded, fresh)
            if allowed >= limit or not candidates.worth_gathering_again():
                break
            with phase("gather"):
                candidates = pool_gather(ctx)  # the kept pool ran dry
        with phase("rows"):
            chosen = _compose(scored, limit, taste.more_new_creators, explore)
            rows = video_rows([s.video_id for s in chosen])
            gone = _no_longer_visible(rows, [s.video for s in chosen], ctx.follows)
            if gone:  # changed since the pool was gathered: compose again without them
                scored = [s for s in scored if s.video not in gone]
                chosen = _compose(scored, limit, taste.more_new_creators, explore)
                rows = video_rows([s.video_id for s in chosen])
                gone = _no_longer_visible(rows, [s.video for s in chosen], ctx.follows)
                chosen = [s for s in chosen if s.video not in gone]
        if not chosen:  # nothing fresh left (the loop above gathered the pool again if it was worth it)
            with phase("caught up"):
                return self._caught_up(viewer, ctx, session, shown, limit)
        with phase("explain"):
            ids = [s.video_id for s in chosen]
            for s in chosen:
                s.features = features(s.item)
            reasons = ranker.explain_many([s.features for s in chosen])
            why = {i: _explain(s, r) for i, s, r in zip(ids, chosen, reasons, strict=True)}
        with phase("remember"):
            # The features each video was ranked with, so its impression is learned from exactly those.
            served = {i.hex: {"source": s.source, "features": s.features} for i, s in zip(ids, chosen, strict=True)}
            served_remember(viewer.id, served)
            shown = (shown + [i.hex for i in ids])[-SEEN_MAX:]
            cache.set(_session_key(session), shown, SESSION_TTL)
        with phase("enqueue"):
            if pool_running_low(viewer.id, candidates, allowed - len(chosen)):
                watched_add(viewer.id, shown[-WATCHED_KEEP:])  # so the next pool leaves them out
                _gather_in_background(viewer.id)
        # Never the end: once nothing fresh is left, the next page is made by ``_caught_up``.
        return FeedPage(ids=ids, next_cursor=CURSOR_PREFIX + session, why=why, rows=rows)

    def _caught_up(self, viewer: Any, ctx: Context, session: str, shown: list[str], limit: int) -> FeedPage:
        """A page with no fresh candidate (see ``caught_up``); the cursor goes on unless it is empty, which it is
        only when the viewer may see no playable video at all."""
        no = _unwanted(viewer)
        hidden = ctx.hidden if ctx.hidden is not None else hidden_author_ids(viewer)
        rules = Rules(
            viewer_id=viewer.id,
            follows=set(ctx.follows),
            hidden={a.bytes for a in hidden} | no.authors | {viewer.id.bytes},
            videos=no.videos,
            tags=no.tags,
        )
        found = caught_up_page(rules, shown, limit)
        if not found.ids:
            return FeedPage(ids=[], next_cursor=None)
        page = [i.hex for i in found.ids]
        again = set(page)
        shown = ([h for h in shown if h not in again] + page)[-SEEN_MAX:]
        cache.set(_session_key(session), shown, SESSION_TTL)
        return FeedPage(
            ids=found.ids,
            next_cursor=CURSOR_PREFIX + session,
            why=found.why,
            rows=found.rows,
            seen_before=found.seen_before,
        )

    def _score(
        self,
        viewer: Any,
        taste: Any,
        ctx: Context,
        ranker: Ranker,
        candidates: Pool,
        excluded: set[bytes],
        explore: set[bytes],
    ) -> tuple[list[Scored], int]:
        """The candidates this viewer may see, the best of them scored best first, and how many may be seen."""
        follows = {a.bytes for a in ctx.follows}
        hidden = ctx.hidden if ctx.hidden is not None else hidden_author_ids(viewer)
        allowed = _allowed(viewer, follows, {a.bytes for a in hidden}, candidates, excluded)
        kept = _prerank(candidates, allowed, ctx.vector, follows | explore)
        columns = pool_items(candidates, kept, ctx.vector, taste, follows)
        predictions = ranker.predict_items(columns)
        # Until the ranker has learned from enough impressions, lean on a fixed prior (affinity and completion).
        trust = min(1.0, ranker.examples / TRUST_AFTER)
        follow_boost = 0.5 + taste.more_following / 100
        numeric = columns.numeric
        priors = _priors(numeric["cosine"], numeric["completion_rate"], numeric["likes"])
        scores = (trust * predictions + (1 - trust) * priors) * np.where(columns.follows_author, follow_boost, 1.0)
        out = [
            Scored(
                candidates.ids[at],
                candidates.owners[at],
                list(candidates.tags[at]),
                columns.source[n],
                score,
                columns,
                n,
            )
            for n, (at, score) in enumerate(zip(kept.tolist(), scores.tolist(), strict=True))
        ]
        out.sort(key=lambda s: (-s.score, s.video))  # bytes order is hex order
        return out, len(allowed)


def _gather_in_background(user_id: uuid.UUID) -> None:
    pool_refresh(user_id)


def _allowed(viewer: Any, follows: set[bytes], hidden: set[bytes], candidates: Pool, excluded: set[bytes]) -> list[int]:
    """The rows of the pool this viewer may be shown now: not seen or shown since, not their own, not by a
    ``hidden`` account (blocked, muted) nor "not interested", and visible to them (``follows``: whom they follow).
    Accounts are id bytes."""
    no = _unwanted(viewer)
    # "Not interested" in a video or a creator is one more excluded video or hidden account.
    excluded = excluded | no.videos
    hidden = hidden | no.authors | {viewer.id.bytes}
    unwanted_tags = no.tags
    out = []
    for at, (video, owner) in enumerate(zip(candidates.ids, candidates.owners, strict=True)):
        if video in excluded or owner in hidden:
            continue
        if not (candidates.shown_to_followers if owner in follows else candidates.shown_to_anyone)[at]:
            continue
        if unwanted_tags and not unwanted_tags.isdisjoint(candidates.tags[at]):
            continue
        out.append(at)
    return out


@dataclass(frozen=True)
class Unwanted:
    """What a viewer said "not interested" to: videos and creators as id bytes, hashtags by name."""

    videos: set[bytes]
    authors: set[bytes]
    tags: set[str]

    def __bool__(self) -> bool:
        return bool(self.videos or self.authors or self.tags)


def _unwanted(viewer: Any) -> Unwanted:
    no = not_interested_sets(viewer)
    return Unwanted(_id_bytes(no["video"]), _id_bytes(no["author"]), no["hashtag"])


def _id_bytes(hexes: set[str]) -> set[bytes]:
    return {uuid.UUID(hex=h).bytes for h in hexes}


def _priors(cosines: np.ndarray, completion: np.ndarray, likes: np.ndarray) -> np.ndarray:
    """The fixed prior: affinity first; completion and likes tell apart what a viewer with no history is shown."""
    popular = np.minimum(1.0, np.log1p(likes) / 5)
    return 0.6 * np.asarray(sigmoid(SCALE * cosines)) + 0.3 * completion + 0.1 * popular


def _prerank(candidates: Pool, allowed: list[int], user: np.ndarray | None, keep: set[bytes]) -> np.ndarray:
    """Of the ``allowed`` rows, the :data:`PRE_RANK` with the best prior, computed for all at once, plus those whose
    video or creator is in ``keep`` (followed creators, the fresh uploads the exploration budget may pick): only
    those get the ranker's features (building them is most of a page's Python)."""
    rows = np.array(allowed, dtype=np.int64)
    if len(rows) <= PRE_RANK:
        return rows
    cosines = candidates.vectors[rows] @ user if user is not None else np.zeros(len(rows))
    impressions, completions = candidates.impressions[rows], candidates.completions[rows]
    priors = _priors(cosines, completion_rate(impressions, completions), candidates.likes[rows])
    best = np.zeros(len(rows), dtype=bool)
    best[np.argsort(-priors, kind="stable")[:PRE_RANK]] = True
    for n, at in enumerate(rows.tolist()):
        if not best[n] and (candidates.owners[at] in keep or candidates.ids[at] in keep):
            best[n] = True
    return rows[best]


def _no_longer_visible(
    rows: dict[uuid.UUID, dict[str, Any]], videos: list[bytes], follows: set[uuid.UUID]
) -> set[bytes]:
    """Which of the page's ``videos`` (id bytes) may not be shown any more (made private, deleted, author gone
    private), from their ``rows`` read just now (``video_rows``, which the page's items are then made from): facts
    kept with a pool (minutes old) never show what must not be seen."""
    still = {
        video_id.bytes
        for video_id, row in rows.items()
        if row["state"] == VideoState.READY
        and may_show(row["visibility"], row["owner__is_private"], followed=row["owner_id"] in follows)
    }
    return set(videos) - still


def _leave_out(viewer: Any) -> LeaveOut | None:
    """What a signed-in viewer said "not interested" to, for the transparent ranking: it holds with
    personalisation off too."""
    if not signed_in(viewer):
        return None
    no = _unwanted(viewer)
    if not no:
        return None
    return LeaveOut(frozenset(b.hex() for b in no.videos), frozenset(b.hex() for b in no.authors), frozenset(no.tags))


def _session(cursor: str | None) -> str:
    if cursor is None:
        return secrets.token_urlsafe(12)
    token = cursor[len(CURSOR_PREFIX) :]
    if not 8 <= len(token) <= 32 or not all(c.isalnum() or c in "-_" for c in token):
        raise BadCursor("This cursor is not valid; start again without one.")
    return token


def _session_key(session: str) -> str:
    return f"recommend:session:{session}"


def _fresh_slots(limit: int, more_new_creators: int) -> int:
    return round(limit * FRESH_SHARE * more_new_creators / 50)


def _compose(scored: list[Scored], limit: int, more_new_creators: int, explore: dict[bytes, int]) -> list[Scored]:
    """The page: best-scored first, with the exploration budget's slots given to fresh uploads that did not make
    the page on their score (in the order of their Thompson draws) and spread through it, then re-ordered so
    neither an author nor a hashtag runs on."""
    fresh_slots = _fresh_slots(limit, more_new_creators)
    on_merit = scored[: limit - fresh_slots]
    merit_ids = {s.video for s in on_merit}
    waiting = sorted(
        (s for s in scored if s.video in explore and s.video not in merit_ids), key=lambda s: explore[s.video]
    )
    fresh = waiting[:fresh_slots]
    for s in fresh:
        s.source = "fresh"
    fresh_ids = {s.video for s in fresh}
    rest = [s for s in scored if s.video not in fresh_ids]
    page = rest[: limit - len(fresh)]
    for n, s in enumerate(fresh):  # evenly spaced, starting at the third position
        at = min(len(page), 2 + n * max(1, limit // max(1, len(fresh))))
        page.insert(at, s)
    return _diversify(page[:limit])


def _diversify(page: list[Scored]) -> list[Scored]:
    """Greedy: each position takes the best remaining video that does not repeat the previous author or make a
    hashtag run longer than :data:`MAX_TAG_RUN`; when none qualifies, the best remaining one."""
    remaining = list(page)
    out: list[Scored] = []
    while remaining:
        last_authors = [s.owner for s in out[-MAX_AUTHOR_RUN:]]
        tag_runs = Counter(t for s in out[-MAX_TAG_RUN:] for t in set(s.tags)) if len(out) >= MAX_TAG_RUN else {}
        pick = 0
        for index, s in enumerate(remaining):
            if s.owner not in last_authors and not any(tag_runs.get(t, 0) >= MAX_TAG_RUN for t in s.tags):
                pick = index
                break
        out.append(remaining.pop(pick))
    return out


def _explain(s: Scored, families: list[str]) -> dict[str, Any]:
    reasons = [FEATURE_WORDS[f] for f in families if f in FEATURE_WORDS]
    if not reasons:
        reasons = [_fallback_reason(s.item)]
    return {"source": s.source, "summary": SOURCE_WORDS.get(s.source, "Recommended for you"), "reasons": reasons}


def _fallback_reason(item: Item) -> str:
    # An untrained ranker has no opinion yet: say what the strongest raw signal was.
    if item.follows_author:
        return FEATURE_WORDS["follows"]
    if item.tag_affinity > 0.2:
        return FEATURE_WORDS["tag"]
    if item.age_hours < 48:
        return FEATURE_WORDS["fresh"]
    if math.log1p(item.likes) > 1:
        return FEATURE_WORDS["popular"]
    return FEATURE_WORDS["cosine"]


_feed = RecommendedFeed()


def recommended_feed() -> RecommendedFeed:
    return _feed
