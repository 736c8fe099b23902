"""Learning from what viewers do, as it happens: every event batch moves the viewer's vector at once (so the next
page reflects what was just watched), nudges the videos' vectors and counters, and hands the impressions' labels
to the ranker, which learns in the background (see ``tasks.ranker_learn``). Explicit actions (a like, a follow)
teach the same way. Each video's signal row (its vector and counters) is made here too."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone

from reelm.core import realms
from reelm.recommend import ranker
from reelm.recommend.features import Stats, item_for, tag_affinity_of
from reelm.recommend.index import video_index
from reelm.recommend.models import Taste, VideoSignal
from reelm.recommend.pool import pool_refresh_due, watched_add
from reelm.recommend.served import served_recall
from reelm.recommend.tasks import pool_refresh, ranker_learn
from reelm.recommend.taste import tag_vectors, taste_get, taste_vector
from reelm.recommend.transparent import fresh_ranking
from reelm.videos.models import Video, VideoHashtag

log = logging.getLogger(__name__)

#: How fast running affinities follow new labels, and how many of each a taste keeps.
AFFINITY_RATE = 0.3
KEEP_TAGS = 40
KEEP_AUTHORS = 60
FOLLOW_AFFINITY = 0.8


# --- video vectors ---------------------------------------------------------------------------------------------


def starting_vector(user: Any) -> np.ndarray:
    """Where a viewer with no history and no interests starts: the mean of what is popular now (a random vector
    would mislead the nearest-neighbour source until the first swipes undo it)."""
    popular = fresh_ranking()[0].ids[:50]
    vectors = list(video_index().vectors([uuid.UUID(hex=h) for h in popular]).values())
    if not vectors:
        return ranker.seeded_vector(user.id.hex)
    return ranker.normalise(np.mean(np.stack(vectors), axis=0))


def video_signal_ensure(video_id: uuid.UUID) -> VideoSignal:
    """The video's signal row, made on publication with a cold vector from its hashtags and its author's
    earlier videos, so it is searchable by every process's index at once."""
    found = VideoSignal.objects.filter(video_id=video_id).first()
    if found is not None:
        return found
    video = Video.objects.only("id", "owner_id").get(id=video_id)
    tags = list(VideoHashtag.objects.filter(video_id=video_id).values_list("hashtag__name", flat=True))
    hints = tag_vectors(tags)
    earlier = VideoSignal.objects.filter(owner_id=video.owner_id).order_by("-video_id").values_list("vector", flat=True)
    author = [v for v in (ranker.vector_from(d) for d in earlier[:20]) if v is not None]
    if author:
        hints.append(ranker.normalise(np.mean(np.stack(author), axis=0)))
    vector = ranker.cold_video_vector(video_id.hex, hints)
    try:
        with realms.atomic():
            return VideoSignal.objects.create(
                video_id=video_id, owner_id=video.owner_id, vector=ranker.vector_bytes(vector)
            )
    except IntegrityError:
        return VideoSignal.objects.get(video_id=video_id)


def video_signals(video_ids: Sequence[uuid.UUID]) -> tuple[dict[uuid.UUID, np.ndarray], dict[uuid.UUID, Stats]]:
    """In one query: each video's vector (stored, else a seeded cold one, not stored) and the counters of those
    with a signal row."""
    rows = VideoSignal.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "vector", "impressions", "completions"
    )
    stored = {video_id: (ranker.vector_from(data), Stats(seen, done)) for video_id, data, seen, done in rows}
    vectors = {}
    for video_id in video_ids:
        vector = stored[video_id][0] if video_id in stored else None
        vectors[video_id] = vector if vector is not None else ranker.seeded_vector(video_id.hex)
    return vectors, {video_id: stats for video_id, (_, stats) in stored.items()}


# --- learning from events ----------------------------------------------------------------------------------------


@dataclass
class Impression:
    video_id: uuid.UUID
    engagement: ranker.Engagement


def engagements_from(events: Iterable[Any]) -> list[Impression]:
    """Group a batch's events by video, in first-seen order, into one engagement per impression."""
    grouped: dict[uuid.UUID, ranker.Engagement] = {}
    for event in events:
        e = grouped.setdefault(event.video_id, ranker.Engagement())
        e.watched_ms = max(e.watched_ms, event.watched_ms)
        e.duration_ms = max(e.duration_ms, event.duration_ms)
        if event.kind == "complete":
            e.completed = True
        elif event.kind == "replay":
            e.replays += 1
        elif event.kind == "skip":
            e.skipped = True
        elif event.kind == "share":
            e.shared = True
    # A bare impression (the viewer has not swiped on yet) teaches nothing: wait for the watch or skip.
    return [
        Impression(video_id, e)
        for video_id, e in grouped.items()
        if e.watched_ms or e.completed or e.skipped or e.replays or e.shared
    ]


def _ema(table: dict[str, float], key: str, label: float, keep: int) -> None:
    table[key] = round((1 - AFFINITY_RATE) * table.get(key, 0.0) + AFFINITY_RATE * label, 4)
    if len(table) > keep:
        weakest = min(table, key=lambda k: abs(table[k]))
        del table[weakest]


