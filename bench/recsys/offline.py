"""Offline replay on a temporal split: baselines, the tuned ALS, and the Reelm pipeline built from
``reelm/recommend/ranker.py`` (ALS vectors, candidate sources, the FTRL :class:`Ranker`).

Leakage rules, enforced by construction: everything a model sees is computed by :class:`State` from the log *before*
its ``now`` (the split time), and only items uploaded before ``now`` can be recommended. Hyperparameters and the
Ranker are fitted on a validation split carved from the training period (the Ranker learns from what happened in
``[validation cutoff, test cutoff)`` given a state built before the validation cutoff), never from the test period.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix

from reelm.recommend import ranker as rm

from .data import DAY, Dataset, Log
from .metrics import ndcg_at, recall_at

RECENT_DAYS = 14
K_RECALL, K_NDCG = 50, 10
SOURCES = ("follow", "coengaged", "ann", "tag", "trending", "trending-for-you", "fresh")


# --- split ------------------------------------------------------------------------------------------------------


@dataclass
class Split:
    """Train on ``time < cutoff``; the targets are each warm user's completions in ``[cutoff, end)`` of items that
    existed before the cutoff and that the user had not already been shown."""

    cutoff: float
    end: float
    train: Log
    users: np.ndarray
    targets: list[set[int]]


def temporal_split(ds: Dataset, log: Log, cutoff: float, end: float = np.inf) -> Split:
    train = log.select(log.time < cutoff)
    future = log.select((log.time >= cutoff) & (log.time < end) & log.positive)
    known = ds.upload < cutoff
    seen = _seen_sets(train)
    warm = np.zeros(ds.n_users, dtype=bool)
    warm[train.user] = True
    targets: dict[int, set[int]] = {}
    for u, i in zip(future.user.tolist(), future.item.tolist(), strict=True):
        if warm[u] and known[i] and i not in seen.get(u, ()):
            targets.setdefault(u, set()).add(i)
    users = np.array(sorted(targets), dtype=np.int64)
    return Split(cutoff, end, train, users, [targets[u] for u in users.tolist()])


def _seen_sets(log: Log) -> dict[int, set[int]]:
    seen: dict[int, set[int]] = {}
    for u, i in zip(log.user.tolist(), log.item.tolist(), strict=True):
        seen.setdefault(u, set()).add(i)
    return seen


def evaluate(split: Split, ranked: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
    """Per-user recall@50 and NDCG@10 (arrays aligned with ``split.users``)."""
    return {
        "recall@50": np.array([recall_at(r, t, K_RECALL) for r, t in zip(ranked, split.targets, strict=True)]),
        "ndcg@10": np.array([ndcg_at(r, t, K_NDCG) for r, t in zip(ranked, split.targets, strict=True)]),
    }


# --- what the platform knows at a given time ---------------------------------------------------------------------


@dataclass
class State:
    """Counters and per-user profiles computed only from ``log`` (events before ``now``)."""

    ds: Dataset
    log: Log
    now: float
    impressions: np.ndarray = field(init=False)
    completions: np.ndarray = field(init=False)
    likes: np.ndarray = field(init=False)
    recent: np.ndarray = field(init=False)
    known: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        ds, log = self.ds, self.log
        if len(log) and log.time.max() >= self.now:
            raise ValueError("a State may only see the past")
        n = ds.n_items
        self.impressions = np.bincount(log.item, minlength=n).astype(np.float64)
        self.completions = np.bincount(log.item, weights=log.positive, minlength=n)
        self.likes = np.bincount(log.item, weights=log.liked, minlength=n)
        window = log.time >= self.now - RECENT_DAYS * DAY
        self.recent = np.bincount(log.item[window], weights=log.positive[window], minlength=n)
        self.known = ds.upload < self.now
        self.seen = csr_matrix(
            (np.ones(len(log)), (log.user, log.item)), shape=(ds.n_users, n), dtype=np.float32
        ).tocsr()
        self._profiles()
        self._coengagement()

    def _profiles(self) -> None:
        """Mean label per (user, tag) and per (user, author), follows, and each user's last completions."""
        ds, log = self.ds, self.log
        tag_item = _tag_matrix(ds)
        per_item = csr_matrix((log.label, (log.user, log.item)), shape=(ds.n_users, ds.n_items))
        count = csr_matrix((np.ones(len(log)), (log.user, log.item)), shape=(ds.n_users, ds.n_items))
        self.tag_affinity = _ratio(per_item @ tag_item, count @ tag_item)
        if ds.n_authors:
            author_item = csr_matrix(
                (np.ones(ds.n_items), (np.arange(ds.n_items), ds.author)), shape=(ds.n_items, ds.n_authors)
            )
            self.author_affinity = _ratio(per_item @ author_item, count @ author_item)
            f = log.select(log.followed)
            self.follows = np.zeros((ds.n_users, ds.n_authors), dtype=bool)
            self.follows[f.user, ds.author[f.item]] = True
        else:
            self.author_affinity = np.zeros((ds.n_users, 1))
            self.follows = np.zeros((ds.n_users, 1), dtype=bool)
        self.last_completed: dict[int, list[int]] = {}
        pos = log.select(log.positive)
        for u, i in zip(pos.user.tolist(), pos.item.tolist(), strict=True):
            self.last_completed.setdefault(u, []).append(i)

    def _coengagement(self) -> None:
        """Item-item cosine over who completed what: "people who finished this also finished"."""
        pos = self.log.select(self.log.positive)
        m = csr_matrix((np.ones(len(pos)), (pos.user, pos.item)), shape=(self.ds.n_users, self.ds.n_items))
        m.data[:] = 1.0
        co = (m.T @ m).tocsr()
        co.setdiag(0)
        norm = np.sqrt(np.asarray(m.sum(axis=0)).ravel()) + 1e-9
        self.coengaged = csr_matrix(co.multiply(1 / norm[:, None]).multiply(1 / norm[None, :]))

    def completion_rate(self) -> np.ndarray:
        """Smoothed with the exploration prior Beta(2, 3)."""
        return (self.completions + 2) / (self.impressions + 5)

    def age_hours(self) -> np.ndarray:
        return np.maximum(self.now - self.ds.upload, 0) / 3600


