"""The periodic refit: ALS embeddings for every user and video from the last :data:`WINDOW` of engagement,
co-engagement neighbours, and expiry of stale tastes. Online learning keeps moving the vectors between refits.

Run nightly by the worker and on demand with ``reelm feed rebuild``."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from reelm.core.ids import uuid7_floor
from reelm.events.models import WatchEvent
from reelm.recommend import model
from reelm.recommend.index import video_index
from reelm.recommend.models import CoEngagement, Taste, VideoSignal
from reelm.social.models import Bookmark, Comment, Like
from reelm.videos.models import Video, VideoHashtag
from reelm.videos.states import VideoState

log = logging.getLogger(__name__)

WINDOW = timedelta(days=90)
#: Tastes untouched this long lose their vector and affinities (they start again from their interests).
STALE_AFTER = timedelta(days=180)
NEIGHBOURS = 20
CHUNK = 2000

Progress = Callable[[str, int, int], None]


@dataclass
class RebuildReport:
    users: int = 0
    videos: int = 0
    interactions: int = 0
    cold_videos: int = 0
    neighbour_pairs: int = 0
    expired_tastes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _quiet(step: str, done: int, total: int) -> None:
    return None


def _labels(since: timedelta) -> dict[tuple[uuid.UUID, uuid.UUID], model.Engagement]:
    start = timezone.now() - since
    out: dict[tuple[uuid.UUID, uuid.UUID], model.Engagement] = defaultdict(model.Engagement)
    grouped = (
        WatchEvent.objects.filter(created_at__gte=start)
        .values("owner_id", "video_id", "kind")
        .annotate(watched=Max("watched_ms"), duration=Max("duration_ms"), n=Count("id"))
        .order_by()
    )
    for row in grouped.iterator(chunk_size=CHUNK):
        e = out[(row["owner_id"], row["video_id"])]
        e.watched_ms = max(e.watched_ms, row["watched"] or 0)
        e.duration_ms = max(e.duration_ms, row["duration"] or 0)
        kind = row["kind"]
        e.completed |= kind == "complete"
        e.skipped |= kind == "skip"
        e.shared |= kind == "share"
        e.replays += row["n"] if kind == "replay" else 0
    for reaction, flag in ((Like, "liked"), (Bookmark, "bookmarked"), (Comment, "commented")):
        pairs = reaction.objects.filter(created_at__gte=start).values_list("owner_id", "video_id").order_by()
        for owner_id, video_id in pairs.iterator(chunk_size=CHUNK):
            setattr(out[(owner_id, video_id)], flag, True)
    return out


def rebuild(progress: Progress = _quiet) -> RebuildReport:
    report = RebuildReport()
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = round(now - clock, 2)
        clock = now

    progress("reading engagement", 0, 1)
    engagements = _labels(WINDOW)
    keep_floor = uuid7_floor(int((timezone.now() - WINDOW).timestamp() * 1000))
    video_ids = list(
        Video.objects.filter(state=VideoState.READY, id__gte=keep_floor).order_by("id").values_list("id", flat=True)
    )
    video_ids += [v for v in {v for _, v in engagements} if v < keep_floor]
    video_slot = {v: i for i, v in enumerate(video_ids)}
    user_ids = sorted({u for u, v in engagements if v in video_slot})
    user_slot = {u: i for i, u in enumerate(user_ids)}
    triples = [
        (user_slot[u], video_slot[v], model.engagement_label(e)) for (u, v), e in engagements.items() if v in video_slot
    ]
    report.users, report.videos, report.interactions = len(user_ids), len(video_ids), len(triples)
    progress("reading engagement", 1, 1)
    lap("read")

    users_m = np.array([t[0] for t in triples], dtype=np.int64)
    items_m = np.array([t[1] for t in triples], dtype=np.int64)
    weights = np.array([t[2] for t in triples], dtype=np.float32)
    positive = weights > 0
    progress("fitting embeddings", 0, 1)
    if positive.any():
        user_vectors, video_vectors = model.als_fit(
            users_m[positive], items_m[positive], weights[positive], n_users=len(user_ids), n_items=len(video_ids)
        )
    else:
        user_vectors = np.zeros((len(user_ids), model.DIM), dtype=np.float32)
        video_vectors = np.zeros((len(video_ids), model.DIM), dtype=np.float32)
    progress("fitting embeddings", 1, 1)
    lap("fit")

    video_vectors, report.cold_videos = _fill_cold(video_ids, video_vectors)
    _save_videos(video_ids, video_vectors, progress)
    _save_users(user_ids, user_vectors, progress)
    lap("save")
    report.neighbour_pairs = _co_engagement(users_m, items_m, weights, video_ids, progress)
    lap("co-engagement")
    stale = timezone.now() - STALE_AFTER
    report.expired_tastes = (
        Taste.objects.filter(updated_at__lt=stale)
        .exclude(vector=None)
        .update(vector=None, tag_affinity={}, author_affinity={})
    )
    video_index().refresh(force=True)
    lap("index")
    log.info("recommender rebuilt: %s", report)
    return report


def _fill_cold(video_ids: list[uuid.UUID], vectors: np.ndarray) -> tuple[np.ndarray, int]:
    """Videos nobody engaged with get a cold vector from their hashtags' refitted vectors."""
    empty = np.linalg.norm(vectors, axis=1) < 1e-6
    if not empty.any():
        return vectors, 0
    slot = {v: i for i, v in enumerate(video_ids)}
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    sums: dict[str, np.ndarray] = {}
    for chunk in _chunks(video_ids):
        for video_id, name in VideoHashtag.objects.filter(video_id__in=chunk).values_list("video_id", "hashtag__name"):
            tags[video_id].append(name)
            if not empty[slot[video_id]]:
                sums[name] = sums.get(name, np.zeros(model.DIM, dtype=np.float32)) + vectors[slot[video_id]]
    for i in np.flatnonzero(empty):
        video_id = video_ids[i]
        hints = [model.normalise(sums[t]) for t in tags[video_id] if t in sums]
        vectors[i] = model.cold_video_vector(video_id.hex, hints)
    return vectors, int(empty.sum())


