"""Online simulation on the synthetic population: simulated users swipe through a For You feed for a few sessions.

Four feeds serve the same users, from the same starting state, with the same random draws per user:

- **Reelm**: candidate sources -> Ranker -> author diversity, plus an exploration budget of fresh uploads picked by
  ``thompson_sample``; after every page of swipes the user's vector moves (``user_update_many``), the Ranker learns
  from the page, and the counters/profiles the features read are updated.
- **Reelm, frozen**: the same, but user vectors and the Ranker do not learn during the simulation (counters and tag
  profiles still update): what real-time model updates are worth.
- **Reelm, no exploration**: the same as Reelm without the fresh-upload slots (what the exploration budget costs).
- **recent-popular**: the most-completed videos of the last 14 days the user has not seen (updated as users swipe).

Watch behaviour is drawn from the simulator's true affinity (:func:`.data.simulate_watch`). "New" users are
existing simulated users whose history is wiped (no vector, no profile; their first update starts from ``start``): their
tastes are known, the feed's are not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reelm.recommend import ranker as rm

from .data import DAY, Dataset, simulate_watch
from .offline import Candidates, Pipeline, State
from .realtime import update_many

PAGE = 10
EXPLORE_SLOTS = 2  # of every page: the Thompson-sampling budget for fresh uploads
NEW_CREATOR_DAYS = 7
#: A new user's feed "matches their tastes" from the first page on which new users' pages reach, on average, this
#: share of what the same feed gives returning users (both as a share of the oracle page: see ``SimResult``).
MATCH = 0.9
#: Where the first update of a new account's vector starts from (as ``services.learn`` does; before it, the account
#: has no vector and its first page no nearest neighbours): "none" (the zero vector: the first swipes alone set the
#: direction), "popular" (the mean of the STARTING_POPULAR most recently popular videos' vectors) or "random" (a
#: seeded random direction).
STARTS = ("none", "popular", "random")
STARTING_POPULAR = 50
#: "Reelm, frozen" is the same feed without online model updates during the simulation (user vectors, Ranker): the
#: simulation's measure of what real-time updates are worth.
FEEDS = ("Reelm", "Reelm, frozen", "Reelm, no exploration", "recent-popular")


@dataclass
class SimResult:
    watch_hours: dict[str, np.ndarray]  # per user
    new_creator_share: dict[str, float]
    pages: int
    new_user_curve: dict[str, np.ndarray]  # per page: mean over new users of (page's true affinity / oracle page's)
    returning_curve: dict[str, np.ndarray]  # the same, over returning users
    new_users: int  # the last ``new_users`` entries of each ``watch_hours`` are the new users'
    start: str  # where new accounts' vectors started (:data:`STARTS`)

    def new_user_hours(self, feed: str) -> np.ndarray:
        return self.watch_hours[feed][-self.new_users :]

    def swipes_to_match(self, feed: str) -> float:
        """Swipes before the page on which new users first get, on average, ``MATCH`` of what this feed gives
        returning users (their mean over all pages); inf when they never do."""
        target = MATCH * float(self.returning_curve[feed].mean())
        reached = np.flatnonzero(self.new_user_curve[feed] >= target)
        return float(reached[0] * PAGE) if len(reached) else np.inf


class _Feeds:
    def __init__(
        self,
        ds: Dataset,
        state: State,
        pipe: Pipeline,
        ranker: rm.Ranker,
        users: np.ndarray,
        update: dict[str, float | None] | None = None,
        origins: dict[int, np.ndarray] | None = None,
    ) -> None:
        self.ds, self.state, self.pipe, self.ranker = ds, state, pipe, ranker
        self.origins = origins or {}  # where a user with no vector yet is updated from
        self.update = update or {}  # ``rate``/``baseline`` of the user update: model.py's unless a proposal is measured
        self.vec = {int(u): pipe.vectors.users[u].copy() for u in users}
        self.block = {int(u): _blocked(state, int(u)) for u in users}
        self.tag_sum = {int(u): np.zeros(ds.n_tags) for u in users}
        self.tag_n = {int(u): np.zeros(ds.n_tags) for u in users}

    def reelm_page(self, user: int, explore: int = EXPLORE_SLOTS) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Ranked candidates, at most one video per author in a page, and the last slots for fresh uploads."""
        cands = self.pipe.candidates(user, self.vec[user], block=self.block[user])
        rows = self.pipe.rows(user, self.vec[user], cands)
        similar = self.pipe.similar(self.vec[user], cands.items)
        scores = rm.blend(self.ranker.predict(rows), self.state.recent[cands.items], self.pipe.blend, similar)
        order = np.argsort(-scores, kind="stable")
        fresh = [j for j in order if cands.sources[j] == "fresh"]
        picked: list[int] = []
        authors: set[int] = set()
        for j in fresh[:explore] + [j for j in order if cands.sources[j] != "fresh"]:
            author = int(self.ds.author[cands.items[j]])
            if author in authors and len(picked) < PAGE:
                continue
            picked.append(int(j))
            authors.add(author)
            if len(picked) == PAGE:
                break
        return cands.items[picked], [rows[j] for j in picked]

    def popular_page(self, user: int) -> np.ndarray:
        s = self.state
        score = np.where(self.block[user] | ~s.known, -np.inf, s.recent + 1e-3 * s.completions)
        return np.argsort(-score, kind="stable")[:PAGE]

    def record(self, user: int, items: np.ndarray, labels: list[float], completed: np.ndarray, learn: bool) -> None:
        """What the platform does after a page: counters, profiles, and (Reelm only) vector and Ranker updates."""
        s = self.state
        self.block[user][items] = True
        np.add.at(s.impressions, items, 1)
        np.add.at(s.completions, items, completed)
        np.add.at(s.recent, items, completed)
        # each completion adds the viewer's vector to the video's recent-audience vector (personalised trending)
        done = items[np.asarray(completed, dtype=bool)]
        np.add.at(self.pipe.audience, done, np.broadcast_to(self.vec[user], (len(done), rm.DIM)))
        for i, y in zip(items.tolist(), labels, strict=True):
            self.tag_sum[user][self.ds.tags[i]] += y
            self.tag_n[user][self.ds.tags[i]] += 1
            if y >= 0.7:
                s.last_completed.setdefault(user, []).append(i)
        s.tag_affinity[user] = np.divide(
            self.tag_sum[user], self.tag_n[user], out=np.zeros(self.ds.n_tags), where=self.tag_n[user] > 0
        )
        if learn:
            vec = self.vec[user] if self.vec[user].any() else self.origins.get(user, self.vec[user])
            self.vec[user] = update_many(vec, self.pipe.vectors.items[items], labels, **self.update)