def _tag_matrix(ds: Dataset) -> csr_matrix:
    rows = np.repeat(np.arange(ds.n_items), [len(t) for t in ds.tags])
    cols = np.concatenate([t for t in ds.tags if len(t)]) if rows.size else np.zeros(0, dtype=np.int64)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(ds.n_items, max(ds.n_tags, 1)))


def _ratio(total: csr_matrix, count: csr_matrix) -> np.ndarray:
    t, c = np.asarray(total.todense()), np.asarray(count.todense())
    return np.divide(t, c, out=np.zeros_like(t), where=c > 0)


# --- baselines ---------------------------------------------------------------------------------------------------


def top_k(scores: np.ndarray, exclude: np.ndarray | None, k: int) -> list[int]:
    """The ``k`` best items of one score row; ``exclude`` is a boolean mask (seen or unknown items). Equal scores
    (counts, cold vectors shared by items with the same tags and author) go to the lower item id: a partition or a
    non-stable sort breaks ties however the CPU's SIMD code path does, and the tables differed between machines."""
    s = np.where(exclude, -np.inf, scores) if exclude is not None else scores
    k = min(k, int(np.isfinite(s).sum()))
    return np.argsort(-s, kind="stable")[:k].tolist()


def excluded(state: State, user: int) -> np.ndarray:
    mask = ~state.known.copy()
    mask[state.seen.indices[state.seen.indptr[user] : state.seen.indptr[user + 1]]] = True
    return mask


def rank_by(state: State, users: np.ndarray, score: Callable[[np.ndarray], np.ndarray]) -> list[list[int]]:
    """Rank for each user by ``score(users_chunk) -> (chunk, items)``, dropping seen and unknown items."""
    ranked: list[list[int]] = []
    for start in range(0, len(users), 256):
        chunk = users[start : start + 256]
        scores = score(chunk)
        ranked.extend(top_k(scores[j], excluded(state, int(u)), K_RECALL) for j, u in enumerate(chunk))
    return ranked


def popular(state: State, users: np.ndarray, *, recent: bool) -> list[list[int]]:
    counts = state.recent if recent else state.completions
    # ties (common in small windows) broken by all-time completions, then deterministically by id
    score = counts + 1e-3 * state.completions / (state.completions.max() + 1)
    return rank_by(state, users, lambda chunk: np.broadcast_to(score, (len(chunk), len(score))))


@dataclass(frozen=True)
class AlsParams:
    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 20.0


