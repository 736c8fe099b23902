"""What real-time user updates are worth: replay the test period event by event.

Both variants start from the same ALS vectors fitted before the split and apply the same ``user_update`` to the
same events; they differ only in *when*: "next-event" applies each event before the next is predicted, "frozen"
applies a day's events only when the next (simulated) day starts. Before each completion we ask for the user's
top 10 by cosine over the catalogue of that moment (items uploaded by then, minus what the user was already shown):
the retrieval stage the user vector drives. Hit rate@10 = share of completions found there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelm.recommend import model as rm

from .data import DAY, Dataset, Log
from .metrics import Interval


@dataclass
class ReplayResult:
    hits: dict[str, np.ndarray]  # per user: hits
    trials: np.ndarray  # per user: completions predicted

    def rate(self, name: str) -> float:
        return float(self.hits[name].sum() / max(self.trials.sum(), 1))

    def ratio(self, *, draws: int = 1000, seed: int = 0) -> Interval:
        """Next-event / frozen hit rate, with a bootstrap CI over users (both variants on the same resample)."""
        rng = np.random.default_rng(seed)
        a, b = self.hits["next-event"], self.hits["frozen"]
        idx = rng.integers(0, len(a), (draws, len(a)))
        ratios = a[idx].sum(1) / np.maximum(b[idx].sum(1), 1e-9)
        return Interval(float(a.sum() / max(b.sum(), 1e-9)), *np.percentile(ratios, [2.5, 97.5]).tolist())


def replay(
    ds: Dataset,
    test: Log,
    users: np.ndarray,
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    seen: dict[int, set[int]],
    *,
    rate: float = rm.USER_RATE,
    offset: float = 0.0,
    k: int = 10,
) -> ReplayResult:
    """Replay ``test`` (sorted by time) for ``users``; ``seen`` holds what each user was shown before it."""
    index = {int(u): j for j, u in enumerate(users)}
    hits = {"next-event": np.zeros(len(users)), "frozen": np.zeros(len(users))}
    trials = np.zeros(len(users))
    live = {u: user_vecs[u].copy() for u in index}
    frozen = {u: user_vecs[u].copy() for u in index}
    pending: dict[int, list[tuple[int, float]]] = {u: [] for u in index}
    day_of: dict[int, int] = {}
    blocked = {u: np.zeros(ds.n_items, dtype=bool) for u in index}
    for u in index:
        blocked[u][list(seen.get(u, ()))] = True
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
                frozen[u] = update(frozen[u], item_vecs[item], label, rate=rate, offset=offset)
            pending[u] = []
        day_of[u] = day
        if pos and not blocked[u][i]:
            mask = blocked[u] | (ds.upload > t)
            j = index[u]
            trials[j] += 1
            for name, vec in (("next-event", live[u]), ("frozen", frozen[u])):
                scores = np.where(mask, -np.inf, item_vecs @ vec)
                top = np.argpartition(-scores, k)[:k]
                hits[name][j] += float(i in top)
        blocked[u][i] = True
        live[u] = update(live[u], item_vecs[i], y, rate=rate, offset=offset)
        pending[u].append((i, y))
    return ReplayResult(hits, trials)


def update(user: np.ndarray, video: np.ndarray, label: float, *, rate: float, offset: float = 0.0) -> np.ndarray:
    """``user_update``, optionally as if the affinity were ``sigmoid(SCALE·cos − offset)`` (a proposed change to
    model.py): shifting the label by the difference of the two predictions gives exactly that gradient step."""
    if offset:
        cos = float(user @ video)
        label = label - float(rm.sigmoid(rm.SCALE * cos)) + float(rm.sigmoid(rm.SCALE * cos - offset))
    return rm.user_update(user, video, label, rate=rate)
