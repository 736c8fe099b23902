"""One offline experiment on one data set: split, tune, fit, rank, score; plus the real-time replay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reelm.recommend import ranker as rm

from .data import Dataset, Log
from .metrics import Interval, bootstrap, paired_bootstrap
from .offline import (
    AlsParams,
    Pipeline,
    Split,
    State,
    Vectors,
    als_ranking,
    complete_vectors,
    evaluate,
    implicit_als,
    popular,
    rank_by,
    reelm_als,
    temporal_split,
    train_ranker,
    tune_als,
)
from .realtime import ReplayResult, replay

BASELINES = ("most-popular", "recent-popular", "ALS (tuned)")
REELM = "Reelm"
NARROW = {"ann": 10, "coengaged": 20, "tag": 10, "fresh": 5, "trending": 60}
#: Ranker set-ups compared on held-out validation users; the best becomes "Reelm". "without recent" leaves the
#: recent-popularity features of ``features()`` constant (the ablation); "narrow" takes fewer candidates from the
#: personal sources.
VARIANTS: dict[str, dict] = {
    "features() without recent": {},
    "features()": {"recent_feature": True},
    "features() without recent, narrow": {"limits": NARROW},
    "features(), narrow": {"recent_feature": True, "limits": NARROW},
    "features() + personalised trending": {"recent_feature": True, "personal_trend": True},
}
#: Set-ups the product does not run: shown on the test period (at the blend weight validation chose for them) but
#: never called "Reelm". Personalised trending (``model.similar_recent``, a "trending-for-you" source) is one: it
#: needs a per-video recent-audience vector the product does not keep (docs/recommendations.md).
EXPERIMENTAL = ("features() + personalised trending",)


@dataclass
class Offline:
    dataset: str
    split: Split
    scores: dict[str, dict[str, np.ndarray]]
    als: AlsParams
    reelm_als: AlsParams
    als_tried: list[tuple[AlsParams, float]]
    reelm_tried: list[tuple[AlsParams, float]]
    state: State
    vectors: Vectors
    pipeline: Pipeline
    ranker: rm.Ranker
    variant: str = ""
    blend: float = 0.0
    variant_val: dict[str, float] = field(default_factory=dict)
    replay: ReplayResult | None = None
    draws: int = 1000
    notes: list[str] = field(default_factory=list)
    #: the validation split and the Reelm vectors fitted before it (what the real-time grid replays)
    val: Split | None = None
    val_vectors: Vectors | None = None

    def strongest_baseline(self, metric: str = "ndcg@10") -> str:
        return max(BASELINES, key=lambda b: float(self.scores[b][metric].mean()))

    def interval(self, model: str, metric: str) -> Interval:
        return bootstrap(self.scores[model][metric], draws=self.draws)

    def difference(self, metric: str, versus: str | None = None) -> Interval:
        other = versus or self.strongest_baseline(metric)
        return paired_bootstrap(self.scores[REELM][metric], self.scores[other][metric], draws=self.draws)


def run_offline(
    ds: Dataset,
    *,
    cutoff: float,
    val_cutoff: float,
    end: float = np.inf,
    als_grid: dict[str, list[float]],
    reelm_grid: dict[str, list[float]],
    max_users: int | None = None,
    draws: int = 1000,
    variants: tuple[str, ...] = tuple(VARIANTS),
    step: Callable[[str], None] = lambda _: None,
    seed: int = 0,
) -> Offline:
    """Tune on ``[.., val_cutoff) -> [val_cutoff, cutoff)``, then fit on ``[.., cutoff)``, test on
    ``[cutoff, end)``."""
    log = ds.log
    test = sampled_split(ds, cutoff, end, max_users, seed)
    val = temporal_split(ds, log.select(log.time < cutoff), val_cutoff, cutoff)
    step("state")
    val_state, state = State(ds, val.train, val_cutoff), State(ds, test.train, cutoff)
    ranked: dict[str, list[list[int]]] = {
        "most-popular": popular(state, test.users, recent=False),
        "recent-popular": popular(state, test.users, recent=True),
    }
    best_als, als_tried = tune_als(ds, val, val_state, als_grid, implicit_als, lambda: step("tune ALS"))
    ranked["ALS (tuned)"] = als_ranking(state, test.users, *implicit_als(test.train, ds, best_als))
    best_reelm, reelm_tried = tune_als(ds, val, val_state, reelm_grid, reelm_als, lambda: step("tune Reelm ALS"))
    step("train ranker")
    val_vectors = complete_vectors(val_state, *reelm_als(val.train, ds, best_reelm))
    future = log.select((log.time >= val_cutoff) & (log.time < cutoff))
    eligible = tuple(v for v in variants if v not in EXPERIMENTAL) or variants
    chosen, blend, variant_val, weights = choose_variant(val, val_state, val_vectors, future, variants, seed, eligible)
    step("rank")
    vectors = complete_vectors(state, *reelm_als(test.train, ds, best_reelm))
    rankers: dict[str, rm.Ranker] = {}
    pipes: dict[str, Pipeline] = {}
    for name in variants:
        kw = VARIANTS[name]
        rankers[name] = train_ranker(Pipeline(val_state, val_vectors, seed=seed, **kw), val, future, seed=seed)
        pipes[name] = Pipeline(state, vectors, seed=seed, **kw)
        pipes[name].blend = blend if name == chosen else weights[name] if name in EXPERIMENTAL else 0.0
        if name == chosen:  # and, with the same candidates, what the blend buys: its Ranker's order alone
            both = [pipes[name].rank(rankers[name], int(u), weights=[blend, 0.0]) for u in test.users]
            ranked[REELM] = [b[0] for b in both]
            if blend:
                ranked["Reelm without the blend (w = 0)"] = [b[1] for b in both]
        elif name in EXPERIMENTAL:
            row = f"not in the product: {name} (w = {weights[name]:g})"
            ranked[row] = [pipes[name].rank(rankers[name], int(u)) for u in test.users]
        else:
            ranked[f"Reelm variant: {name}"] = [pipes[name].rank(rankers[name], int(u)) for u in test.users]
    pipe, ranker = pipes[chosen], rankers[chosen]
    ranked["cosine only (Reelm vectors)"] = als_ranking(state, test.users, vectors.users, vectors.items)
    if ds.truth is not None:
        truth = ds.truth
        items = np.arange(ds.n_items)
        ranked["oracle (true affinity)"] = rank_by(
            state, test.users, lambda chunk: truth.affinity(chunk, items, cutoff, ds.upload)
        )
    scores = {name: evaluate(test, r) for name, r in ranked.items()}
    return Offline(
        ds.name,
        test,
        scores,
        best_als,
        best_reelm,
        als_tried,
        reelm_tried,
        state,
        vectors,
        pipe,
        ranker,
        variant=chosen,
        blend=blend,
        variant_val=variant_val,
        draws=draws,
        val=val,
        val_vectors=val_vectors,
    )


def sampled_split(ds: Dataset, cutoff: float, end: float, max_users: int | None, seed: int) -> Split:
    """The test split; a seeded sample of at most ``max_users`` test users keeps big runs inside the budget."""
    test = temporal_split(ds, ds.log, cutoff, end)
    if max_users is not None and len(test.users) > max_users:
        keep = np.sort(np.random.default_rng(seed).choice(len(test.users), max_users, replace=False))
        test = Split(test.cutoff, test.end, test.train, test.users[keep], [test.targets[k] for k in keep])
    return test


@dataclass
class Realtime:
    """What the real-time replay needs, and nothing else: the test split, the Reelm ALS vectors fitted before it
    (ALS tuned on the validation split exactly as :func:`run_offline` does), and the validation split with the
    vectors fitted before it."""

    dataset: str
    split: Split
    vectors: Vectors
    reelm_als: AlsParams
    val: Split
    val_vectors: Vectors


def run_realtime(
    ds: Dataset,
    *,
    cutoff: float,
    val_cutoff: float,
    end: float = np.inf,
    reelm_grid: dict[str, list[float]],
    max_users: int | None = None,
    seed: int = 0,
    step: Callable[[str], None] = lambda _: None,
) -> Realtime:
    """The vectors :func:`run_offline` replays, without the baselines, Rankers and set-up choice (``--only-realtime``):
    the same test sample, the same ALS grid on the same validation split, so the replay gives the same numbers."""
    log = ds.log
    test = sampled_split(ds, cutoff, end, max_users, seed)
    val = temporal_split(ds, log.select(log.time < cutoff), val_cutoff, cutoff)
    step("state")
    val_state, state = State(ds, val.train, val_cutoff), State(ds, test.train, cutoff)
    best, _ = tune_als(ds, val, val_state, reelm_grid, reelm_als, lambda: step("tune Reelm ALS"))
    val_vectors = complete_vectors(val_state, *reelm_als(val.train, ds, best))
    vectors = complete_vectors(state, *reelm_als(test.train, ds, best))
    return Realtime(ds.name, test, vectors, best, val, val_vectors)


#: Blend weights tried on validation: final score = Ranker logit + w * log1p(recent completions) (``model.blend``).
BLEND_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


def choose_variant(
    val: Split,
    val_state: State,
    val_vectors: Vectors,
    future: Log,
    variants: tuple[str, ...],
    seed: int,
    eligible: tuple[str, ...] | None = None,
) -> tuple[str, float, dict[str, float], dict[str, float]]:
    """Train each Ranker set-up on one half of the validation users and score NDCG@10 on the other half, both ways
    round (2-fold, never the test period), for every blend weight; keep the best (set-up, weight) among
    ``eligible`` (default: all). Returns the set-up, the weight, each set-up's score at its best weight and that
    weight."""
    order = np.random.default_rng(seed).permutation(len(val.users))
    halves = (np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :]))
    scores: dict[tuple[str, float], float] = {}
    for name in variants:
        pipe = Pipeline(val_state, val_vectors, seed=seed, **VARIANTS[name])
        per_weight: list[list[np.ndarray]] = [[] for _ in BLEND_WEIGHTS]
        for fit, held in (halves, halves[::-1]):
            fit_split = Split(val.cutoff, val.end, val.train, val.users[fit], [val.targets[k] for k in fit])
            held_split = Split(val.cutoff, val.end, val.train, val.users[held], [val.targets[k] for k in held])
            ranker = train_ranker(pipe, fit_split, future, seed=seed)
            ranked = [pipe.rank(ranker, int(u), weights=BLEND_WEIGHTS) for u in held_split.users]
            for w in range(len(BLEND_WEIGHTS)):
                per_weight[w].append(evaluate(held_split, [r[w] for r in ranked])["ndcg@10"])
        for w, weight in enumerate(BLEND_WEIGHTS):
            scores[(name, weight)] = float(np.concatenate(per_weight[w]).mean())
    allowed = set(eligible or variants)
    name, weight = max((k for k in scores if k[0] in allowed), key=lambda k: (scores[k], -k[1]))
    best = {n: max(v for (m, _), v in scores.items() if m == n) for n in variants}
    best_weight = {n: max((k for k in scores if k[0] == n), key=lambda k: (scores[k], -k[1]))[1] for n in variants}
    return name, weight, best, best_weight


def run_replay(
    ds: Dataset,
    off: Offline | Realtime,
    *,
    end: float = np.inf,
    rate: float | None = None,
    baseline: float | None = None,
    validation: bool = False,
) -> ReplayResult:
    """Next-event vs frozen-for-a-day replay of the test period for the offline experiment's test users (with
    ``validation``: of the validation period for its users, from the vectors fitted before it — where update
    constants may be chosen). ``rate``/``baseline`` default to ranker.py's ``USER_RATE``/``LABEL_BASELINE``."""
    split, vectors = (off.val, off.val_vectors) if validation else (off.split, off.vectors)
    assert split is not None and vectors is not None
    log = ds.log
    test = log.select((log.time >= split.cutoff) & (log.time < min(end, split.end)))
    seen: dict[int, set[int]] = {}
    for u, i in zip(split.train.user.tolist(), split.train.item.tolist(), strict=True):
        seen.setdefault(u, set()).add(i)
    return replay(ds, test, split.users, vectors.users, vectors.items, seen, rate=rate, baseline=baseline)


#: Update constants the real-time grid replays on the validation period (``--realtime-grid``).
GRID_RATES = (0.3, 0.6, 1.0)
GRID_BASELINES = (0.1, 0.15, 0.2, 0.25, 0.35)


def replay_grid(
    ds: Dataset,
    off: Offline | Realtime,
    rates: tuple[float, ...] = GRID_RATES,
    baselines: tuple[float, ...] = GRID_BASELINES,
    step: Callable[[], None] = lambda: None,
) -> dict[tuple[float, float], ReplayResult]:
    """The validation-period replay for every (rate, baseline): how a proposed change to ranker.py's update constants
    is chosen without looking at the test period."""
    out: dict[tuple[float, float], ReplayResult] = {}
    for rate in rates:
        for baseline in baselines:
            out[(rate, baseline)] = run_replay(ds, off, rate=rate, baseline=baseline, validation=True)
            step()
    return out
