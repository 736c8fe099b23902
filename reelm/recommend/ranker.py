"""The recommender's learning parts, in plain numpy: no Django here, so the product and the offline evaluation
under ``bench/`` run exactly the same code.

- :func:`engagement_label` turns what one viewer did with one video (one impression) into a label in [0, 1].
- User and video vectors live on the unit sphere of :data:`DIM` dimensions. :func:`user_update` moves a
  viewer's vector after every event batch (Monolith-style real-time training), :func:`video_update` moves a
  video's vector more slowly; :func:`als_fit` refits all of them from scratch in the background.
- :class:`Ranker` predicts the label from named features with FTRL-Proximal logistic regression, learning
  online from every batch; :meth:`Ranker.explain` says which features pushed an item up.
- :func:`thompson_sample` is the exploration bandit for fresh uploads (Beta posterior over early completions).
"""

from __future__ import annotations

import functools
import io
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: Dimensions of user and video vectors.
DIM = 32
#: Step sizes of the online vector updates (per event batch). Users move fast, videos slowly: a video is seen by
#: many viewers, a viewer's taste should follow the last few swipes.
USER_RATE = 0.6
VIDEO_RATE = 0.05
#: ``sigmoid(SCALE * u·v)`` is the affinity the vectors predict; cosines lie in [-1, 1], so they need stretching.
SCALE = 4.0

#: What each action is worth in an impression's label (clipped to [0, 1]). Watch ratio is the backbone; explicit
#: actions add to it; a skip or "not interested" pulls it to zero.
LABEL_WEIGHTS = {
    "watch_ratio": 0.55,
    "complete": 0.15,
    "replay": 0.10,
    "like": 0.25,
    "comment": 0.25,
    "share": 0.25,
    "bookmark": 0.25,
    "follow": 0.35,
    "skip": -0.6,
    "not_interested": -2.0,
}
SKIP_MS = 2000
#: The label a viewer's vector step is centred on: above it the vector moves toward the video, below it away. Just
#: above a skip, because most short-video impressions end before the end without meaning "less of this" (centred on
#: the typical label, 0.35, updating pushed viewers away from most of what they watched, and the next-event replay
#: did worse than the frozen vectors). Chosen on the evaluation's validation periods (docs/recommendations.md).
LABEL_BASELINE = 0.1


@dataclass
class Engagement:
    """Everything one viewer did with one video they were shown."""

    watched_ms: int = 0
    duration_ms: int = 0
    completed: bool = False
    replays: int = 0
    liked: bool = False
    commented: bool = False
    shared: bool = False
    bookmarked: bool = False
    followed: bool = False
    skipped: bool = False
    not_interested: bool = False


def watch_ratio(watched_ms: int, duration_ms: int) -> float:
    if duration_ms <= 0:
        return 0.0
    return min(watched_ms / duration_ms, 1.0)


def engagement_label(e: Engagement) -> float:
    """The engagement label of one impression, in [0, 1]."""
    w = LABEL_WEIGHTS
    ratio = 1.0 if e.completed else watch_ratio(e.watched_ms, e.duration_ms)
    skipped = e.skipped or (e.watched_ms < SKIP_MS and not e.completed and e.watched_ms > 0)
    value = (
        w["watch_ratio"] * ratio
        + w["complete"] * e.completed
        + w["replay"] * min(e.replays, 2) / 2
        + w["like"] * e.liked
        + w["comment"] * e.commented
        + w["share"] * e.shared
        + w["bookmark"] * e.bookmarked
        + w["follow"] * e.followed
        + w["skip"] * skipped
        + w["not_interested"] * e.not_interested
    )
    return float(min(max(value, 0.0), 1.0))


# --- vectors ---------------------------------------------------------------------------------------------------


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32: inner products are then cosines, which the
    ANN index needs (on raw inner products its recall collapses)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 1e-12)


