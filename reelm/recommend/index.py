"""The nearest-neighbour index over video vectors, one per process, kept up to date incrementally.

Every process builds its index from the database's ``VideoSignal`` rows on first use, then, at most once per
:data:`REFRESH_SECONDS`, pulls just the rows whose ``updated_at`` moved since and replaces them in the index —
so a video published (or whose vector moved) in any process is searchable everywhere within about a second.
Vectors are unit length and searched by inner product (cosine).

Memory stays bounded: only videos created within :data:`KEEP` are indexed (older ones stop being recommended
from this source, as Monolith expires stale embeddings), so the index holds at most a few months of uploads.
Below :data:`IVF_FROM` videos the index is exact (flat); above it, an IVF index trained on the vectors at build
time, searched over :data:`NPROBE` lists.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from reelm.core.ids import uuid7_floor
from reelm.recommend.model import DIM, normalise, vector_from
from reelm.recommend.models import VideoSignal

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
KEEP = timedelta(days=120)
IVF_FROM = 50_000
NPROBE = 24
#: Rows fetched per query while building.
CHUNK = 20_000


class VideoIndex:
    """Video vectors searchable by a user vector. Thread-safe; one per process (see :func:`video_index`)."""

    def __init__(self) -> None:
        import faiss

        # One search at a time per request thread: faiss's own thread pool only stalls a busy machine (a k=80 search
        # took 12 ms with two OpenMP threads and 0.1 ms with one, measured under load).
        faiss.omp_set_num_threads(1)
        self._faiss = faiss
        self._lock = threading.Lock()
        # One thread builds or pulls at a time; the others go on with what is there (no index yet: no results).
        self._refresh_lock = threading.Lock()
        self._index: Any = None
        self._slot_of: dict[uuid.UUID, int] = {}
        self._video_of: list[uuid.UUID] = []
        # The vectors by slot as well, so ranking reads them here rather than from the database.
        self._matrix = np.zeros((0, DIM), dtype=np.float32)
        self._watermark: Any = None
        self._checked = 0.0
        self._database: str | None = None

    def __len__(self) -> int:
        return self._index.ntotal if self._index is not None else 0

    def search(self, vector: np.ndarray, k: int) -> list[tuple[uuid.UUID, float]]:
        """The ``k`` videos whose vectors are closest to ``vector``, closest first, with their cosines."""
        self.refresh()
        with self._lock:
            if self._index is None or self._index.ntotal == 0:
                return []
            scores, slots = self._index.search(normalise(vector).reshape(1, DIM), k)
            return [(self._video_of[s], float(c)) for s, c in zip(slots[0], scores[0], strict=True) if s >= 0]

    def vectors(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, np.ndarray]:
        """The indexed vectors of those of ``video_ids`` that are indexed (as of the last refresh)."""
        self.refresh()
        with self._lock:
            slots = [(v, self._slot_of.get(v)) for v in video_ids]
            return {v: self._matrix[s] for v, s in slots if s is not None}

    def refresh(self, *, force: bool = False) -> None:
        """Build on first use; afterwards pull the vectors that changed since the last pull."""
        from django.db import connection

        now = time.monotonic()
        database = str(connection.settings_dict["NAME"])
        if database != self._database:  # another database (tests): start over
            with self._lock:
                self._index, self._database = None, database
        if self._index is not None and not force and now - self._checked < REFRESH_SECONDS:
            return
        if not self._refresh_lock.acquire(blocking=force):
            return
        try:
            self._checked = now
            if self._index is None:
                self._build()
            else:
                self._pull()
        finally:
            self._refresh_lock.release()

    def _rows(self) -> Any:
        floor = uuid7_floor(int((timezone.now() - KEEP).timestamp() * 1000))
        return VideoSignal.objects.filter(video_id__gte=floor).order_by()

    def _build(self) -> None:
        started = time.perf_counter()
        started_at = timezone.now()
        ids: list[uuid.UUID] = []
        blobs: list[bytes] = []
        size = DIM * 4
        last = None
        while True:
            page = self._rows().order_by("video_id")
            if last is not None:
                page = page.filter(video_id__gt=last)
            rows = list(page.values_list("video_id", "vector")[:CHUNK])
            for video_id, data in rows:
                if data is not None and len(data) == size:
                    ids.append(video_id)
                    blobs.append(bytes(data))
            if len(rows) < CHUNK:
                break
            last = rows[-1][0]
        # One buffer for all: a million small arrays would take longer than the query.
        matrix = normalise(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, DIM))
        index = self._new_index(matrix)
        if len(ids):
            index.add_with_ids(matrix, np.arange(len(ids), dtype=np.int64))
        with self._lock:
            self._index = index
            self._video_of = ids
            self._slot_of = {video_id: slot for slot, video_id in enumerate(ids)}
            self._matrix = matrix
            # A row saved while we read may be missed by the build: the next pull re-reads from before it began.
            self._watermark = started_at
        log.info("video index built: %d vectors in %.1f s", len(ids), time.perf_counter() - started)

    def _new_index(self, matrix: np.ndarray) -> Any:
        faiss = self._faiss
        if len(matrix) < IVF_FROM:
            return faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
        lists = int(4 * np.sqrt(len(matrix)))
        quantizer = faiss.IndexFlatIP(DIM)
        ivf = faiss.IndexIVFFlat(quantizer, DIM, lists, faiss.METRIC_INNER_PRODUCT)
        sample = matrix[np.random.default_rng(7).choice(len(matrix), min(len(matrix), lists * 40), replace=False)]
        ivf.train(sample)
        ivf.nprobe = NPROBE
        # Ids straight into the IVF index, with a hash map from id to list: IndexIDMap's remove_ids assumes the
        # inner index renumbers what is left, which an IVF index does not (faiss then aborts the process).
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        return ivf

    def _pull(self) -> None:
        since = self._watermark
        pulled_at = timezone.now()
        changed = self._rows().filter(updated_at__gte=since).order_by("updated_at")
        rows = list(changed.values_list("video_id", "vector", "updated_at")[:CHUNK])
        # Clocks of other processes' saves may lag ours slightly: overlap the next pull by a second. A full chunk
        # means more are waiting: go on from the last one pulled.
        watermark = rows[-1][2] if len(rows) == CHUNK else pulled_at - timedelta(seconds=1)
        if not rows:
            self._watermark = watermark
            return
        with self._lock:
            update_slots, update_vectors = [], []
            for video_id, data, _ in rows:
                vector = vector_from(data)
                if vector is None:
                    continue
                slot = self._slot_of.get(video_id)
                if slot is None:
                    slot = len(self._video_of)
                    self._video_of.append(video_id)
                    self._slot_of[video_id] = slot
                update_slots.append(slot)
                update_vectors.append(vector)
            if update_slots:
                slots = np.array(update_slots, dtype=np.int64)
                vectors = normalise(np.stack(update_vectors))
                self._index.remove_ids(slots)
                self._index.add_with_ids(vectors, slots)
                if len(self._video_of) > len(self._matrix):  # grow by doubling
                    grown = np.zeros((max(len(self._video_of), 2 * len(self._matrix)), DIM), dtype=np.float32)
                    grown[: len(self._matrix)] = self._matrix
                    self._matrix = grown
                self._matrix[slots] = vectors
            self._watermark = watermark


_index: VideoIndex | None = None
_index_lock = threading.Lock()


def video_index() -> VideoIndex:
    """This process's index (built on first use)."""
    global _index
    with _index_lock:
        if _index is None:
            _index = VideoIndex()
        return _index


def video_index_reset() -> None:
    """Forget this process's index (tests; the next search builds it again)."""
    global _index
    with _index_lock:
        _index = None


def warm_in_background() -> None:
    """Build this process's index in a thread at start-up, so no request waits for it (until it is ready the
    nearest-neighbour source proposes nothing and the other five carry the feed)."""

    def warm() -> None:
        from django.db import connection

        try:
            video_index().refresh(force=True)
        except Exception:
            log.exception("building the video index failed; the next request tries again")
        finally:
            connection.close()

    threading.Thread(target=warm, name="video-index-warm", daemon=True).start()