def _chunks(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """``ids`` in slices of :data:`CHUNK`: one statement may bind only so many values (250 000 in SQLite)."""
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _save_videos(video_ids: list[uuid.UUID], vectors: np.ndarray, progress: Progress) -> None:
    total = len(video_ids)
    for start in range(0, total, CHUNK):
        chunk = video_ids[start : start + CHUNK]
        owners = dict(Video.objects.filter(id__in=chunk).values_list("id", "owner_id"))
        existing = dict(VideoSignal.objects.filter(video_id__in=chunk).values_list("video_id", "id"))
        now = timezone.now()
        created = []
        # One UPDATE per row, a transaction per chunk: measured 3.7× faster than bulk_update's CASE expressions.
        with transaction.atomic():
            for offset, video_id in enumerate(chunk):
                data = model.vector_bytes(vectors[start + offset])
                if video_id in existing:
                    VideoSignal.objects.filter(id=existing[video_id]).update(vector=data, updated_at=now)
                elif video_id in owners:
                    created.append(VideoSignal(video_id=video_id, owner_id=owners[video_id], vector=data))
            VideoSignal.objects.bulk_create(created, ignore_conflicts=True)
        progress("saving video vectors", min(start + CHUNK, total), total)


def _save_users(user_ids: list[uuid.UUID], vectors: np.ndarray, progress: Progress) -> None:
    total = len(user_ids)
    for start in range(0, total, CHUNK):
        chunk = user_ids[start : start + CHUNK]
        existing = dict(Taste.objects.filter(owner_id__in=chunk).values_list("owner_id", "id"))
        created = []
        with transaction.atomic():
            for offset, user_id in enumerate(chunk):
                data = model.vector_bytes(vectors[start + offset])
                if user_id in existing:
                    Taste.objects.filter(id=existing[user_id]).update(vector=data)
                else:
                    created.append(Taste(owner_id=user_id, vector=data))
            Taste.objects.bulk_create(created, ignore_conflicts=True)
        progress("saving user vectors", min(start + CHUNK, total), total)
    # Everyone else's vector lives in the previous refit's space: start them again from their interests.
    refitted = set(user_ids)
    with_vector = Taste.objects.exclude(vector=None).values_list("id", "owner_id").iterator(chunk_size=CHUNK)
    stale = [taste_id for taste_id, owner_id in with_vector if owner_id not in refitted]
    for chunk in _chunks(stale):
        Taste.objects.filter(id__in=chunk).update(vector=None)


def _co_engagement(
    users: np.ndarray, items: np.ndarray, weights: np.ndarray, video_ids: list[uuid.UUID], progress: Progress
) -> int:
    """Top :data:`NEIGHBOURS` per video by cosine between the sets of viewers who finished (label ≥ 0.6) them."""
    from scipy.sparse import csr_matrix

    finished = weights >= 0.6
    CoEngagement.objects.all().delete()
    if not finished.any():
        return 0
    n_users = int(users.max()) + 1
    matrix = csr_matrix(
        (np.ones(int(finished.sum()), dtype=np.float32), (users[finished], items[finished])),
        shape=(n_users, len(video_ids)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
    by_item = matrix.T.tocsr()
    rows: list[CoEngagement] = []
    total = len(video_ids)
    # Blocks of videos at a time: the full video × video product would not fit in memory on a big site.
    for start in range(0, total, CHUNK):
        block = (by_item[start : start + CHUNK] @ matrix).tocsr()
        for offset in range(block.shape[0]):
            i = start + offset
            lo, hi = block.indptr[offset], block.indptr[offset + 1]
            cols, counts = block.indices[lo:hi], block.data[lo:hi]
            keep = cols != i
            cols, counts = cols[keep], counts[keep]
            for k in np.argsort(-counts)[:NEIGHBOURS]:
                j = cols[k]
                score = float(counts[k] / (norms[i] * norms[j]))
                rows.append(CoEngagement(video_id=video_ids[i], neighbour_id=video_ids[j], score=score))
        CoEngagement.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)
        rows = []
        progress("co-engagement", min(start + CHUNK, total), total)
    return CoEngagement.objects.count()
