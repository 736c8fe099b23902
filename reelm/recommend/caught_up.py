"""For You once the viewer has seen everything the sources propose: it never runs dry.

A page the recommender has no fresh candidate for is made here instead (never on the common path):

1. videos the viewer may see that no source proposed and that they never saw (the newest first), then
2. what they saw before, least recently seen first, marked ``seen_before``, cycling on for as long as they page;
3. only when nothing else is left, their own videos (also marked), so an uploader alone on an instance still
   sees their clips.

The same rules as for fresh candidates hold: blocked and muted accounts, visibility, and "not interested" (a video,
a creator or a hashtag) are never brought back.

"Seen" is what the viewer's watch events of the last ``pool.SEEN_FOR`` name (the pool's own notion), what this
session and the watched memory show was put on a page, and what was shown here before. When it was last seen:
the newest of its watch event and of its showing here (kept, per viewer, in :func:`_times_key`). A video put on a
page of this session that no event names yet counts as just seen, in the order shown: the client may not have
reported it yet, and it must not come straight back.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from reelm.events.models import WatchEvent
from reelm.recommend.pool import SEEN_FOR, SEEN_MAX, Facts, may_show, video_facts, watched_add, watched_list
from reelm.recommend.served import served_remember
from reelm.videos.cards import video_rows
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

#: How many showing times are kept per viewer, and for how long.
TIMES_KEEP = SEEN_MAX
TIMES_TTL = int(SEEN_FOR.total_seconds())
#: Candidates read at a time, and at most this many batches of never-seen videos per page.
BATCH = 200
UNSEEN_BATCHES = 5
#: At most this many of the viewer's own videos, newest first, take turns.
OWN_MAX = 200
#: Seconds between two videos' times within one page: keeps their order.
TICK = 1e-6

SEEN_WHY = {
    "source": "seen",
    "summary": "You're all caught up: seen before",
    "reasons": ["nothing new for you right now, so the ones you saw longest ago come back"],
}
UNSEEN_WHY = {
    "source": "more",
    "summary": "More from this instance",
    "reasons": ["nothing new was recommended for you, so here is one you have not seen"],
}
OWN_WHY = {
    "source": "yours",
    "summary": "Your own video",
    "reasons": ["there is nothing else for you to watch yet"],
}


@dataclass(frozen=True)
class Rules:
    """Who may be shown to this viewer: ``follows`` (UUIDs) see followers-only videos, ``hidden`` accounts (id
    bytes: blocked, muted, "not interested", the viewer) never, nor ``videos`` (id bytes) or videos with ``tags``."""

    viewer_id: uuid.UUID
    follows: set[uuid.UUID]
    hidden: set[bytes]
    videos: set[bytes]
    tags: set[str]

    def allows(self, video_id: uuid.UUID, facts: Facts) -> bool:
        owner = facts.owner_id
        return (
            video_id.bytes not in self.videos
            and owner.bytes not in self.hidden
            and facts.may_show(followed=owner in self.follows)
            and (not self.tags or self.tags.isdisjoint(facts.tags))
        )

    def still(self, row: dict[str, Any], own: bool) -> bool:
        """Whether a video's row, read just now, may still be shown (facts are kept for a few seconds)."""
        if row["state"] != VideoState.READY:
            return False
        if own:
            return row["owner_id"] == self.viewer_id
        followed = row["owner_id"] in self.follows
        return row["owner_id"].bytes not in self.hidden and may_show(
            row["visibility"], row["owner__is_private"], followed=followed
        )


@dataclass(frozen=True)
class CaughtUp:
    """A page made here: the videos in order, those seen before, why each is there, and their rows."""

    ids: list[uuid.UUID]
    seen_before: frozenset[uuid.UUID]
    why: dict[uuid.UUID, dict[str, Any]]
    rows: dict[uuid.UUID, dict[str, Any]]


def _times_key(user_id: uuid.UUID) -> str:
    return f"recommend:seen-times:{user_id.hex}"


def caught_up_page(rules: Rules, shown: list[str], limit: int) -> CaughtUp:
    """A page for a viewer with no fresh candidate left (``shown``: this session's videos as hex, newest last):
    empty only when they may see no playable video at all."""
    user_id = rules.viewer_id
    times = _last_seen(user_id, shown)
    unseen = _unseen(rules, set(times), limit)
    seen = _seen_first(rules, times, {v for v, _ in unseen}, 2 * limit - len(unseen))
    candidates = unseen + seen
    own = not candidates
    if own:
        candidates = _own(user_id, times)
    rows = video_rows([v for v, _ in candidates])
    candidates = [(v, why) for v, why in candidates if v in rows and rules.still(rows[v], own)]
    last = uuid.UUID(hex=shown[-1]) if shown else None
    if last is not None and len(candidates) > 1 and candidates[0][0] == last:
        candidates.insert(1, candidates.pop(0))  # never the video the last page ended with
    chosen = candidates[:limit]
    ids = [v for v, _ in chosen]
    _remember(user_id, times, ids, {v: why["source"] for v, why in chosen})
    return CaughtUp(
        ids=ids,
        seen_before=frozenset(v for v, why in chosen if why is not UNSEEN_WHY),
        why={v: why for v, why in chosen},
        rows={v: rows[v] for v in ids},
    )