def seeded_vector(key: str) -> np.ndarray:
    """A small, deterministic pseudo-random unit vector for a video or user with no history (the same in every
    process, so nothing needs to be stored before the first refit)."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    return normalise(rng.standard_normal(DIM).astype(np.float32))


def cold_video_vector(key: str, hints: Sequence[np.ndarray] = ()) -> np.ndarray:
    """A new video's first vector: the mean of what is known about it (its hashtags', its author's videos'),
    plus a little of its own noise so identical hints do not collapse onto one point."""
    own = seeded_vector(key)
    if not hints:
        return own
    mean = normalise(np.mean(np.stack(hints), axis=0))
    return normalise(0.85 * mean + 0.15 * own)


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def affinity(user: np.ndarray, videos: np.ndarray) -> np.ndarray:
    """Predicted affinity in (0, 1) of one user for each row of ``videos``."""
    return np.asarray(sigmoid(SCALE * (videos @ user)))


def user_update(user: np.ndarray, video: np.ndarray, label: float, *, rate: float = USER_RATE) -> np.ndarray:
    """Move the user's vector toward a video they engaged with more than usual (``label`` above
    :data:`LABEL_BASELINE`) and away from one they skipped, back on the sphere. Centred on a fixed baseline
    rather than on the predicted affinity: a logistic step barely moves once the prediction is near the label,
    and a viewer's taste must follow the last few swipes."""
    return normalise(user + rate * (label - LABEL_BASELINE) * video)


def user_update_many(
    user: np.ndarray, videos: np.ndarray, labels: Sequence[float], *, rate: float = USER_RATE
) -> np.ndarray:
    """:func:`user_update` over a batch, in order."""
    for video, label in zip(videos, labels, strict=True):
        user = user_update(user, video, label, rate=rate)
    return user


def video_update(video: np.ndarray, user: np.ndarray, label: float, *, rate: float = VIDEO_RATE) -> np.ndarray:
    error = label - float(sigmoid(SCALE * float(user @ video)))
    return normalise(video + rate * error * user)


def als_fit(
    users: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    *,
    n_users: int,
    n_items: int,
    factors: int = DIM,
    regularization: float = 0.05,
    iterations: int = 15,
    alpha: float = 20.0,
    seed: int = 7,
) -> tuple[np.ndarray, np.ndarray]:
    """Implicit-feedback ALS (Hu, Koren and Volinsky) over (user, item, weight) triples: returns unit-length user
    and item factors. Items nobody engaged with keep zero rows; callers give them a cold vector."""
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    matrix = csr_matrix(
        (np.asarray(weights, dtype=np.float32) * alpha, (users, items)), shape=(n_users, n_items), dtype=np.float32
    )
    matrix.sum_duplicates()
    # implicit runs its own threads; BLAS threads on top of them only contend (implicit warns about it).
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            random_state=seed,
            calculate_training_loss=False,
        )
        model.fit(matrix, show_progress=False)
    return normalise(np.asarray(model.user_factors)), normalise(np.asarray(model.item_factors))


# --- exploration -----------------------------------------------------------------------------------------------


def thompson_sample(
    completions: np.ndarray, impressions: np.ndarray, rng: np.random.Generator, *, prior: tuple[float, float] = (2, 3)
) -> np.ndarray:
    """One draw per fresh video of its completion rate from a Beta posterior: unseen videos draw widely around
    the prior (so they get shown), videos that keep being skipped draw low (so they stop being shown)."""
    c = np.asarray(completions, dtype=np.float64)
    n = np.maximum(np.asarray(impressions, dtype=np.float64), c)
    return rng.beta(prior[0] + c, prior[1] + n - c)