def implicit_als(log: Log, ds: Dataset, p: AlsParams, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Plain implicit ALS (raw dot products, no normalisation): the strong collaborative baseline."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    keep = log.label > 0
    m = csr_matrix(
        (log.label[keep] * p.alpha, (log.user[keep], log.item[keep])), shape=(ds.n_users, ds.n_items), dtype=np.float32
    )
    m.sum_duplicates()
    with threadpool_limits(1, "blas"):  # as model.als_fit: implicit's threads on top of BLAS threads only contend
        model = AlternatingLeastSquares(
            factors=p.factors, regularization=p.regularization, iterations=p.iterations, random_state=seed
        )
        model.fit(m, show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def reelm_als(log: Log, ds: Dataset, p: AlsParams) -> tuple[np.ndarray, np.ndarray]:
    """``model.als_fit`` (unit vectors, DIM factors) on positive-label impressions, as the product refits."""
    keep = log.label > 0
    return rm.als_fit(
        log.user[keep],
        log.item[keep],
        log.label[keep],
        n_users=ds.n_users,
        n_items=ds.n_items,
        factors=rm.DIM,
        regularization=p.regularization,
        iterations=p.iterations,
        alpha=p.alpha,
    )


def als_ranking(state: State, users: np.ndarray, uf: np.ndarray, itf: np.ndarray) -> list[list[int]]:
    return rank_by(state, users, lambda chunk: uf[chunk] @ itf.T)


def tune_als(
    ds: Dataset,
    val: Split,
    val_state: State,
    grid: dict[str, Sequence[float]],
    fit: Callable[[Log, Dataset, AlsParams], tuple[np.ndarray, np.ndarray]],
    progress: Callable[[], None] = lambda: None,
) -> tuple[AlsParams, list[tuple[AlsParams, float]]]:
    """Grid search on the validation split (fit before its cutoff, score NDCG@10 on its targets)."""
    tried: list[tuple[AlsParams, float]] = []
    for values in itertools.product(*grid.values()):
        p = AlsParams(**dict(zip(grid.keys(), values, strict=True)))
        uf, itf = fit(val.train, ds, p)
        score = float(evaluate(val, als_ranking(val_state, val.users, uf, itf))["ndcg@10"].mean())
        tried.append((p, score))
        progress()
    return max(tried, key=lambda t: t[1])[0], tried


# --- the Reelm pipeline --------------------------------------------------------------------------------------------


@dataclass
class Vectors:
    users: np.ndarray
    items: np.ndarray


def complete_vectors(state: State, users: np.ndarray, items: np.ndarray) -> Vectors:
    """Items nobody engaged with get ``cold_video_vector`` from their tags' and author's known vectors."""
    ds = state.ds
    items = items.copy()
    has = np.linalg.norm(items, axis=1) > 0.5
    tag_mean = rm.normalise(_tag_matrix(ds).T @ np.where(has[:, None], items, 0))
    author_mean = np.zeros((max(ds.n_authors, 1), rm.DIM), dtype=np.float32)
    if ds.n_authors:
        np.add.at(author_mean, ds.author[has], items[has])
        author_mean = rm.normalise(author_mean)
    for i in np.flatnonzero(~has):
        hints = [tag_mean[t] for t in ds.tags[i] if np.linalg.norm(tag_mean[t]) > 0.5]
        if ds.n_authors and np.linalg.norm(author_mean[ds.author[i]]) > 0.5:
            hints.append(author_mean[ds.author[i]])
        items[i] = rm.cold_video_vector(f"video:{i}", hints)
    users = users.copy()
    for u in np.flatnonzero(np.linalg.norm(users, axis=1) < 0.5):
        users[u] = rm.seeded_vector(f"user:{u}")
    return Vectors(users, items)


@dataclass
class Candidates:
    items: np.ndarray
    sources: list[str]


class Pipeline:
    """Candidate sources -> ``features(Item(...))`` -> Ranker, as the For You feed does it."""

    def __init__(
        self,
        state: State,
        vectors: Vectors,
        *,
        per_source: int = 100,
        seed: int = 0,
        recent_feature: bool = False,
        personal_trend: bool = False,
        limits: dict[str, int] | None = None,
    ) -> None:
        self.state, self.vectors, self.per_source = state, vectors, per_source
        n = per_source
        self.limits = {"follow": n // 2, "coengaged": n, "ann": n, "tag": n // 2, "trending": n, "fresh": n // 5}
        #: personalised trending: the trending list's head re-ranked by ``model.similar_recent`` (only when on)
        self.limits["trending-for-you"] = n // 2 if personal_trend else 0
        self.limits.update(limits or {})
        self.recent_feature = recent_feature
        self.personal_trend = personal_trend
        #: weight of log1p(recent completions) added to the Ranker's logit (``model.blend``), chosen on validation
        self.blend = 0.0
        self.rng = np.random.default_rng(seed)
        self.tag_items = _tag_matrix(state.ds).T.tocsr()
        self.refresh()

    def refresh(self) -> None:
        """Re-read the counters (trending list, fresh pool, completion rates): the product does this every few
        minutes; the simulation after every round of sessions."""
        s, n = self.state, self.per_source
        order = s.recent + 1e-3 * s.completions / (s.completions.max() + 1)
        self.trending = np.argsort(-np.where(s.known, order, -np.inf), kind="stable")[: 4 * n]
        self.trending = self.trending[s.known[self.trending]]
        self.fresh = np.flatnonzero(s.known & (s.age_hours() < 48))
        self.rate, self.age = s.completion_rate(), s.age_hours()
        self.trend_rank = np.full(s.ds.n_items, len(self.trending), dtype=np.int64)
        self.trend_rank[self.trending] = np.arange(len(self.trending))
        # Each video's recent-audience vector (``model.recent_audience``, for every video at once): the sum of the
        # vectors of the viewers who completed it in the last 14 days. The simulation adds to it as users complete.
        log = s.log
        window = (log.time >= s.now - RECENT_DAYS * DAY) & log.positive
        users, items = log.user[window], log.item[window]
        self.audience = np.zeros((s.ds.n_items, rm.DIM), dtype=np.float32)
        np.add.at(self.audience, items, self.vectors.users[users])

    def candidates(self, user: int, user_vec: np.ndarray, block: np.ndarray | None = None) -> Candidates:
        s, lim = self.state, self.limits
        block = excluded(s, user) if block is None else block | ~s.known
        found: dict[int, str] = {}

        def add(items: np.ndarray | list[int], source: str, limit: int) -> None:
            taken = 0
            for i in items:
                i = int(i)
                if taken >= limit:
                    break
                if not block[i]:
                    found.setdefault(i, source)
                    taken += 1

        if s.ds.n_authors and s.follows[user].any():
            mine = np.flatnonzero(s.follows[user][s.ds.author] & s.known)
            add(mine[np.argsort(self.age[mine], kind="stable")], "follow", lim["follow"])
        recent = s.last_completed.get(user, [])[-10:]
        if recent:
            co = np.asarray(s.coengaged[recent].sum(axis=0)).ravel()
            add(top_k(co, block | (co <= 0), lim["coengaged"]), "coengaged", lim["coengaged"])
        if user_vec.any():  # as the product: no nearest neighbours before the viewer has a vector
            add(top_k(self.vectors.items @ user_vec, block, lim["ann"]), "ann", lim["ann"])
        tags = np.argsort(-s.tag_affinity[user], kind="stable")[:3]
        if s.tag_affinity[user, tags].max() > 0:
            tagged = np.unique(self.tag_items[tags].indices)
            add(
                tagged[np.argsort(-(s.recent[tagged] + 1e-3 * s.completions[tagged]), kind="stable")], "tag", lim["tag"]
            )
        if lim["trending-for-you"]:
            mine = np.maximum(self.audience[self.trending] @ user_vec, 0)
            add(self.trending[np.argsort(-mine, kind="stable")], "trending-for-you", lim["trending-for-you"])
        add(self.trending, "trending", lim["trending"])
        if len(self.fresh):
            draw = rm.thompson_sample(s.completions[self.fresh], s.impressions[self.fresh], self.rng)
            add(self.fresh[np.argsort(-draw, kind="stable")], "fresh", lim["fresh"])
        items = np.array(list(found), dtype=np.int64)
        return Candidates(items, [found[i] for i in items.tolist()])

    def rows(self, user: int, user_vec: np.ndarray, cands: Candidates) -> list[list[tuple[str, float]]]:
        s, ds = self.state, self.state.ds
        cos = self.vectors.items[cands.items] @ user_vec
        tag_aff = s.tag_affinity[user]
        rows = []
        for j, (i, source) in enumerate(zip(cands.items.tolist(), cands.sources, strict=True)):
            author = int(ds.author[i])
            item = rm.Item(
                source=source,
                cosine=float(cos[j]),
                completion_rate=float(self.rate[i]),
                impressions=int(s.impressions[i]),
                likes=int(s.likes[i]),
                age_hours=float(self.age[i]),
                author_affinity=float(s.author_affinity[user, author]) if author >= 0 else 0.0,
                tag_affinity=float(max((tag_aff[t] for t in ds.tags[i]), default=0.0)),
                follows_author=bool(s.follows[user, author]) if author >= 0 else False,
                # Left at their defaults, the recent-popularity features are constant: the ablation without them.
                recent_completions=int(s.recent[i]) if self.recent_feature else 0,
                trending_rank=self._trend_rank(i) if self.recent_feature else None,
                similar_recent=rm.similar_recent(user_vec, self.audience[i]) if self.personal_trend else 0.0,
            )
            rows.append(rm.features(item))
        return rows

    def similar(self, user_vec: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``model.similar_recent`` of each item for this viewer, for all at once (the same floored dot product; zeros
        when personalised trending is off)."""
        if not self.personal_trend:
            return np.zeros(len(items))
        return np.maximum(self.audience[items] @ user_vec, 0.0).astype(np.float64)

    def _trend_rank(self, item: int) -> int | None:
        rank = int(self.trend_rank[item])
        return rank if rank < len(self.trending) else None

    def rank(
        self,
        ranker: rm.Ranker,
        user: int,
        user_vec: np.ndarray | None = None,
        k: int = K_RECALL,
        weights: Sequence[float] | None = None,
    ) -> list[int] | list[list[int]]:
        """The top ``k`` by ``model.blend(ranker score, recent completions, self.blend, similar_recent)``; with
        ``weights``, one list per blend weight (the candidates and Ranker scores computed once)."""
        vec = self.vectors.users[user] if user_vec is None else user_vec
        cands = self.candidates(user, vec)
        scores = ranker.predict(self.rows(user, vec, cands))
        recent, similar = self.state.recent[cands.items], self.similar(vec, cands.items)
        out = [
            cands.items[np.argsort(-rm.blend(scores, recent, w, similar), kind="stable")][:k].tolist()
            for w in (weights if weights is not None else [self.blend])
        ]
        return out if weights is not None else out[0]


def difference(better: list[tuple[str, float]], worse: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """``better - worse`` as one feature row: logistic loss on it is the pairwise (RankNet) loss, so the plain FTRL
    Ranker learns the within-request order; shared features (bias, the user's own profile) cancel out."""
    d: dict[str, float] = {}
    for name, x in better:
        d[name] = d.get(name, 0.0) + x
    for name, x in worse:
        d[name] = d.get(name, 0.0) - x
    return [(name, x) for name, x in d.items() if x != 0.0]


def train_ranker(
    pipe: Pipeline,
    split: Split,
    future: Log,
    *,
    negatives: int = 60,
    seed: int = 0,
    epochs: int = 2,
    ranker: rm.Ranker | None = None,
    pairwise: bool = False,
) -> rm.Ranker:
    """Examples: each validation user's candidates (built before the validation cutoff), labelled with the best
    engagement label the user gave that item in the validation window, 0 if never shown: the ranker learns to
    predict the future from the past, exactly its job at serving time. ``pairwise`` trains on (better - worse)
    differences of the same user's candidates instead of pooled single items."""
    rng = np.random.default_rng(seed)
    best: dict[tuple[int, int], float] = {}
    for u, i, y in zip(future.user.tolist(), future.item.tolist(), future.label.tolist(), strict=True):
        best[(u, i)] = max(best.get((u, i), 0.0), y)
    rows: list[list[tuple[str, float]]] = []
    labels: list[float] = []
    for u in split.users.tolist():
        cands = pipe.candidates(u, pipe.vectors.users[u])
        y = np.array([best.get((u, i), 0.0) for i in cands.items.tolist()])
        shown = np.array([(u, i) in best for i in cands.items.tolist()])
        unshown = np.flatnonzero(~shown)
        keep = np.concatenate([np.flatnonzero(shown), rng.permutation(unshown)[:negatives]])
        user_rows = pipe.rows(u, pipe.vectors.users[u], Candidates(cands.items[keep], [cands.sources[k] for k in keep]))
        if pairwise:
            _pairs(user_rows, y[keep], rng, rows, labels)
        else:
            rows.extend(user_rows)
            labels.extend(y[keep].tolist())
    ranker = ranker or rm.Ranker()
    for _ in range(epochs):
        order = rng.permutation(len(rows))
        ranker.learn([rows[k] for k in order], [labels[k] for k in order])
    return ranker


def _pairs(rows: list, y: np.ndarray, rng: np.random.Generator, out: list, labels: list, per: int = 10) -> None:
    """Each engaged item against ``per`` items the user engaged with less, in both orders (so no side is favoured)."""
    for a in np.flatnonzero(y > 0):
        lower = np.flatnonzero(y < y[a] - 0.1)
        for b in rng.permutation(lower)[:per]:
            out.append(difference(rows[a], rows[b]))
            labels.append(1.0)
            out.append(difference(rows[b], rows[a]))
            labels.append(0.0)
