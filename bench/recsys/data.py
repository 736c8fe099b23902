"""The two data sets: a synthetic population with known (drifting) tastes, and MovieLens-100K.

Both become a :class:`Dataset`: an impression log sorted by time (every row is one viewer shown one item, with the
engagement label ``reelm.recommend.ranker.engagement_label`` gives it) and a catalogue (author, tags, upload time).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reelm.recommend.ranker import Engagement, engagement_label, sigmoid

DAY = 86_400.0
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "var" / "bench-cache"  # var/ is gitignored: the MovieLens licence forbids redistributing the data
RECBOLE = "recbole==1.2.1"
ML100K_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
ML100K_ITEMS = "recbole/dataset_example/ml-100k/ml-100k.item"


@dataclass
class Log:
    """Impressions, sorted by time. ``positive`` is "completed" (MovieLens: rating >= 4)."""

    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    label: np.ndarray
    positive: np.ndarray
    liked: np.ndarray
    followed: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    def select(self, mask: np.ndarray) -> Log:
        return Log(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


@dataclass
class Truth:
    """What only the simulator knows: tastes over topics per user per day, and each video's topic and quality."""

    taste: np.ndarray  # (users, days, topics)
    topic: np.ndarray  # (items,)
    quality: np.ndarray  # (items,)
    start: float  # time of day 0
    steepness: float
    offset: float
    age_penalty: float

    def affinity(self, users: np.ndarray, items: np.ndarray, now: float, upload: np.ndarray) -> np.ndarray:
        """Expected completion probability of each user (rows) for each item (columns) at ``now``."""
        day = int(np.clip((now - self.start) // DAY, 0, self.taste.shape[1] - 1))
        taste = self.taste[users, day][:, self.topic[items]]
        age = np.maximum(now - upload[items], 0) / DAY
        logit = self.steepness * taste + self.quality[items] + self.offset - self.age_penalty * np.minimum(age, 14)
        return np.asarray(sigmoid(logit))


@dataclass
class Dataset:
    name: str
    log: Log
    n_users: int
    n_items: int
    author: np.ndarray  # (items,), -1 when unknown
    tags: list[np.ndarray]  # per item, tag ids
    n_tags: int
    upload: np.ndarray  # (items,) seconds; MovieLens: the first rating's time
    duration_ms: np.ndarray
    truth: Truth | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_authors(self) -> int:
        return int(self.author.max()) + 1 if len(self.author) and self.author.max() >= 0 else 0


# --- synthetic -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticConfig:
    users: int = 1200
    creators: int = 250
    videos: int = 5000
    topics: int = 24
    days: int = 42
    sessions_per_day: float = 0.6
    shown_per_session: int = 12
    new_creator_share: float = 0.3
    late_user_share: float = 0.3
    drift: float = 0.06  # share of a user's taste replaced by a fresh sparse draw every day
    mood: float = 0.5  # share of a session's taste given to one "mood" topic drawn from the user's tastes
    seed: int = 1


def _taste_paths(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    """Sparse tastes over topics that drift day by day, and stay sparse: every day is Dirichlet(0.15).

    Tastes are normalised Gamma(0.15) weights, one per topic. Each day a share ``1 − drift`` of each weight survives
    (Beta thinning) and a fresh Gamma(0.15 · drift) draw is added, so on average ``drift`` of the mass is replaced
    by a fresh, sparse draw while each day's weights stay Gamma(0.15), i.e. each day's taste stays Dirichlet(0.15)
    (the Gamma AR(1) of Lewis, McKenzie and Hugus). Mixing ``(1 − drift) · taste + drift · a fresh Dirichlet draw``
    instead, as an earlier version did, averages ever more independent draws: after six weeks every user liked
    nearly every topic about equally (22 effective topics of 24, top topic 0.09), so there was no interest left to
    learn or to drift, and updating a user's vector could only chase noise."""
    a = 0.15
    weights = rng.gamma(a, size=(cfg.users, cfg.topics))
    taste = np.zeros((cfg.users, cfg.days, cfg.topics))
    for d in range(cfg.days):
        kept = rng.beta(a * (1 - cfg.drift), a * cfg.drift, size=weights.shape)
        weights = kept * weights + rng.gamma(a * cfg.drift, size=weights.shape)
        taste[:, d] = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    return taste


def _catalogue(cfg: SyntheticConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Creators (some join late) and their uploads; a third of the catalogue predates day 0."""
    creator_topic = rng.integers(0, cfg.topics, cfg.creators)
    creator_quality = rng.normal(0, 0.5, cfg.creators)
    creator_start = np.where(
        rng.random(cfg.creators) < cfg.new_creator_share, rng.uniform(0, cfg.days, cfg.creators) * DAY, -14 * DAY
    )
    activity = rng.lognormal(0, 0.8, cfg.creators)
    author = rng.choice(cfg.creators, cfg.videos, p=activity / activity.sum())
    upload = rng.uniform(creator_start[author], cfg.days * DAY)
    own = rng.random(cfg.videos) < 0.8
    topic = np.where(own, creator_topic[author], rng.integers(0, cfg.topics, cfg.videos))
    quality = creator_quality[author] + rng.normal(0, 0.4, cfg.videos)
    duration = rng.integers(8_000, 60_000, cfg.videos)
    order = np.argsort(upload, kind="stable")  # item ids in upload order: handy to read, changes nothing
    return {
        "author": author[order],
        "upload": upload[order],
        "topic": topic[order],
        "quality": quality[order],
        "duration": duration[order],
        "creator_start": creator_start,
    }


def video_tags(topic: np.ndarray, rng: np.random.Generator, topics: int) -> list[np.ndarray]:
    """Each video carries its topic's main tag and one of three narrower tags of the same topic."""
    sub = topics + topic * 3 + rng.integers(0, 3, len(topic))
    return [np.array([t, s]) for t, s in zip(topic, sub, strict=True)]


def simulate_watch(
    affinity: np.ndarray, duration: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[Engagement]]:
    """Watch behaviour drawn from true affinity: completion with probability ``affinity``, otherwise a partial
    watch that is shorter the less the viewer cares; likes/follows/replays only after completions."""
    n = len(affinity)
    completed = rng.random(n) < affinity
    ratio = np.where(completed, 1.0, rng.beta(1 + 3 * affinity, 3, n) * 0.95)
    watched = (ratio * duration).astype(np.int64)
    liked = completed & (rng.random(n) < 0.5 * affinity)
    followed = completed & (rng.random(n) < 0.06 * affinity)
    replays = np.where(completed & (rng.random(n) < 0.3 * affinity), 1, 0)
    not_interested = rng.random(n) < 0.02 * (1 - affinity)
    events = [
        Engagement(
            watched_ms=int(watched[i]),
            duration_ms=int(duration[i]),
            completed=bool(completed[i]),
            replays=int(replays[i]),
            liked=bool(liked[i]),
            followed=bool(followed[i]),
            not_interested=bool(not_interested[i]),
        )
        for i in range(n)
    ]
    return watched, events


class _LoggingPolicy:
    """The feed that produced the logged impressions: a third recent-popular, a third from topics the viewer has
    completed before, a third random recent uploads. Deliberately not the model under test."""

    def __init__(self, ds: dict, cfg: SyntheticConfig, rng: np.random.Generator) -> None:
        self.ds, self.cfg, self.rng = ds, cfg, rng
        self.completions = np.zeros(cfg.videos)
        self.topic_done = np.ones((cfg.users, cfg.topics))

    def pools(self, now: float) -> None:
        up = self.ds["upload"]
        self.recent14 = np.flatnonzero((up <= now) & (up > now - 14 * DAY))
        self.recent3 = np.flatnonzero((up <= now) & (up > now - 3 * DAY))
        if len(self.recent3) < 30:
            self.recent3 = self.recent14
        self.by_topic = [self.recent14[self.ds["topic"][self.recent14] == t] for t in range(self.cfg.topics)]

    def popularity(self) -> None:
        w = self.completions[self.recent3] + 1
        self.p_popular = w / w.sum()

    def choose(self, user: int, seen: set[int]) -> np.ndarray:
        rng, k = self.rng, self.cfg.shown_per_session // 3
        popular = self.recent3[rng.choice(len(self.recent3), 3 * k, p=self.p_popular)]
        topics = rng.choice(self.cfg.topics, k, p=self.topic_done[user] / self.topic_done[user].sum())
        topical = [p[rng.integers(len(p))] for p in (self.by_topic[t] for t in topics) if len(p)]
        random = self.recent14[rng.integers(0, len(self.recent14), 2 * k)]
        shown: list[int] = []
        for group, take in ((popular, k), (topical, k), (random, k)):
            fresh = [int(v) for v in group if int(v) not in seen and int(v) not in shown]
            shown.extend(fresh[:take])
        return np.array(shown, dtype=np.int64)


def synthetic(cfg: SyntheticConfig) -> Dataset:
    """Simulate ``cfg.days`` days of a platform whose logging feed is :class:`_LoggingPolicy`."""
    rng = np.random.default_rng(cfg.seed)
    taste = _taste_paths(cfg, rng)
    cat = _catalogue(cfg, rng)
    truth = Truth(taste, cat["topic"], cat["quality"], 0.0, steepness=6.0, offset=-2.4, age_penalty=0.08)
    tags = video_tags(cat["topic"], rng, cfg.topics)
    join = np.where(rng.random(cfg.users) < cfg.late_user_share, rng.uniform(0, cfg.days, cfg.users) * DAY, 0.0)
    rate = cfg.sessions_per_day * rng.lognormal(0, 0.7, cfg.users) / np.exp(0.7**2 / 2)
    policy = _LoggingPolicy(cat, cfg, rng)
    seen: list[set[int]] = [set() for _ in range(cfg.users)]
    rows: dict[str, list] = {k: [] for k in ("user", "item", "time", "label", "positive", "liked", "followed")}
    for day in range(cfg.days):
        start = day * DAY
        policy.pools(start)
        policy.popularity()
        sessions = rng.poisson(rate)
        for user in np.flatnonzero((sessions > 0) & (join <= start)):
            for _ in range(sessions[user]):
                _session(int(user), start + rng.uniform(0, DAY), day, cfg, cat, truth, policy, seen, rows, rng)
        policy.completions = np.bincount(
            np.asarray(rows["item"], dtype=np.int64),
            weights=np.asarray(rows["positive"], dtype=float),
            minlength=cfg.videos,
        )
    log = _log(rows)
    return Dataset(
        name="synthetic",
        log=log,
        n_users=cfg.users,
        n_items=cfg.videos,
        author=cat["author"],
        tags=tags,
        n_tags=cfg.topics * 4,
        upload=cat["upload"],
        duration_ms=cat["duration"],
        truth=truth,
        extra={"creator_start": cat["creator_start"], "config": cfg, "join": join},
    )


def _session(user, now, day, cfg, cat, truth, policy, seen, rows, rng) -> None:  # type: ignore[no-untyped-def]
    """One logged session: the user's taste today, sharpened toward one mood topic for this session."""
    shown = policy.choose(user, seen[user])
    if not len(shown):
        return
    base = truth.taste[user, day]
    mood = np.zeros(cfg.topics)
    mood[rng.choice(cfg.topics, p=base / base.sum())] = 1.0
    taste = (1 - cfg.mood) * base + cfg.mood * mood
    age = np.minimum(np.maximum(now - cat["upload"][shown], 0) / DAY, 14)
    logit = truth.steepness * taste[cat["topic"][shown]] + cat["quality"][shown] + truth.offset
    aff = np.asarray(sigmoid(logit - truth.age_penalty * age))
    watched, events = simulate_watch(aff, cat["duration"][shown], rng)
    t = now
    for v, w, e in zip(shown, watched, events, strict=True):
        seen[user].add(int(v))
        rows["user"].append(user)
        rows["item"].append(int(v))
        rows["time"].append(t)
        rows["label"].append(engagement_label(e))
        rows["positive"].append(e.completed)
        rows["liked"].append(e.liked)
        rows["followed"].append(e.followed)
        if e.completed:
            policy.topic_done[user, cat["topic"][v]] += 1
        t += max(float(w), 500.0) / 1000 + 1


def _log(rows: dict[str, list]) -> Log:
    log = Log(
        user=np.asarray(rows["user"], dtype=np.int64),
        item=np.asarray(rows["item"], dtype=np.int64),
        time=np.asarray(rows["time"], dtype=np.float64),
        label=np.asarray(rows["label"], dtype=np.float32),
        positive=np.asarray(rows["positive"], dtype=bool),
        liked=np.asarray(rows["liked"], dtype=bool),
        followed=np.asarray(rows["followed"], dtype=bool),
    )
    return log.select(np.argsort(log.time, kind="stable"))


# --- MovieLens-100K --------------------------------------------------------------------------------------------


def recbole_wheel(cache: Path = CACHE) -> Path:
    """The recbole wheel, downloaded once with the venv's pip (it carries ml-100k.inter)."""
    found = sorted(cache.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", RECBOLE, "-d", str(cache)], check=True
    )
    return sorted(cache.glob("recbole-1.2.1-*.whl"))[0]


def movielens_engagement(rating: float) -> Engagement:
    """Rating >= 4 reads as a completion (5 also a like), 3 as watching half, below 3 as a skip."""
    if rating >= 4:
        return Engagement(watched_ms=10_000, duration_ms=10_000, completed=True, liked=rating >= 5)
    if rating >= 3:
        return Engagement(watched_ms=5_000, duration_ms=10_000)
    return Engagement(watched_ms=1_000, duration_ms=10_000, skipped=True)


def movielens(cache: Path = CACHE) -> Dataset:
    """MovieLens-100K: each rating is an impression at its timestamp; genres are the tags; no authors."""
    with zipfile.ZipFile(recbole_wheel(cache)) as wheel:
        inter = wheel.read(ML100K_MEMBER).decode().splitlines()[1:]
        item_lines = wheel.read(ML100K_ITEMS).decode("latin-1").splitlines()[1:]
    raw = np.array([line.split("\t") for line in inter if line.strip()], dtype=np.float64)
    users, user = np.unique(raw[:, 0].astype(np.int64), return_inverse=True)
    items, item = np.unique(raw[:, 1].astype(np.int64), return_inverse=True)
    rating, time = raw[:, 2], raw[:, 3]
    labels = {r: engagement_label(movielens_engagement(r)) for r in np.unique(rating)}
    log = Log(
        user=user.astype(np.int64),
        item=item.astype(np.int64),
        time=time,
        label=np.array([labels[r] for r in rating], dtype=np.float32),
        positive=rating >= 4,
        liked=rating >= 5,
        followed=np.zeros(len(rating), dtype=bool),
    ).select(np.argsort(time, kind="stable"))
    first = np.full(len(items), np.inf)
    np.minimum.at(first, log.item, log.time)
    genres = _genres(item_lines, items)
    vocabulary = sorted({g for gs in genres for g in gs})
    tag_id = {g: i for i, g in enumerate(vocabulary)}
    return Dataset(
        name="movielens-100k",
        log=log,
        n_users=len(users),
        n_items=len(items),
        author=np.full(len(items), -1, dtype=np.int64),
        tags=[np.array([tag_id[g] for g in gs], dtype=np.int64) for gs in genres],
        n_tags=len(vocabulary),
        upload=first,
        duration_ms=np.full(len(items), 10_000),
    )


def _genres(lines: list[str], items: np.ndarray) -> list[list[str]]:
    by_id: dict[int, list[str]] = {}
    for line in lines:
        parts = line.split("\t")
        if len(parts) >= 4 and parts[0].isdigit():
            by_id[int(parts[0])] = parts[3].split()
    return [by_id.get(int(i), []) for i in items]