# --- ranking ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """What the ranker knows about one candidate for one viewer."""

    source: str
    cosine: float  # user vector · video vector
    completion_rate: float  # smoothed, all viewers
    impressions: int
    likes: int
    age_hours: float
    author_affinity: float  # the viewer's mean label on this author's videos, 0 if none
    tag_affinity: float  # the viewer's strongest hashtag affinity among the video's tags, 0 if none
    follows_author: bool
    # Recent popularity: on time-split data it is the strongest single signal (docs/recommendations.md).
    recent_completions: int = 0  # completions in the last 14 days
    trending_rank: int | None = None  # position in the transparent ranking, None when not in it
    # Personalised trending: the last 14 days' completions weighted by how close each completer's taste is to the
    # viewer's, i.e. ``viewer vector · the video's recent-audience vector`` (:func:`similar_recent`); 0 if unknown.
    similar_recent: float = 0.0


#: Item's numeric fields, in the order :class:`Items` keeps them as columns.
_NUMERIC = (
    "cosine", "completion_rate", "impressions", "likes", "age_hours", "author_affinity", "tag_affinity",
    "recent_completions", "similar_recent",
)  # fmt: skip


@dataclass
class Items:
    """Many candidates as columns, one numpy array per :class:`Item` field (``trending_rank`` -1 for None): a page
    scores about a hundred candidates without making an ``Item`` each, and makes one only for the few it shows."""

    source: list[str]
    numeric: dict[str, np.ndarray]  # the fields of _NUMERIC, as float64
    follows_author: np.ndarray  # bool
    trending_rank: np.ndarray  # int64, -1 when not in the transparent ranking

    def __len__(self) -> int:
        return len(self.source)

    @staticmethod
    def of(items: Sequence[Item]) -> Items:
        return Items(
            source=[i.source for i in items],
            numeric={name: np.array([getattr(i, name) for i in items], dtype=np.float64) for name in _NUMERIC},
            follows_author=np.array([i.follows_author for i in items], dtype=bool),
            trending_rank=np.array([-1 if i.trending_rank is None else i.trending_rank for i in items], dtype=np.int64),
        )

    def item(self, at: int) -> Item:
        rank = int(self.trending_rank[at])
        n = self.numeric
        return Item(
            source=self.source[at],
            cosine=float(n["cosine"][at]),
            completion_rate=float(n["completion_rate"][at]),
            impressions=int(n["impressions"][at]),
            likes=int(n["likes"][at]),
            age_hours=float(n["age_hours"][at]),
            author_affinity=float(n["author_affinity"][at]),
            tag_affinity=float(n["tag_affinity"][at]),
            follows_author=bool(self.follows_author[at]),
            recent_completions=int(n["recent_completions"][at]),
            trending_rank=rank if rank >= 0 else None,
            similar_recent=float(n["similar_recent"][at]),
        )


#: Plain words for the explanation of each feature family.
FEATURE_WORDS = {
    "cosine": "it is close to what you have been watching",
    "completion": "many viewers watch it to the end",
    "popular": "it is popular",
    "recent": "it is popular right now",
    "similar_recent": "viewers with your taste are watching it now",
    "fresh": "it is new",
    "author": "you engage with this creator",
    "tag": "you engage with its hashtags",
    "follows": "you follow the creator",
    "source": "where it came from",
}


