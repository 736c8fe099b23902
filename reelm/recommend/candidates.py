"""Candidate sources: each proposes videos for one viewer, with a score of its own, and says in plain words why.

Every source has the same small interface (:class:`Source`): ``candidates(ctx, k)`` returns up to ``k`` video ids
best first with a score. Sources do not filter: who may see what, seen videos, blocks, mutes and "not
interested" are applied once to the union (``ranking.RecommendedFeed``), so no source can leak a video.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import numpy as np
from django.db.models import Q
from django.utils import timezone

from reelm.core.ids import uuid7_floor
from reelm.events.models import WatchEvent, WatchEventKind
from reelm.recommend import ranker
from reelm.recommend.index import video_index
from reelm.recommend.models import CoEngagement
from reelm.recommend.transparent import fresh_ranking, fresh_ranking_in
from reelm.social.models import Like
from reelm.videos.models import Video, VideoHashtag, Visibility
from reelm.videos.states import VideoState

#: Fresh uploads: videos younger than this with fewer impressions than :data:`FRESH_IMPRESSIONS` are explored.
FRESH_AGE = timedelta(hours=72)
FRESH_IMPRESSIONS = 200
FOLLOWING_AGE = timedelta(days=14)


@dataclass
class Context:
    """One viewer at one request."""

    user: Any
    vector: np.ndarray | None
    follows: set[uuid.UUID]
    tag_affinity: dict[str, float]
    interests: list[str]
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    #: Accounts hidden from the viewer (blocked either way, muted), when read with ``follows``; None: not read.
    hidden: set[uuid.UUID] | None = None
    #: The languages the viewer watches in (ISO 639-1 codes, first preferred).
    languages: tuple[str, ...] = ()

    @functools.cached_property
    def trending(self) -> list[str]:
        """The transparent ranking's order (video ids as hex, best first): shared by every viewer and cached, read
        once per request by the trending source and the ranker's recent-popularity features."""
        ranking, _ = fresh_ranking()
        return ranking.ids

    @functools.cached_property
    def trending_rank(self) -> dict[str, int]:
        return {video_id: rank for rank, video_id in enumerate(self.trending)}


class Source(Protocol):
    name: str
    words: str  # the explanation's first line: "Because …"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]: ...


def _ms_ago(delta: timedelta) -> uuid.UUID:
    return uuid7_floor(int((timezone.now() - delta).timestamp() * 1000))


def _ready() -> Q:
    return Q(state=VideoState.READY)


class FollowedAuthors:
    name = "following"
    words = "You follow the creator"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        if not ctx.follows:
            return []
        rows = (
            Video.objects.filter(_ready(), owner_id__in=ctx.follows, id__gte=_ms_ago(FOLLOWING_AGE))
            .filter(visibility__in=[Visibility.PUBLIC, Visibility.FOLLOWERS])
            .order_by("-id")
            .values_list("id", flat=True)[:k]
        )
        return [(video_id, 1.0 - i / (k + 1)) for i, video_id in enumerate(rows)]


class NearestNeighbours:
    name = "similar"
    words = "Similar to videos you watched"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        if ctx.vector is None:
            return []
        return video_index().search(ctx.vector, k)


class CoEngaged:
    name = "co-engagement"
    words = "People who finished videos you finished also finished this"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        finished = (
            WatchEvent.objects.filter(owner_id=ctx.user.id, kind=WatchEventKind.COMPLETE)
            .order_by("-created_at")
            .values_list("video_id", flat=True)[:10]
        )
        liked = Like.objects.filter(owner_id=ctx.user.id).order_by("-id").values_list("video_id", flat=True)[:10]
        seeds = set(finished) | set(liked)
        if not seeds:
            return []
        rows = (
            CoEngagement.objects.filter(video_id__in=seeds)
            .order_by("-score")
            .values_list("neighbour_id", "score")[: k * 2]
        )
        best: dict[uuid.UUID, float] = {}
        for video_id, score in rows:
            best[video_id] = max(score, best.get(video_id, 0.0))
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]


class Trending:
    name = "trending"
    words = "Popular right now"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        return [(uuid.UUID(hex=h), 1.0 - i / (k + 1)) for i, h in enumerate(ctx.trending[:k])]


class TrendingInLanguage:
    """The transparent ranking of each of the viewer's languages, interleaved (the best of each first): a
    language few people speak would otherwise never reach the global top that :class:`Trending` proposes."""

    name = "trending-language"
    words = "Popular right now in your language"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        rankings = [fresh_ranking_in(code)[0].ids[:k] for code in ctx.languages]
        interleaved = [h for row in itertools.zip_longest(*rankings) for h in row if h is not None]
        best = list(dict.fromkeys(interleaved))[:k]  # each video has one language: only a repeated code repeats one
        return [(uuid.UUID(hex=h), 1.0 - i / (k + 1)) for i, h in enumerate(best)]


class Hashtags:
    name = "hashtags"
    words = "You engage with its hashtags"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        liked = sorted(((a, t) for t, a in ctx.tag_affinity.items() if a > 0.25), reverse=True)[:5]
        weights = {t: a for a, t in liked} | {t: 0.5 for t in ctx.interests if t not in ctx.tag_affinity}
        if not weights:
            return []
        rows = (
            VideoHashtag.objects.filter(hashtag__name__in=list(weights), video_id__gte=_ms_ago(timedelta(days=30)))
            .order_by("-video_id")
            .values_list("video_id", "hashtag__name")[: k * 2]
        )
        best: dict[uuid.UUID, float] = {}
        for video_id, name in rows:
            best[video_id] = max(weights[name], best.get(video_id, 0.0))
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]


class FreshUploads:
    """New videos with few impressions, ordered by a Thompson draw of their completion rate: every new creator
    gets shown, and those whose first viewers watch to the end get shown more."""

    name = "fresh"
    words = "A new video we are giving a chance"

    def candidates(self, ctx: Context, k: int) -> list[tuple[uuid.UUID, float]]:
        rows = (
            Video.objects.filter(_ready(), visibility=Visibility.PUBLIC, id__gte=_ms_ago(FRESH_AGE))
            .filter(Q(signal=None) | Q(signal__impressions__lt=FRESH_IMPRESSIONS))
            .order_by("-id")
            .values_list("id", "signal__completions", "signal__impressions")[: k * 4]
        )
        found = [(video_id, c or 0, n or 0) for video_id, c, n in rows]
        if not found:
            return []
        fresh = [video_id for video_id, _, _ in found]
        completions = np.array([c for _, c, _ in found])
        impressions = np.array([n for _, _, n in found])
        draws = ranker.thompson_sample(completions, impressions, ctx.rng)
        order = np.argsort(-draws)[:k]
        return [(fresh[i], float(draws[i])) for i in order]


SOURCES: list[Source] = [
    FollowedAuthors(),
    NearestNeighbours(),
    CoEngaged(),
    TrendingInLanguage(),  # before Trending: a video popular in both is explained by the narrower reason
    Trending(),
    Hashtags(),
    FreshUploads(),
]
SOURCE_WORDS = {s.name: s.words for s in SOURCES} | {"organic": "Recommended for you"}