def _blocked(state: State, user: int) -> np.ndarray:
    mask = np.zeros(state.ds.n_items, dtype=bool)
    mask[state.seen.indices[state.seen.indptr[user] : state.seen.indptr[user + 1]]] = True
    return mask


def simulate(
    ds: Dataset,
    make: Callable[[], tuple[State, Pipeline, rm.Ranker]],
    users: np.ndarray,
    new_users: np.ndarray,
    *,
    sessions: int,
    pages_per_session: int = 2,
    seed: int = 0,
    step: Callable[[], None] = lambda: None,
    rate: float | None = None,
    baseline: float | None = None,
    start: str = "popular",
) -> SimResult:
    """Run both feeds; ``make`` builds a fresh state, pipeline and ranker for each (they mutate them).
    ``rate``/``baseline``: the user update's constants, model.py's unless given (a proposed change, measured);
    ``start``: where new accounts' vectors start (:data:`STARTS`)."""
    assert ds.truth is not None
    watch: dict[str, np.ndarray] = {}
    share: dict[str, float] = {}
    curve: dict[str, np.ndarray] = {}
    returning: dict[str, np.ndarray] = {}
    everyone = np.concatenate([users, new_users])
    for feed in FEEDS:
        state, pipe, ranker = make()
        origins = _origins(state, pipe, start, new_users.tolist())
        for u in new_users.tolist():  # a new account: no history, no profile, no vector
            pipe.vectors.users[u] = np.zeros(rm.DIM, dtype=np.float32)
            state.tag_affinity[u] = 0
            state.author_affinity[u] = 0
            state.follows[u] = False
            state.last_completed.pop(u, None)
            state.seen.data[state.seen.indptr[u] : state.seen.indptr[u + 1]] = 0
        state.seen.eliminate_zeros()
        feeds = _Feeds(ds, state, pipe, ranker, everyone, {"rate": rate, "baseline": baseline}, origins)
        result = _run(ds, feeds, feed, everyone, set(new_users.tolist()), sessions, pages_per_session, seed, step)
        watch[feed], share[feed], curve[feed], returning[feed] = result
    return SimResult(watch, share, sessions * pages_per_session, curve, returning, len(new_users), start)