def learn(user: Any, impressions: Sequence[Impression], *, explicit: bool = False) -> np.ndarray | None:
    """Learn from one viewer's impressions, in order: the viewer's vector and affinities now, the videos' vectors
    and counters now, the ranker's weights in the background. ``explicit`` marks an action outside the event stream
    (a like, say): it teaches the vectors but is not another impression in the video's counters. Returns the
    viewer's new vector (None when there was nothing to learn)."""
    if not impressions:
        return None
    started = time.perf_counter()
    ids = [i.video_id for i in impressions]
    videos = {v.id: v for v in Video.objects.filter(id__in=ids).only("id", "owner_id", "like_count", "created_at")}
    impressions = [i for i in impressions if i.video_id in videos]
    if not impressions:
        return None
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    for video_id, name in VideoHashtag.objects.filter(video_id__in=ids).values_list("video_id", "hashtag__name"):
        tags[video_id].append(name)
    vectors, stats = video_signals(ids)
    served = served_recall(user.id)
    with realms.atomic():
        taste = Taste.objects.select_for_update().filter(owner_id=user.id).first() or taste_get(user)
        vector = taste_vector(taste)
        if vector is None:
            vector = starting_vector(user)
        rows, labels = [], []
        for impression in impressions:
            video_id = impression.video_id
            label = ranker.engagement_label(impression.engagement)
            shown = served.get(video_id.hex)
            if shown and shown.get("features"):
                rows.append([(str(n), float(x)) for n, x in shown["features"]])
            else:  # not shown by For You (a profile, a link): the features it would have had now
                info = videos[video_id]
                item = item_for(
                    source="organic",
                    user_vector=vector,
                    video_vector=vectors[video_id],
                    stats=stats.get(video_id),
                    likes=info.like_count,
                    age_hours=(timezone.now() - info.created_at).total_seconds() / 3600,
                    author_affinity=taste.author_affinity.get(info.owner_id.hex, 0.0),
                    tag_affinity=tag_affinity_of(taste.tag_affinity, tags[video_id]),
                    follows_author=False,
                )
                rows.append(ranker.features(item))
            labels.append(label)
            new_video = ranker.video_update(vectors[video_id], vector, label)
            vector = ranker.user_update(vector, vectors[video_id], label)
            _ema(taste.author_affinity, videos[video_id].owner_id.hex, label, KEEP_AUTHORS)
            for name in tags[video_id]:
                _ema(taste.tag_affinity, name, label, KEEP_TAGS)
            _signal_add(video_id, new_video, None if explicit else impression.engagement)
        taste.vector = ranker.vector_bytes(vector)
        taste.impressions += len(impressions)
        taste.save()
    ranker_learn([[[n, float(x)] for n, x in row] for row in rows], labels)
    log.debug("learned %d impressions of %s in %.1f ms", len(rows), user.id, (time.perf_counter() - started) * 1000)
    return vector


def _signal_add(video_id: uuid.UUID, vector: np.ndarray, e: ranker.Engagement | None) -> None:
    changes: dict[str, Any] = {"vector": ranker.vector_bytes(vector), "updated_at": timezone.now()}
    if e is not None:
        changes |= {
            "impressions": F("impressions") + 1,
            "completions": F("completions") + int(e.completed),
            "skips": F("skips") + int(e.skipped or (0 < e.watched_ms < ranker.SKIP_MS and not e.completed)),
            "watched_ms": F("watched_ms") + e.watched_ms,
        }
    if not VideoSignal.objects.filter(video_id=video_id).update(**changes):
        video_signal_ensure(video_id)
        VideoSignal.objects.filter(video_id=video_id).update(**changes)


def learn_from_events(user: Any, events: Sequence[Any]) -> None:
    """The event API's hook. Learning must never cost the viewer their events: failures are logged, not raised."""
    try:
        watched_add(user.id, [event.video_id.hex for event in events])
        vector = learn(user, engagements_from(events))
        if pool_refresh_due(user.id, vector):
            pool_refresh(user.id)
    except Exception:
        log.exception("learning from %d events of %s failed", len(events), user.id)


def learn_action(user: Any, video_id: uuid.UUID, action: str) -> None:
    """An explicit action on one video (like, comment, bookmark, share, follow, not_interested) as an impression."""
    flags = {"like": "liked", "comment": "commented", "bookmark": "bookmarked", "share": "shared"}
    flags |= {"follow": "followed", "not_interested": "not_interested"}
    e = ranker.Engagement(**{flags[action]: True})
    if action != "not_interested":  # nobody likes, comments on or shares what they did not watch
        e.watched_ms = e.duration_ms = ranker.SKIP_MS
    try:
        learn(user, [Impression(video_id, e)], explicit=True)
    except Exception:
        log.exception("learning from %s of %s failed", action, user.id)


def learn_follow(user: Any, followee_id: uuid.UUID) -> None:
    """Following a creator is the strongest word on them: their affinity becomes at least the follow label's."""
    try:
        with realms.atomic():
            taste = Taste.objects.select_for_update().filter(owner_id=user.id).first() or taste_get(user)
            key = followee_id.hex
            taste.author_affinity[key] = max(taste.author_affinity.get(key, 0.0), FOLLOW_AFFINITY)
            taste.save(update_fields=["author_affinity", "updated_at"])
    except Exception:
        log.exception("learning from a follow of %s failed", user.id)