def features(item: Item) -> list[tuple[str, float]]:
    """Named features of one candidate. Continuous values are kept in [0, 1]-ish ranges; a few crosses let a
    linear model bend (``source × cosine bucket``)."""
    cos_bucket = min(int((item.cosine + 1) * 5), 9)
    age_bucket = 0 if item.age_hours < 6 else 1 if item.age_hours < 48 else 2 if item.age_hours < 24 * 7 else 3
    rank = item.trending_rank
    trend_bucket = (
        5 if rank is None else 0 if rank < 10 else 1 if rank < 30 else 2 if rank < 100 else 3 if rank < 400 else 4
    )
    # Personalised trending, only when known (0 everywhere in the product today): a zero feature adds nothing to a
    # linear model's score nor to its updates, so leaving it out keeps rows (and the served memory) short.
    similar = [("similar_recent", math.log1p(item.similar_recent) / 5)] if item.similar_recent > 0 else []
    return [
        ("bias", 1.0),
        ("cosine", item.cosine),
        (f"cosine_b={cos_bucket}", 1.0),
        ("completion", item.completion_rate),
        ("popular", math.log1p(item.likes) / 10),
        ("popular_seen", math.log1p(item.impressions) / 12),
        ("recent", math.log1p(item.recent_completions) / 5),
        (f"trend_b={trend_bucket}", 1.0),
        # the rank itself, continuous: the head of the trending list matters most
        ("trend_inv", 0.0 if rank is None else 1.0 / (1.0 + rank)),
        # popular right now *among viewers like this one* (personalised trending)
        *similar,
        (f"fresh_b={age_bucket}", 1.0),
        # age beyond a week still matters (older catalogue items fade); log days, ≈ [0, 1] up to a few years
        ("age", math.log1p(max(item.age_hours, 0.0) / 24) / 7),
        ("author", item.author_affinity),
        ("tag", item.tag_affinity),
        ("follows", float(item.follows_author)),
        (f"source={item.source}", 1.0),
        (f"source={item.source}×cosine_b={cos_bucket}", 1.0),
    ]


@functools.lru_cache(maxsize=4096)
def _family(name: str) -> str:
    head = name.split("=", 1)[0].split("×", 1)[0]
    return {
        "cosine_b": "cosine",
        "popular_seen": "popular",
        "fresh_b": "fresh",
        "age": "fresh",
        "trend_b": "recent",
        "trend_inv": "recent",
        "similar_recent": "similar_recent",
    }.get(head, head)


#: The columns of :meth:`Ranker.encode_items` whose feature name is fixed.
_FIXED_NAMES = {
    0: "bias", 1: "cosine", 3: "completion", 4: "popular", 5: "popular_seen", 6: "recent", 8: "trend_inv",
    9: "similar_recent", 11: "age", 12: "author", 13: "tag", 14: "follows",
}  # fmt: skip
_ENCODED_WIDTH = 17