def _origins(state: State, pipe: Pipeline, start: str, users: list[int]) -> dict[int, np.ndarray]:
    """Where each new account's first update starts from (:data:`STARTS`)."""
    if start == "random":
        return {u: rm.seeded_vector(f"user:new:{u}") for u in users}
    if start == "none":
        shared = np.zeros(rm.DIM, dtype=np.float32)
    else:  # the mean of the most completed videos of the last 14 days, among those already up
        popular = np.argsort(-np.where(state.known, state.recent, -np.inf), kind="stable")[:STARTING_POPULAR]
        shared = rm.normalise(pipe.vectors.items[popular].mean(axis=0))
    return dict.fromkeys(users, shared)  # never changed in place: updates make new vectors


def _run(ds, feeds, feed, users, new, sessions, pages, seed, step):  # type: ignore[no-untyped-def]
    truth, state = ds.truth, feeds.state
    now = state.now
    new_creators = ds.extra["creator_start"] > now - NEW_CREATOR_DAYS * DAY
    hours = np.zeros(len(users))
    ratios = np.zeros((sessions * pages, len(users)))  # each page's true affinity / the oracle page's
    shown_new = shown = 0
    day = int(min((now - truth.start) // DAY, truth.taste.shape[1] - 1))
    for session in range(sessions):
        for j, u in enumerate(users.tolist()):
            rng = np.random.default_rng([seed, u, session])  # the same draws for this user under both feeds
            base = truth.taste[u, day]
            mood = np.zeros_like(base)
            mood[rng.choice(len(base), p=base / base.sum())] = 1.0
            taste = 0.5 * base + 0.5 * mood
            for page in range(pages):
                if feed.startswith("Reelm"):
                    items, rows = feeds.reelm_page(u, 0 if feed == "Reelm, no exploration" else EXPLORE_SLOTS)
                else:
                    items, rows = feeds.popular_page(u), []
                mine = truth.affinity(np.array([u]), items, now, ds.upload)[0].mean()
                ratios[session * pages + page, j] = mine / _oracle_mean(ds, feeds.block[u] | ~state.known, u, now)
                age = np.minimum(np.maximum(now - ds.upload[items], 0) / DAY, 14)
                logit = truth.steepness * taste[truth.topic[items]] + truth.quality[items] + truth.offset
                watched, events = simulate_watch(
                    np.asarray(rm.sigmoid(logit - truth.age_penalty * age)), ds.duration_ms[items], rng
                )
                labels = [rm.engagement_label(e) for e in events]
                completed = np.array([e.completed for e in events], dtype=float)
                hours[j] += watched.sum() / 3.6e6
                shown += len(items)
                shown_new += int(new_creators[ds.author[items]].sum())
                learn = feed != "Reelm, frozen"
                feeds.record(u, items, labels, completed, learn=learn and feed != "recent-popular")
                if rows and learn:
                    feeds.ranker.learn(rows, labels)
        feeds.pipe.refresh()
        step()
    is_new = np.isin(users, list(new))
    return hours, shown_new / max(shown, 1), ratios[:, is_new].mean(axis=1), ratios[:, ~is_new].mean(axis=1)


def _oracle_mean(ds: Dataset, blocked: np.ndarray, user: int, now: float) -> float:
    """Mean true affinity of the best page the catalogue could offer this user now."""
    items = np.flatnonzero(~blocked)
    aff = ds.truth.affinity(np.array([user]), items, now, ds.upload)[0]  # type: ignore[union-attr]
    return float(np.sort(aff)[-PAGE:].mean())


__all__ = ["Candidates", "SimResult", "simulate"]
