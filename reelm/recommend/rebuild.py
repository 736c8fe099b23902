"""The periodic refit: ALS embeddings for every user and video from the last :data:`WINDOW` of engagement,
co-engagement neighbours, and expiry of stale tastes. Online learning keeps moving the vectors between refits.

Run nightly by the worker and on demand with ``reelm feed rebuild``."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import connections, router, transaction
from django.db.models import CharField, Count, Max, Model, Q
from django.db.models.constants import OnConflict
from django.db.models.functions import Cast
from django.utils import timezone

from reelm.core import realms
from reelm.core.ids import uuid7, uuid7_floor
from reelm.events.models import WatchEvent
from reelm.recommend import ranker
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
#: Rows written per transaction: short enough not to hold SQLite's write lock for long.
WRITE_CHUNK = 5 * CHUNK
#: Entries of the video × video product computed at once (bounds the co-engagement step's memory).
PRODUCT_BUDGET = 4_000_000

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


class _Ids(dict[str, uuid.UUID]):
    """Ids read as text (:func:`_text`), each distinct one turned into a UUID once: converting every id of every
    row was most of the read at a million videos."""

    def __missing__(self, text: str) -> uuid.UUID:
        self[text] = value = uuid.UUID(text)
        return value


def _text(name: str) -> Cast:
    return Cast(name, output_field=CharField())


def _labels(since: timedelta, ids: _Ids) -> dict[tuple[uuid.UUID, uuid.UUID], ranker.Engagement]:
    start = timezone.now() - since
    out: dict[tuple[uuid.UUID, uuid.UUID], ranker.Engagement] = defaultdict(ranker.Engagement)
    # One row per (viewer, video): a row per kind as well would double the rows.
    grouped = (
        WatchEvent.objects.filter(created_at__gte=start)
        .annotate(viewer=_text("owner_id"), watched_video=_text("video_id"))
        .values_list("viewer", "watched_video")
        .annotate(
            watched=Max("watched_ms"),
            duration=Max("duration_ms"),
            completes=Count("id", filter=Q(kind="complete")),
            skips=Count("id", filter=Q(kind="skip")),
            shares=Count("id", filter=Q(kind="share")),
            replays=Count("id", filter=Q(kind="replay")),
        )
        .order_by()
    )
    for owner, video, watched, duration, completes, skips, shares, replays in grouped.iterator(chunk_size=CHUNK):
        out[(ids[owner], ids[video])] = ranker.Engagement(
            watched_ms=watched or 0,
            duration_ms=duration or 0,
            completed=completes > 0,
            replays=replays,
            shared=shares > 0,
            skipped=skips > 0,
        )
    for reaction, flag in ((Like, "liked"), (Bookmark, "bookmarked"), (Comment, "commented")):
        pairs = (
            reaction.objects.filter(created_at__gte=start)
            .annotate(viewer=_text("owner_id"), reacted_video=_text("video_id"))
            .values_list("viewer", "reacted_video")
            .order_by()
        )
        for owner, video in pairs.iterator(chunk_size=CHUNK):
            setattr(out[(ids[owner], ids[video])], flag, True)
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
    ids = _Ids()
    engagements = _labels(WINDOW, ids)
    keep_floor = uuid7_floor(int((timezone.now() - WINDOW).timestamp() * 1000))
    recent = (
        Video.objects.filter(state=VideoState.READY, id__gte=keep_floor)
        .order_by("id")
        .annotate(text_id=_text("id"), author=_text("owner_id"))
        .values_list("text_id", "author")
    )
    owners = {ids[video]: ids[author] for video, author in recent.iterator(chunk_size=CHUNK)}
    video_ids = list(owners)
    older = sorted({v for _, v in engagements if v < keep_floor})
    for chunk in _chunks(older):
        owners.update(Video.objects.filter(id__in=chunk).values_list("id", "owner_id"))
    video_ids += older
    video_slot = {v: i for i, v in enumerate(video_ids)}
    user_ids = sorted({u for u, v in engagements if v in video_slot})
    user_slot = {u: i for i, u in enumerate(user_ids)}
    kept = [
        (user_slot[u], video_slot[v], ranker.engagement_label(e))
        for (u, v), e in engagements.items()
        if v in video_slot
    ]
    del engagements
    report.users, report.videos, report.interactions = len(user_ids), len(video_ids), len(kept)
    users_m = np.fromiter((t[0] for t in kept), dtype=np.int64, count=len(kept))
    items_m = np.fromiter((t[1] for t in kept), dtype=np.int64, count=len(kept))
    weights = np.fromiter((t[2] for t in kept), dtype=np.float32, count=len(kept))
    del kept
    progress("reading engagement", 1, 1)
    lap("read")

    positive = weights > 0
    progress("fitting embeddings", 0, 1)
    if positive.any():
        user_vectors, video_vectors = ranker.als_fit(
            users_m[positive], items_m[positive], weights[positive], n_users=len(user_ids), n_items=len(video_ids)
        )
    else:
        user_vectors = np.zeros((len(user_ids), ranker.DIM), dtype=np.float32)
        video_vectors = np.zeros((len(video_ids), ranker.DIM), dtype=np.float32)
    progress("fitting embeddings", 1, 1)
    lap("fit")

    video_vectors, report.cold_videos = _fill_cold(video_ids, video_vectors, ids)
    del ids
    lap("cold")
    _save_videos(video_ids, owners, video_vectors, progress)
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


def _fill_cold(video_ids: list[uuid.UUID], vectors: np.ndarray, ids: _Ids) -> tuple[np.ndarray, int]:
    """Videos nobody engaged with get a cold vector from their hashtags' refitted vectors."""
    from scipy.sparse import csr_matrix

    empty = np.linalg.norm(vectors, axis=1) < 1e-6
    if not empty.any():
        return vectors, 0
    slot = {v: i for i, v in enumerate(video_ids)}
    tag_number: dict[str, int] = {}
    slots: list[int] = []
    tags: list[int] = []
    for chunk in _chunks(video_ids):
        # Hashtags by id, not joined for their names: with the join SQLite scanned every hashtag for each chunk.
        tagging = (
            VideoHashtag.objects.filter(video_id__in=chunk)
            .annotate(text_video=_text("video_id"), text_tag=_text("hashtag_id"))
            .values_list("text_video", "text_tag")
        )
        for video, hashtag in tagging:
            slots.append(slot[ids[video]])
            tags.append(tag_number.setdefault(hashtag, len(tag_number)))
    tagged, tag = np.array(slots, dtype=np.int64), np.array(tags, dtype=np.int64)
    # Each hashtag's hint: the normalised sum of its engaged videos' vectors, once per hashtag, not per video.
    warm = ~empty[tagged]
    sums = np.zeros((len(tag_number), ranker.DIM), dtype=np.float32)
    np.add.at(sums, tag[warm], vectors[tagged[warm]])
    hints = ranker.normalise(sums)
    known = np.zeros(len(tag_number), dtype=bool)
    known[tag[warm]] = True
    # ranker.cold_video_vector for all cold videos at once (test_rebuild checks they agree): the mean of their
    # known hashtags' hints, mixed with each video's own noise.
    cold = np.flatnonzero(empty)
    cold_row = np.full(len(video_ids), -1, dtype=np.int64)
    cold_row[cold] = np.arange(len(cold))
    hinted = ~warm & known[tag]
    incidence = csr_matrix(
        (np.ones(int(hinted.sum()), dtype=np.float32), (cold_row[tagged[hinted]], tag[hinted])),
        shape=(len(cold), len(tag_number)),
    )
    counts = np.asarray(incidence.sum(axis=1), dtype=np.float32)
    means = ranker.normalise(np.asarray(incidence @ hints) / np.maximum(counts, 1))
    own = np.stack([ranker.seeded_vector(video_ids[i].hex) for i in cold.tolist()])
    vectors[cold] = np.where(counts > 0, ranker.normalise(0.85 * means + 0.15 * own), own)
    return vectors, int(empty.sum())