class Ranker:
    """FTRL-Proximal logistic regression (McMahan et al., 2013) over hashed named features. Learns one example at
    a time, keeps weights sparse through L1, and fits in ``2 * 2**bits`` floats whatever the traffic."""

    def __init__(
        self, bits: int = 16, *, alpha: float = 0.1, beta: float = 1.0, l1: float = 0.05, l2: float = 1.0
    ) -> None:
        self.bits = bits
        self.alpha, self.beta, self.l1, self.l2 = alpha, beta, l1, l2
        self.z = np.zeros(1 << bits, dtype=np.float64)
        self.n = np.zeros(1 << bits, dtype=np.float64)
        self.examples = 0
        self._slots: dict[str, int] = {}

    def slot(self, name: str) -> int:
        found = self._slots.get(name)
        if found is None:
            found = zlib.crc32(name.encode()) & ((1 << self.bits) - 1)
            if len(self._slots) < 100_000:
                self._slots[name] = found
        return found

    def _encode(self, rows: Sequence[Sequence[tuple[str, float]]]) -> tuple[np.ndarray, np.ndarray]:
        width = max((len(r) for r in rows), default=0)
        index = np.zeros((len(rows), width), dtype=np.int64)
        value = np.zeros((len(rows), width), dtype=np.float64)
        for i, row in enumerate(rows):
            for j, (name, x) in enumerate(row):
                index[i, j] = self.slot(name)
                value[i, j] = x
        return index, value

    def _slots_of(self, prefix: str, values: np.ndarray) -> np.ndarray:
        """The slot of ``f"{prefix}{value}"`` for each value, each distinct name hashed once."""
        distinct, inverse = np.unique(values, return_inverse=True)
        return np.array([self.slot(f"{prefix}{v}") for v in distinct.tolist()], dtype=np.int64)[inverse]

    def encode_items(self, items: Sequence[Item] | Items) -> tuple[np.ndarray, np.ndarray]:
        """What ``_encode([features(i) for i in items])`` gives (up to zero-valued entries, which change no score),
        computed a column at a time: a page ranks about a hundred candidates, and building their named features
        one by one was most of its Python."""
        columns = items if isinstance(items, Items) else Items.of(items)
        n = len(columns)
        column = columns.numeric
        follows = columns.follows_author.astype(np.float64)
        rank = columns.trending_rank.astype(np.float64)
        sources = columns.source
        cos_bucket = np.minimum(np.trunc((column["cosine"] + 1) * 5), 9).astype(np.int64)
        trend_bucket = np.where(rank < 0, 5, np.searchsorted([10, 30, 100, 400], rank, side="right"))
        age_bucket = np.searchsorted([6, 48, 24 * 7], column["age_hours"], side="right")
        similar = column["similar_recent"]
        crossed: dict[tuple[str, int], int] = {}
        for key in zip(sources, cos_bucket.tolist(), strict=True):
            if key not in crossed:
                crossed[key] = self.slot(f"source={key[0]}×cosine_b={key[1]}")
        index = np.empty((n, _ENCODED_WIDTH), dtype=np.int64)
        value = np.ones((n, _ENCODED_WIDTH), dtype=np.float64)
        for at, name in _FIXED_NAMES.items():
            index[:, at] = self.slot(name)
        index[:, 2] = self._slots_of("cosine_b=", cos_bucket)
        index[:, 7] = self._slots_of("trend_b=", trend_bucket)
        index[:, 10] = self._slots_of("fresh_b=", age_bucket)
        index[:, 15] = self._slots_of("source=", np.array(sources, dtype=object))
        index[:, 16] = [crossed[key] for key in zip(sources, cos_bucket.tolist(), strict=True)]
        value[:, 1] = column["cosine"]
        value[:, 3] = column["completion_rate"]
        value[:, 4] = np.log1p(column["likes"]) / 10
        value[:, 5] = np.log1p(column["impressions"]) / 12
        value[:, 6] = np.log1p(column["recent_completions"]) / 5
        value[:, 8] = np.where(rank < 0, 0.0, 1.0 / (1.0 + np.maximum(rank, 0)))
        value[:, 9] = np.where(similar > 0, np.log1p(np.maximum(similar, 0)) / 5, 0.0)
        value[:, 11] = np.log1p(np.maximum(column["age_hours"], 0.0) / 24) / 7
        value[:, 12] = column["author_affinity"]
        value[:, 13] = column["tag_affinity"]
        value[:, 14] = follows
        return index, value

    def predict_items(self, items: Sequence[Item] | Items) -> np.ndarray:
        """:meth:`predict` of the items' :func:`features`, vectorised."""
        if not len(items):
            return np.zeros(0)
        index, value = self.encode_items(items)
        return np.asarray(sigmoid((self._weights(index) * value).sum(axis=1)))

    def _weights(self, index: np.ndarray) -> np.ndarray:
        z, n = self.z[index], self.n[index]
        w = -(z - np.sign(z) * self.l1) / ((self.beta + np.sqrt(n)) / self.alpha + self.l2)
        return np.where(np.abs(z) <= self.l1, 0.0, w)

    def predict(self, rows: Sequence[Sequence[tuple[str, float]]]) -> np.ndarray:
        """Predicted labels in (0, 1), one per row of named features."""
        if not rows:
            return np.zeros(0)
        index, value = self._encode(rows)
        return np.asarray(sigmoid((self._weights(index) * value).sum(axis=1)))

    def learn(self, rows: Sequence[Sequence[tuple[str, float]]], labels: Iterable[float]) -> None:
        """One FTRL step per example, in order (soft labels in [0, 1] are fine: the loss is cross-entropy)."""
        for row, label in zip(rows, labels, strict=True):
            index, value = self._encode([row])
            index, value = index[0], value[0]
            w = self._weights(index)
            p = float(sigmoid(float(w @ value)))
            g = (p - label) * value
            sigma = (np.sqrt(self.n[index] + g * g) - np.sqrt(self.n[index])) / self.alpha
            np.add.at(self.z, index, g - sigma * w)
            np.add.at(self.n, index, g * g)
            self.examples += 1

    def explain(self, row: Sequence[tuple[str, float]], top: int = 2) -> list[str]:
        """The feature families that pushed this item up the most, strongest first (e.g. ``["cosine", "tag"]``)."""
        return self.explain_many([row], top)[0]

    def explain_many(self, rows: Sequence[Sequence[tuple[str, float]]], top: int = 2) -> list[list[str]]:
        """:meth:`explain` for each row, with one encoding for all of them."""
        if not rows:
            return []
        index, value = self._encode(rows)
        out = []
        for row, contribution in zip(rows, (self._weights(index) * value).tolist(), strict=True):
            families: dict[str, float] = {}
            for (name, _), c in zip(row, contribution, strict=False):
                if name != "bias" and not name.startswith("source="):
                    family = _family(name)
                    families[family] = families.get(family, 0.0) + c
            positive = sorted(((c, f) for f, c in families.items() if c > 1e-6), reverse=True)
            out.append([f for _, f in positive[:top]])
        return out

    def dump(self) -> bytes:
        buffer = io.BytesIO()
        hyper = np.array([self.alpha, self.beta, self.l1, self.l2, self.examples], dtype=np.float64)
        np.savez_compressed(buffer, z=self.z, n=self.n, bits=np.array([self.bits]), hyper=hyper)
        return buffer.getvalue()

    @staticmethod
    def load(data: bytes) -> Ranker:
        with np.load(io.BytesIO(data)) as saved:
            alpha, beta, l1, l2, examples = saved["hyper"].tolist()
            ranker = Ranker(int(saved["bits"][0]), alpha=alpha, beta=beta, l1=l1, l2=l2)
            ranker.z, ranker.n = saved["z"].copy(), saved["n"].copy()
            ranker.examples = int(examples)
        return ranker


