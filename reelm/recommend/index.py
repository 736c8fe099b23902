"""The nearest-neighbour index over video vectors, one per process, kept up to date incrementally."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from reelm.core import realms
from reelm.core.ids import uuid7_floor
from reelm.recommend.models import VideoSignal
from reelm.recommend.ranker import DIM, normalise, vector_from

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
KEEP = timedelta(days=120)
IVF_FROM = 50_000
NPROBE = 24
#: Rows fetched per query while building.
CHUNK = 20_000


def _keys_of(ids: bytes) -> np.ndarray:
    """64-bit keys of UUIDs given as 16-byte big-endian strings: high half XOR low half (UUIDv7 puts the time in one
    and 62 random bits in the other, so a million ids collide with odds of about 1 in 30 million)."""
    halves = np.frombuffer(ids, dtype=">u8").reshape(-1, 2)
    return (halves[:, 0] ^ halves[:, 1]).astype(np.uint64)


class VideoIndex:
    """Video vectors searchable by a user vector. Thread-safe; one per process (see :func:`video_index`).

    A million videos in a few hundred MB: faiss holds the vectors (``vectors()`` reads them back from it); slot
    → id is two numpy columns, and id → slot a sorted numpy array of 64-bit keys, plus a small dict for the
    videos pulled since the build — no Python object per video.

    Every process builds its index from the database's ``VideoSignal`` rows on first use, then, at most once per
    :data:`REFRESH_SECONDS`, pulls just the rows whose ``updated_at`` moved since and replaces them in the index
    — so a video published (or whose vector moved) in any process is searchable everywhere within about a
    second. Vectors are unit length and searched by inner product (cosine).

    Memory stays bounded: only videos created within :data:`KEEP` are indexed (older ones stop being recommended
    from this source, as Monolith expires stale embeddings), so the index holds at most a few months of uploads.
    Below :data:`IVF_FROM` videos the index is exact (flat); above it, an IVF index trained on the vectors at
    build time, searched over :data:`NPROBE` lists."""

    def __init__(self) -> None:
        import faiss

        # One search at a time per request thread: faiss's own thread pool only stalls a busy machine, where its
        # threads wait for each other far longer than one thread takes alone.
        faiss.omp_set_num_threads(1)
        self._faiss = faiss
        self._lock = threading.Lock()
        # One thread builds or pulls at a time; the others go on with what is there (no index yet: no results).
        self._refresh_lock = threading.Lock()
        self._index: Any = None
        self._ids = np.zeros(0, dtype="V16")  # slot → the video's UUID bytes
        self._count = 0
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted keys of the videos indexed by the build…
        self._key_slots = np.zeros(0, dtype=np.int64)  # …and their slots
        self._pulled: dict[int, int] = {}  # key → slot of videos first seen by a pull
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
            return [
                (uuid.UUID(bytes=self._ids[s].tobytes()), float(c))
                for s, c in zip(slots[0], scores[0], strict=True)
                if s >= 0
            ]

    def vectors(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, np.ndarray]:
        """The indexed vectors of those of ``video_ids`` that are indexed (as of the last refresh)."""
        self.refresh()
        with self._lock:
            if self._index is None or not video_ids:
                return {}
            slots = self._slots(video_ids)
            found = [(v, s) for v, s in zip(video_ids, slots, strict=True) if s >= 0]
            if not found:
                return {}
            matrix = self._index.reconstruct_batch(np.array([s for _, s in found], dtype=np.int64))
            return {v: matrix[i] for i, (v, _) in enumerate(found)}

    def _slots(self, video_ids: list[uuid.UUID]) -> list[int]:
        """Each id's slot, or -1. Caller holds the lock."""
        keys = _keys_of(b"".join(v.bytes for v in video_ids))
        at = np.minimum(np.searchsorted(self._keys, keys), max(len(self._keys) - 1, 0))
        out = []
        for i, key in enumerate(keys.tolist()):
            slot = self._pulled.get(key, -1)
            if slot < 0 and len(self._keys) and self._keys[at[i]] == key:
                slot = int(self._key_slots[at[i]])
            if slot >= 0 and self._ids[slot].tobytes() != video_ids[i].bytes:
                slot = -1  # another video with the same key: better no vector than the wrong one
            out.append(slot)
        return out

    def refresh(self, *, force: bool = False) -> None:
        """Build on first use; afterwards pull the vectors that changed since the last pull."""
        now = time.monotonic()
        database = str(realms.connection().settings_dict["NAME"])
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
        # Two growing buffers rather than a million small objects: ids and vectors, 16 and 128 bytes a video.
        ids, vectors = bytearray(), bytearray()
        size = DIM * 4
        last = None
        while True:
            page = self._rows().order_by("video_id")
            if last is not None:
                page = page.filter(video_id__gt=last)
            rows = list(page.values_list("video_id", "vector")[:CHUNK])
            for video_id, data in rows:
                if data is not None and len(data) == size:
                    ids += video_id.bytes
                    vectors += data
            if len(rows) < CHUNK:
                break
            last = rows[-1][0]
        matrix = np.frombuffer(vectors, dtype=np.float32).reshape(-1, DIM)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 1e-12)  # in place: no second copy of a million rows
        index = self._new_index(matrix)
        count = len(matrix)
        if count:
            index.add_with_ids(matrix, np.arange(count, dtype=np.int64))
        del matrix, vectors
        keys = _keys_of(bytes(ids))
        order = np.argsort(keys, kind="stable")
        with self._lock:
            self._index = index
            self._ids = np.frombuffer(bytes(ids), dtype="V16").copy()
            self._count = count
            self._keys, self._key_slots = keys[order], order.astype(np.int64)
            self._pulled = {}
            # A row saved while we read may be missed by the build: the next pull re-reads from before it began.
            self._watermark = started_at
        log.info("video index built: %d vectors in %.1f s", count, time.perf_counter() - started)

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
            fresh = [(video_id, vector) for video_id, data, _ in rows if (vector := vector_from(data)) is not None]
            if fresh:
                known = self._slots([video_id for video_id, _ in fresh])
                slots = []
                for (video_id, _), slot in zip(fresh, known, strict=True):
                    if slot < 0:
                        slot = self._append(video_id)
                    slots.append(slot)
                at = np.array(slots, dtype=np.int64)
                self._index.remove_ids(at)
                self._index.add_with_ids(normalise(np.stack([v for _, v in fresh])), at)
            self._watermark = watermark

    def _append(self, video_id: uuid.UUID) -> int:
        """A new slot for a video first seen by a pull. Caller holds the lock."""
        slot = self._count
        if slot == len(self._ids):  # grow by doubling
            grown = np.zeros(max(16, 2 * len(self._ids)), dtype="V16")
            grown[:slot] = self._ids[:slot]
            self._ids = grown
        self._ids[slot] = np.frombuffer(video_id.bytes, dtype="V16")[0]
        self._count += 1
        self._pulled[int(_keys_of(video_id.bytes)[0])] = slot
        return slot


_indexes: dict[str, VideoIndex] = {}
_index_lock = threading.Lock()


def video_index() -> VideoIndex:
    """This process's index of the realm being worked for (built on first use): each realm ranks its own rows."""
    realm = realms.current_realm()
    with _index_lock:
        found = _indexes.get(realm)
        if found is None:
            found = _indexes[realm] = VideoIndex()
        return found


def video_index_reset() -> None:
    """Forget this process's indexes (tests; the next search builds them again)."""
    with _index_lock:
        _indexes.clear()


def warm_in_background() -> None:
    """Build this process's index in a thread at start-up, so no request waits for it (until it is ready the
    nearest-neighbour source proposes nothing and the other five carry the feed). Not with ``REELM_INDEX_WARM``
    off."""
    from django.conf import settings

    if not settings.RECOMMEND_INDEX_WARM:
        return

    def warm() -> None:
        for realm in realms.realm_names():
            with realms.working_for(realm):
                try:
                    video_index().refresh(force=True)
                except Exception:
                    log.exception("building the video index of realm %s failed; the next request tries again", realm)
                finally:
                    realms.connection().close()

    threading.Thread(target=warm, name="video-index-warm", daemon=True).start()