def _chunks(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """``ids`` in slices of :data:`CHUNK`: one statement may bind only so many values (250 000 in SQLite)."""
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


class _Writer:
    """Standard SQL once per row in one ``executemany``, with values prepared by the model's own fields, so the
    same on SQLite and PostgreSQL: the ORM's per-object cost in ``bulk_create``/``bulk_update`` would be most of a
    refit at a million videos (docs/benchmarks.md)."""

    def __init__(self, model_cls: type[Model]) -> None:
        self.connection = connections[router.db_for_write(model_cls)]
        self.fields = {f.name: f for f in model_cls._meta.concrete_fields}
        quote = self.connection.ops.quote_name
        self.names = {name: quote(str(f.column)) for name, f in self.fields.items()}
        self.names["table"] = quote(model_cls._meta.db_table)

    def values(self, name: str, values: Iterable[Any]) -> list[Any]:
        field = self.fields[name]
        return [field.get_db_prep_save(v, self.connection) for v in values]

    def execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        """``sql`` names the table as ``{table}`` and each field's column as ``{field}``."""
        if params:
            with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
                cursor.executemany(sql.format(**self.names), params)


def _save_videos(
    video_ids: list[uuid.UUID], owners: dict[uuid.UUID, uuid.UUID], vectors: np.ndarray, progress: Progress
) -> None:
    signals = _Writer(VideoSignal)
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    total = len(video_ids)
    for start in range(0, total, WRITE_CHUNK):
        chunk = video_ids[start : start + WRITE_CHUNK]
        existing: set[uuid.UUID] = set()
        for ids in _chunks(chunk):
            existing.update(VideoSignal.objects.filter(video_id__in=ids).values_list("video_id", flat=True))
        updates: list[uuid.UUID] = []
        blobs: list[bytes] = []
        created = []
        for offset, video_id in enumerate(chunk):
            vector = data[start + offset].tobytes()
            if video_id in existing:
                updates.append(video_id)
                blobs.append(vector)
            elif video_id in owners:  # else deleted since it was read
                created.append(VideoSignal(video_id=video_id, owner_id=owners[video_id], vector=vector))
        # Only the vector (and when it moved): the counters online learning keeps are never touched.
        (now,) = signals.values("updated_at", [timezone.now()])
        params = [
            (b, now, v) for b, v in zip(signals.values("vector", blobs), signals.values("video", updates), strict=True)
        ]
        with realms.atomic():
            signals.execute_many("UPDATE {table} SET {vector} = %s, {updated_at} = %s WHERE {video} = %s", params)
            VideoSignal.objects.bulk_create(created, ignore_conflicts=True)
        progress("saving video vectors", min(start + WRITE_CHUNK, total), total)


def _save_users(user_ids: list[uuid.UUID], vectors: np.ndarray, progress: Progress) -> None:
    tastes = _Writer(Taste)
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    existing = set(Taste.objects.values_list("owner_id", flat=True).iterator(chunk_size=CHUNK))
    total = len(user_ids)
    for start in range(0, total, WRITE_CHUNK):
        chunk = user_ids[start : start + WRITE_CHUNK]
        updates: list[uuid.UUID] = []
        blobs: list[bytes] = []
        created = []
        for offset, user_id in enumerate(chunk):
            vector = data[start + offset].tobytes()
            if user_id in existing:
                updates.append(user_id)
                blobs.append(vector)
            else:
                created.append(Taste(owner_id=user_id, vector=vector))
        # Only the vector: ``updated_at`` stays the viewer's last activity, which expiry reads.
        params = list(zip(tastes.values("vector", blobs), tastes.values("owner", updates), strict=True))
        with realms.atomic():
            tastes.execute_many("UPDATE {table} SET {vector} = %s WHERE {owner} = %s", params)
            Taste.objects.bulk_create(created, ignore_conflicts=True)
        progress("saving user vectors", min(start + WRITE_CHUNK, total), total)
    # Everyone else's vector lives in the previous refit's space: start them again from their interests.
    refitted = set(user_ids)
    with_vector = Taste.objects.exclude(vector=None).values_list("id", "owner_id").iterator(chunk_size=CHUNK)
    stale = [taste_id for taste_id, owner_id in with_vector if owner_id not in refitted]
    for ids in _chunks(stale):
        Taste.objects.filter(id__in=ids).update(vector=None)


def _neighbours(
    users: np.ndarray, items: np.ndarray, weights: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top :data:`NEIGHBOURS` of each item by the number of viewers who finished (label ≥ 0.6) both, ties to the
    higher cosine, then the lower slot: ``(item, neighbour, cosine)`` arrays, by item then rank."""
    from scipy.sparse import csr_matrix

    finished = weights >= 0.6
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    if not finished.any():
        return empty
    n_users = int(users.max()) + 1
    matrix = csr_matrix(
        (np.ones(int(finished.sum()), dtype=np.float32), (users[finished], items[finished])),
        shape=(n_users, n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
    active = np.flatnonzero(norms > 0)
    by_item = matrix.T.tocsr()[active]
    # An item's row of the product has at most as many entries as its finishers finished in all: cut the rows
    # into blocks of about PRODUCT_BUDGET entries (the full video × video product would not fit on a big site).
    cost = np.cumsum(by_item @ np.diff(matrix.indptr).astype(np.float64))
    cuts = [0]
    while cuts[-1] < len(active):
        done = cost[cuts[-1] - 1] if cuts[-1] else 0.0
        cuts.append(max(int(np.searchsorted(cost, done + PRODUCT_BUDGET, side="right")), cuts[-1] + 1))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lo, hi in itertools.pairwise(cuts):
        block = (by_item[lo:hi] @ matrix).tocsr()
        row = np.repeat(active[lo:hi], np.diff(block.indptr))
        col, count = block.indices.astype(np.int64), block.data
        keep = col != row
        row, col, count = row[keep], col[keep], count[keep]
        score = count / (norms[row] * norms[col])
        order = np.lexsort((col, -score, -count, row))  # the last key sorts first
        row, col, score = row[order], col[order], score[order]
        # Rank within each item: position minus the position of the item's first entry.
        first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        rank = np.arange(len(row)) - np.repeat(first, np.diff(np.r_[first, len(row)]))
        top = rank < NEIGHBOURS
        found.append((row[top], col[top], score[top]))
    rows, cols, scores = zip(*found, strict=True)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(scores)


def _co_engagement(
    users: np.ndarray, items: np.ndarray, weights: np.ndarray, video_ids: list[uuid.UUID], progress: Progress
) -> int:
    """Recompute every video's co-engagement neighbours (:func:`_neighbours`) in place: each pair is written over
    the previous refit's (its ``created_at`` becomes this refit's), and only then are the pairs this refit did not
    find deleted. The source keeps proposing from the old pairs meanwhile (emptying the table first left it
    nearly silent for minutes at a million videos)."""
    rows, cols, scores = _neighbours(users, items, weights, len(video_ids))
    pairs = _Writer(CoEngagement)
    # Insert, or replace the score of a pair an earlier (or concurrent) refit wrote, in each backend's words.
    ops = pairs.connection.ops
    video, neighbour, score, created = (pairs.fields[n].column for n in ("video", "neighbour", "score", "created_at"))
    sql = (
        f"{ops.insert_statement(on_conflict=OnConflict.UPDATE)} {{table}} "
        "({id}, {created_at}, {video}, {neighbour}, {score}) VALUES (%s, %s, %s, %s, %s) "
        f"{ops.on_conflict_suffix_sql([], OnConflict.UPDATE, [score, created], [video, neighbour])}"
    )
    started = timezone.now()
    # Each video's id prepared once, not once per pair it is in.
    named = np.unique(np.concatenate([rows, cols]))
    db_ids = np.empty(len(video_ids), dtype=object)
    db_ids[named] = pairs.values("video", [video_ids[i] for i in named.tolist()])
    total = len(rows)
    for start in range(0, total, WRITE_CHUNK):
        stop = min(start + WRITE_CHUNK, total)
        (now,) = pairs.values("created_at", [timezone.now()])
        ids = pairs.values("id", [uuid7() for _ in range(stop - start)])
        videos, neighbours = db_ids[rows[start:stop]].tolist(), db_ids[cols[start:stop]].tolist()
        scores_ = scores[start:stop].tolist()  # floats: what the database takes
        pairs.execute_many(
            sql, [(i, now, v, n, x) for i, v, n, x in zip(ids, videos, neighbours, scores_, strict=True)]
        )
        progress("co-engagement", stop, total)
    CoEngagement.objects.filter(created_at__lt=started).delete()
    return CoEngagement.objects.count() if total else 0