def blend(
    scores: np.ndarray, recent_completions: np.ndarray, weight: float, similar: np.ndarray | None = None
) -> np.ndarray:
    """Final ordering score: the Ranker's logit plus ``weight * (log1p(recent completions) + log1p(similar))``,
    where ``similar`` is each item's :func:`similar_recent` (personalised trending; omitted, it adds nothing). A
    prior toward what is popular right now, overall and among viewers like this one, that the linear model, trained
    on few examples, under-weights; ``weight`` is chosen on a validation split (0 keeps the Ranker's order)."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-12, 1 - 1e-12)
    prior = np.log1p(np.asarray(recent_completions, dtype=np.float64))
    if similar is not None:
        prior = prior + np.log1p(np.maximum(np.asarray(similar, dtype=np.float64), 0.0))
    return np.log(p) - np.log1p(-p) + weight * prior


def recent_audience(viewers: np.ndarray) -> np.ndarray:
    """A video's recent-audience vector: the sum of the (unit) taste vectors of the viewers who completed it in the
    last 14 days, one row per completion. Its length grows with recent completions; its direction is who they
    were."""
    v = np.asarray(viewers, dtype=np.float32).reshape(-1, DIM)
    return v.sum(axis=0)


def similar_recent(user: np.ndarray | None, audience: np.ndarray | None) -> float:
    """Personalised trending for one viewer and one video: ``user · audience`` (the recent completions, each weighted
    by the cosine between its viewer and this one), floored at 0. Equal to the recent completions when every
    recent completer has the viewer's taste."""
    if user is None or audience is None:
        return 0.0
    return max(float(np.asarray(audience, dtype=np.float32) @ np.asarray(user, dtype=np.float32)), 0.0)


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def vector_from(data: bytes | memoryview | None) -> np.ndarray | None:
    if not data:
        return None
    v = np.frombuffer(bytes(data), dtype=np.float32)
    return v.copy() if v.shape == (DIM,) else None
