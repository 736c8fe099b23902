"""What real-time user updates are worth: replay the test period event by event.

Both variants start from the same ALS vectors fitted before the split and apply the same ``user_update`` to the
same events; they differ only in *when*: "next-event" applies each event before the next is predicted, "frozen"
applies a day's events only when the next (simulated) day starts. Before each completion we ask for the user's
top 10 by cosine over the catalogue of that moment (items uploaded by then, minus what the user was already shown):
the retrieval stage the user vector drives. Hit rate@10 = share of completions found there. The rank of the
completed item under each variant is kept too: with few hits (the synthetic population) it shows which way the
updates move the user when the hit counts cannot.

The update is ``model.user_update`` with model.py's constants unless a proposed change is measured: ``rate`` is
passed through, and a different ``baseline`` (the label the step is centred on, ``LABEL_BASELINE`` in model.py) is
applied exactly by shifting the label by the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reelm.recommend import ranker as rm

from .data import DAY, Dataset, Log
from .metrics import Interval

VARIANTS = ("next-event", "frozen")


@dataclass
class ReplayResult:
    hits: dict[str, np.ndarray]  # per user: hits
    trials: np.ndarray  # per user: completions predicted
    ranks: dict[str, np.ndarray] = field(default_factory=dict)  # per completion predicted: its rank (0 = first)

    def rate(self, name: str) -> float:
        return float(self.hits[name].sum() / max(self.trials.sum(), 1))

    def ratio(self, *, draws: int = 1000, seed: int = 0) -> Interval:
        """Next-event / frozen hit rate, with a bootstrap CI over users (both variants on the same resample)."""
        rng = np.random.default_rng(seed)
        a, b = self.hits["next-event"], self.hits["frozen"]
        idx = rng.integers(0, len(a), (draws, len(a)))
        ratios = a[idx].sum(1) / np.maximum(b[idx].sum(1), 1e-9)
        return Interval(float(a.sum() / max(b.sum(), 1e-9)), *np.percentile(ratios, [2.5, 97.5]).tolist())

    def median_rank(self, name: str) -> float:
        return float(np.median(self.ranks[name])) if len(self.ranks.get(name, ())) else float("nan")

    def log_rank_gain(self) -> float:
        """Mean of ``log1p(frozen rank) − log1p(next-event rank)`` over the completions: > 0 when updating ranks the
        next completion higher (a fine-grained companion of the hit rate, not a target)."""
        a, b = self.ranks.get("next-event", np.zeros(0)), self.ranks.get("frozen", np.zeros(0))
        return float(np.mean(np.log1p(b) - np.log1p(a))) if len(a) else float("nan")


def replay(
    ds: Dataset,
    test: Log,
    users: np.ndarray,
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    seen: dict[int, set[int]],
    *,
    rate: float | None = None,
    baseline: float | None = None,
    offset: float = 0.0,
    k: int = 10,
) -> ReplayResult:
    """Replay ``test`` (sorted by time) for ``users``; ``seen`` holds what each user was shown before it.
    ``rate``/``baseline`` default to model.py's ``USER_RATE``/``LABEL_BASELINE``."""
    index = {int(u): j for j, u in enumerate(users)}
    hits = {name: np.zeros(len(users)) for name in VARIANTS}
    ranks: dict[str, list[int]] = {name: [] for name in VARIANTS}
    trials = np.zeros(len(users))
    live = {u: user_vecs[u].copy() for u in index}
    frozen = {u: user_vecs[u].copy() for u in index}
    pending: dict[int, list[tuple[int, float]]] = {u: [] for u in index}
    day_of: dict[int, int] = {}
    blocked = {u: np.zeros(ds.n_items, dtype=bool) for u in index}
    for u in index:
        blocked[u][list(seen.get(u, ()))] = True
    step = {"rate": rate, "baseline": baseline, "offset": offset}
    for u, i, t, y, pos in zip(
        test.user.tolist(),
        test.item.tolist(),
        test.time.tolist(),
        test.label.tolist(),
        test.positive.tolist(),
        strict=True,
    ):
        if u not in index:
            continue
        day = int(t // DAY)
        if day_of.get(u, day) != day:  # a new day: the frozen model catches up on yesterday's events
            for item, label in pending[u]:
                frozen[u] = update(frozen[u], item_vecs[item], label, **step)
            pending[u] = []
        day_of[u] = day
        if pos and not blocked[u][i]:
            mask = blocked[u] | (ds.upload > t)
            j = index[u]
            trials[j] += 1
            for name, vec in (("next-event", live[u]), ("frozen", frozen[u])):
                scores = np.where(mask, -np.inf, item_vecs @ vec)
                above = int((scores > scores[i]).sum())
                # In the top k when fewer than k items score higher, counting equal ones with a lower id (as
                # offline.top_k breaks ties): items with the same tags and author share a cold vector.
                hits[name][j] += float(above + int((scores[:i] == scores[i]).sum()) < k)
                ranks[name].append(above)
        blocked[u][i] = True
        live[u] = update(live[u], item_vecs[i], y, **step)
        pending[u].append((i, y))
    return ReplayResult(hits, trials, {name: np.array(r, dtype=np.int64) for name, r in ranks.items()})


def update(
    user: np.ndarray,
    video: np.ndarray,
    label: float,
    *,
    rate: float | None = None,
    baseline: float | None = None,
    offset: float = 0.0,
) -> np.ndarray:
    """``model.user_update``; ``rate``/``baseline`` default to model.py's. ``baseline`` measures a different
    ``LABEL_BASELINE`` (a proposed change to model.py): the step ``rate · (label − LABEL_BASELINE)`` taken with
    ``label + LABEL_BASELINE − baseline`` is exactly ``rate · (label − baseline)``. ``offset`` makes the update behave
    as if the affinity were ``sigmoid(SCALE·cos − offset)`` (an earlier proposal), the same way."""
    if offset:
        cos = float(user @ video)
        label = label - float(rm.sigmoid(rm.SCALE * cos)) + float(rm.sigmoid(rm.SCALE * cos - offset))
    if baseline is not None:
        label = label + rm.LABEL_BASELINE - baseline
    return rm.user_update(user, video, label, rate=rm.USER_RATE if rate is None else rate)


def update_many(
    user: np.ndarray,
    videos: np.ndarray,
    labels: Sequence[float],
    *,
    rate: float | None = None,
    baseline: float | None = None,
) -> np.ndarray:
    """``model.user_update_many`` (what the simulation's feed runs after a page), with the same optional proposal."""
    shift = 0.0 if baseline is None else rm.LABEL_BASELINE - baseline
    return rm.user_update_many(user, videos, [y + shift for y in labels], rate=rm.USER_RATE if rate is None else rate)