def _last_seen(user_id: uuid.UUID, shown: list[str]) -> dict[str, float]:
    """When each video the viewer saw was last seen (ids as hex, seconds since the epoch)."""
    times: dict[str, float] = dict(cache.get(_times_key(user_id)) or {})
    since = timezone.now() - SEEN_FOR
    events = WatchEvent.objects.filter(owner_id=user_id, created_at__gte=since).order_by("-created_at")
    for video_id, at in events.values_list("video_id", "created_at")[:SEEN_MAX]:
        key = video_id.hex
        times[key] = max(times.get(key, 0.0), at.timestamp())
    # Put on a page but not reported yet: just seen, in the order shown.
    untimed = [h for h in dict.fromkeys(reversed(watched_list(user_id) + shown)) if h not in times]
    now = time.time()
    for n, key in enumerate(untimed):  # newest first
        times[key] = now - (n + 1) * TICK
    return times


def _unseen(rules: Rules, seen: set[str], limit: int) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Up to ``limit`` videos the viewer may see and never saw, newest first (no source proposed them)."""
    visible = Q(visibility=Visibility.PUBLIC, owner__is_private=False)
    if rules.follows:
        visible |= Q(owner_id__in=rules.follows, visibility__in=[Visibility.PUBLIC, Visibility.FOLLOWERS])
    rows = Video.objects.filter(visible, state=VideoState.READY).exclude(
        owner_id__in=[uuid.UUID(bytes=b) for b in rules.hidden]
    )
    out: list[tuple[uuid.UUID, dict[str, Any]]] = []
    before: uuid.UUID | None = None
    for _ in range(UNSEEN_BATCHES):
        batch = rows if before is None else rows.filter(id__lt=before)
        ids = list(batch.order_by("-id").values_list("id", flat=True)[:BATCH])
        fresh = [v for v in ids if v.hex not in seen]
        facts = video_facts(fresh)
        out += [(v, UNSEEN_WHY) for v in fresh if v in facts and rules.allows(v, facts[v])]
        if len(out) >= limit or len(ids) < BATCH:
            break
        before = ids[-1]
    return out[:limit]


def _seen_first(
    rules: Rules, times: dict[str, float], skip: set[uuid.UUID], limit: int
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Up to ``limit`` of the videos seen before that may be shown again, least recently seen first."""
    order = sorted(times, key=lambda h: (times[h], h))
    out: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for at in range(0, len(order), BATCH):
        ids = [uuid.UUID(hex=h) for h in order[at : at + BATCH]]
        facts = video_facts(ids)
        out += [(v, SEEN_WHY) for v in ids if v not in skip and v in facts and rules.allows(v, facts[v])]
        if len(out) >= limit:
            break
    return out[: max(0, limit)]


def _own(user_id: uuid.UUID, times: dict[str, float]) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """The viewer's own ready videos: never shown here first (newest first), then least recently shown."""
    mine = Video.objects.filter(owner_id=user_id, state=VideoState.READY).order_by("-id")
    ids = list(mine.values_list("id", flat=True)[:OWN_MAX])
    ids.sort(key=lambda v: times.get(v.hex, 0.0))  # stable: newest first among the never shown
    return [(v, OWN_WHY) for v in ids]


def _remember(user_id: uuid.UUID, times: dict[str, float], ids: list[uuid.UUID], sources: dict[Any, str]) -> None:
    """Keep when each video was seen (the page's now, in its order), so the next page takes others first; leave
    the page out of fresh pools; and have its impressions learned from as what they are (not from the features
    some earlier page ranked them with)."""
    if not ids:
        return
    now = time.time()
    for n, video_id in enumerate(ids):
        times[video_id.hex] = now + n * TICK
    if len(times) > TIMES_KEEP:
        times = dict(sorted(times.items(), key=lambda kv: kv[1])[-TIMES_KEEP:])
    cache.set(_times_key(user_id), times, TIMES_TTL)
    watched_add(user_id, [v.hex for v in ids])
    served_remember(user_id, {v.hex: {"source": sources[v], "features": []} for v in ids})
