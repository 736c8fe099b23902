"""Learning from what viewers do, as it happens: every event batch moves the viewer's vector at once (so the next
page reflects what was just watched), nudges the videos' vectors and counters, and hands the impressions' labels
to the ranker, which learns in the background (see ``tasks.ranker_learn``)."""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from reelm.core.languages import MAX_PREFERRED, accept_languages, clean_language
from reelm.core.prepared import PreparedInstances, PreparedRead
from reelm.recommend import model
from reelm.recommend.models import ModelState, NotInterested, NotInterestedScope, Taste, VideoSignal
from reelm.videos.models import Video, VideoHashtag

log = logging.getLogger(__name__)

#: How fast running affinities follow new labels, and how many of each a taste keeps.
AFFINITY_RATE = 0.3
KEEP_TAGS = 40
KEEP_AUTHORS = 60
FOLLOW_AFFINITY = 0.8
#: "Served" memory per viewer: which source put each recently shown video on their page (for learning).
SERVED_KEEP = 200
SERVED_TTL = 24 * 3600
RANKER = "ranker"


# --- tastes and video vectors ----------------------------------------------------------------------------------


#: One per account (a unique constraint): no ORDER BY as first() would add. Read on every For You page, so prepared.
_taste_of = PreparedInstances(lambda owner_id: Taste.objects.order_by().filter(owner_id=owner_id)[:1])


def taste_get(user: Any) -> Taste:
    for taste in _taste_of(user.id):
        return taste
    try:
        with transaction.atomic():
            return Taste.objects.create(owner_id=user.id)
    except IntegrityError:  # made by a concurrent request
        return Taste.objects.get(owner_id=user.id)


def tag_vectors(names: Iterable[str], *, per_tag: int = 50) -> list[np.ndarray]:
    """One vector per hashtag: the mean of its newest videos' vectors (tags nobody used yet get none)."""
    out = []
    for name in names:
        rows = VideoSignal.objects.filter(video__hashtag_links__hashtag__name=name).order_by("-video_id")
        vectors = [
            v for v in (model.vector_from(d) for d in rows.values_list("vector", flat=True)[:per_tag]) if v is not None
        ]
        if vectors:
            out.append(model.normalise(np.mean(np.stack(vectors), axis=0)))
    return out


def taste_vector(taste: Taste) -> np.ndarray | None:
    """The viewer's vector; before any history, the mean of their picked interests' vectors, else none."""
    vector = model.vector_from(taste.vector)
    if vector is not None:
        return vector
    hints = tag_vectors(taste.interests)
    return model.normalise(np.mean(np.stack(hints), axis=0)) if hints else None


def starting_vector(user: Any) -> np.ndarray:
    """Where a viewer with no history and no interests starts: the mean of what is popular now (a random vector
    would mislead the nearest-neighbour source until the first swipes undo it)."""
    from reelm.recommend.index import video_index
    from reelm.recommend.sources import Context

    popular = Context(user=user, vector=None, follows=set(), tag_affinity={}, interests=[]).trending[:50]
    vectors = list(video_index().vectors([uuid.UUID(hex=h) for h in popular]).values())
    if not vectors:
        return model.seeded_vector(user.id.hex)
    return model.normalise(np.mean(np.stack(vectors), axis=0))


def video_signal_ensure(video_id: uuid.UUID) -> VideoSignal:
    """The video's signal row, made on publication with a cold vector from its hashtags and its author's
    earlier videos, so it is searchable by every process's index at once."""
    found = VideoSignal.objects.filter(video_id=video_id).first()
    if found is not None:
        return found
    video = Video.objects.only("id", "owner_id").get(id=video_id)
    tags = list(VideoHashtag.objects.filter(video_id=video_id).values_list("hashtag__name", flat=True))
    hints = tag_vectors(tags)
    earlier = VideoSignal.objects.filter(owner_id=video.owner_id).order_by("-video_id").values_list("vector", flat=True)
    author = [v for v in (model.vector_from(d) for d in earlier[:20]) if v is not None]
    if author:
        hints.append(model.normalise(np.mean(np.stack(author), axis=0)))
    vector = model.cold_video_vector(video_id.hex, hints)
    try:
        with transaction.atomic():
            return VideoSignal.objects.create(
                video_id=video_id, owner_id=video.owner_id, vector=model.vector_bytes(vector)
            )
    except IntegrityError:
        return VideoSignal.objects.get(video_id=video_id)


def video_signals(video_ids: Sequence[uuid.UUID]) -> tuple[dict[uuid.UUID, np.ndarray], dict[uuid.UUID, Any]]:
    """In one query: each video's vector (stored, else a seeded cold one, not stored) and the counters of those
    with a signal row (``ranking.Stats``)."""
    from reelm.recommend.ranking import Stats

    rows = VideoSignal.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "vector", "impressions", "completions"
    )
    stored = {video_id: (model.vector_from(data), Stats(seen, done)) for video_id, data, seen, done in rows}
    vectors = {}
    for video_id in video_ids:
        vector = stored[video_id][0] if video_id in stored else None
        vectors[video_id] = vector if vector is not None else model.seeded_vector(video_id.hex)
    return vectors, {video_id: stats for video_id, (_, stats) in stored.items()}


# --- served sources (what put a video on a viewer's page) --------------------------------------------------------


def _served_key(user_id: Any) -> str:
    return f"recommend:served:{user_id.hex if hasattr(user_id, 'hex') else user_id}"


def served_remember(user_id: Any, items: dict[str, dict[str, Any]]) -> None:
    """Remember what was shown and why: {video hex: {"source": …, "features": […]}}, newest last, bounded.

    Every page reads and writes the whole memory (up to :data:`SERVED_KEEP` entries), so entries are kept packed
    (see :func:`_served_pack`): pickling 200 dicts of 16 (name, value) pairs was most of a page's cache time."""
    known = cache.get(_served_key(user_id)) or {}
    known.update((video, _served_pack(shown)) for video, shown in items.items())
    if len(known) > SERVED_KEEP:
        known = dict(list(known.items())[-SERVED_KEEP:])
    cache.set(_served_key(user_id), known, SERVED_TTL)


def served_recall(user_id: Any) -> dict[str, dict[str, Any]]:
    return {video: _served_unpack(kept) for video, kept in (cache.get(_served_key(user_id)) or {}).items()}


def _served_pack(shown: dict[str, Any]) -> Any:
    """One entry as kept: ``(source, feature names, feature values as float64 bytes)`` when it is a source and a
    list of (name, float) pairs, which :func:`_served_unpack` turns back into an equal dict; anything else as it
    is. The names are interned so that one pickle holds each name once."""
    if type(shown) is not dict or len(shown) != 2:
        return shown
    source, features = shown.get("source"), shown.get("features")
    if type(source) is not str or type(features) is not list:
        return shown
    for pair in features:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str or type(pair[1]) is not float:
            return shown
    names = tuple(sys.intern(name) for name, _ in features)
    return (source, names, array("d", [value for _, value in features]).tobytes())


def _served_unpack(kept: Any) -> dict[str, Any]:
    if isinstance(kept, tuple):
        source, names, values = kept
        return {"source": source, "features": list(zip(names, array("d", values), strict=True))}
    return kept


# --- learning from events ----------------------------------------------------------------------------------------


@dataclass
class Impression:
    video_id: uuid.UUID
    engagement: model.Engagement


def engagements_from(events: Iterable[Any]) -> list[Impression]:
    """Group a batch's events by video, in first-seen order, into one engagement per impression."""
    grouped: dict[uuid.UUID, model.Engagement] = {}
    for event in events:
        e = grouped.setdefault(event.video_id, model.Engagement())
        e.watched_ms = max(e.watched_ms, event.watched_ms)
        e.duration_ms = max(e.duration_ms, event.duration_ms)
        if event.kind == "complete":
            e.completed = True
        elif event.kind == "replay":
            e.replays += 1
        elif event.kind == "skip":
            e.skipped = True
        elif event.kind == "share":
            e.shared = True
    # A bare impression (the viewer has not swiped on yet) teaches nothing: wait for the watch or skip.
    return [
        Impression(video_id, e)
        for video_id, e in grouped.items()
        if e.watched_ms or e.completed or e.skipped or e.replays or e.shared
    ]


def _ema(table: dict[str, float], key: str, label: float, keep: int) -> None:
    table[key] = round((1 - AFFINITY_RATE) * table.get(key, 0.0) + AFFINITY_RATE * label, 4)
    if len(table) > keep:
        weakest = min(table, key=lambda k: abs(table[k]))
        del table[weakest]


def learn(user: Any, impressions: Sequence[Impression], *, explicit: bool = False) -> np.ndarray | None:
    """Learn from one viewer's impressions, in order: the viewer's vector and affinities now, the videos' vectors
    and counters now, the ranker's weights in the background. ``explicit`` marks an action outside the event stream
    (a like, say): it teaches the vectors but is not another impression in the video's counters. Returns the
    viewer's new vector (None when there was nothing to learn)."""
    if not impressions:
        return None
    started = time.perf_counter()
    ids = [i.video_id for i in impressions]
    videos = {v.id: v for v in Video.objects.filter(id__in=ids).only("id", "owner_id", "like_count", "created_at")}
    impressions = [i for i in impressions if i.video_id in videos]
    if not impressions:
        return None
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    for video_id, name in VideoHashtag.objects.filter(video_id__in=ids).values_list("video_id", "hashtag__name"):
        tags[video_id].append(name)
    vectors, stats = video_signals(ids)
    served = served_recall(user.id)
    from reelm.recommend.ranking import item_for

    with transaction.atomic():
        taste = Taste.objects.select_for_update().filter(owner_id=user.id).first() or taste_get(user)
        vector = taste_vector(taste)
        if vector is None:
            vector = starting_vector(user)
        rows, labels = [], []
        for impression in impressions:
            video_id = impression.video_id
            label = model.engagement_label(impression.engagement)
            shown = served.get(video_id.hex)
            if shown and shown.get("features"):
                rows.append([(str(n), float(x)) for n, x in shown["features"]])
            else:  # not shown by For You (a profile, a link): the features it would have had now
                info = videos[video_id]
                item = item_for(
                    source="organic",
                    user_vector=vector,
                    video_vector=vectors[video_id],
                    stats=stats.get(video_id),
                    likes=info.like_count,
                    age_hours=(timezone.now() - info.created_at).total_seconds() / 3600,
                    author_affinity=taste.author_affinity.get(info.owner_id.hex, 0.0),
                    tag_affinity=max((taste.tag_affinity.get(t, 0.0) for t in tags[video_id]), default=0.0),
                    follows_author=False,
                )
                rows.append(model.features(item))
            labels.append(label)
            new_video = model.video_update(vectors[video_id], vector, label)
            vector = model.user_update(vector, vectors[video_id], label)
            _ema(taste.author_affinity, videos[video_id].owner_id.hex, label, KEEP_AUTHORS)
            for name in tags[video_id]:
                _ema(taste.tag_affinity, name, label, KEEP_TAGS)
            _signal_add(video_id, new_video, None if explicit else impression.engagement)
        taste.vector = model.vector_bytes(vector)
        taste.impressions += len(impressions)
        taste.save()
    from reelm.recommend.tasks import ranker_learn

    ranker_learn([[[n, float(x)] for n, x in row] for row in rows], labels)
    log.debug("learned %d impressions of %s in %.1f ms", len(rows), user.id, (time.perf_counter() - started) * 1000)
    return vector


def _signal_add(video_id: uuid.UUID, vector: np.ndarray, e: model.Engagement | None) -> None:
    changes: dict[str, Any] = {"vector": model.vector_bytes(vector), "updated_at": timezone.now()}
    if e is not None:
        changes |= {
            "impressions": F("impressions") + 1,
            "completions": F("completions") + int(e.completed),
            "skips": F("skips") + int(e.skipped or (0 < e.watched_ms < model.SKIP_MS and not e.completed)),
            "watched_ms": F("watched_ms") + e.watched_ms,
        }
    if not VideoSignal.objects.filter(video_id=video_id).update(**changes):
        video_signal_ensure(video_id)
        VideoSignal.objects.filter(video_id=video_id).update(**changes)


def learn_from_events(user: Any, events: Sequence[Any]) -> None:
    """The event API's hook. Learning must never cost the viewer their events: failures are logged, not raised."""
    from reelm.recommend import pool
    from reelm.recommend.tasks import pool_refresh

    try:
        pool.watched_add(user.id, [event.video_id.hex for event in events])
        vector = learn(user, engagements_from(events))
        if pool.pool_refresh_due(user.id, vector):
            pool_refresh(user.id)
    except Exception:
        log.exception("learning from %d events of %s failed", len(events), user.id)


def learn_action(user: Any, video_id: uuid.UUID, action: str) -> None:
    """An explicit action on one video (like, comment, bookmark, share, follow, not_interested) as an impression."""
    flags = {"like": "liked", "comment": "commented", "bookmark": "bookmarked", "share": "shared"}
    flags |= {"follow": "followed", "not_interested": "not_interested"}
    e = model.Engagement(**{flags[action]: True})
    if action != "not_interested":  # nobody likes, comments on or shares what they did not watch
        e.watched_ms = e.duration_ms = model.SKIP_MS
    try:
        learn(user, [Impression(video_id, e)], explicit=True)
    except Exception:
        log.exception("learning from %s of %s failed", action, user.id)


def learn_follow(user: Any, followee_id: uuid.UUID) -> None:
    """Following a creator is the strongest word on them: their affinity becomes at least the follow label's."""
    try:
        with transaction.atomic():
            taste = Taste.objects.select_for_update().filter(owner_id=user.id).first() or taste_get(user)
            key = followee_id.hex
            taste.author_affinity[key] = max(taste.author_affinity.get(key, 0.0), FOLLOW_AFFINITY)
            taste.save(update_fields=["author_affinity", "updated_at"])
    except Exception:
        log.exception("learning from a follow of %s failed", user.id)


# --- the ranker's weights ----------------------------------------------------------------------------------------

_ranker_lock = threading.Lock()
_ranker: tuple[int, model.Ranker] | None = None
_ranker_checked = 0.0
RANKER_VERSION_KEY = "recommend:ranker-version"


class ModelUnavailable(Exception):
    """The ranker's saved state cannot be read: For You falls back to the transparent ranking."""


def ranker_current() -> model.Ranker:
    """This process's copy of the ranker, reloaded when another process saved a newer version (checked at most
    once a second, through the cache). A fresh, untrained ranker before the first lesson."""
    global _ranker, _ranker_checked
    now = time.monotonic()
    with _ranker_lock:
        if _ranker is not None and now - _ranker_checked < 1.0:
            return _ranker[1]
        _ranker_checked = now
        version = cache.get(RANKER_VERSION_KEY)
        if _ranker is not None and version is not None and version == _ranker[0]:
            return _ranker[1]
        state = ModelState.objects.filter(name=RANKER).only("version", "data").first()
        if state is None:
            _ranker = (0, model.Ranker())
        elif _ranker is None or _ranker[0] != state.version:
            try:
                _ranker = (state.version, model.Ranker.load(bytes(state.data)))
            except Exception as exc:
                _ranker = None
                raise ModelUnavailable(f"the saved ranker cannot be read: {exc}") from exc
            cache.set(RANKER_VERSION_KEY, state.version, None)
        return _ranker[1]


def ranker_forget_cached() -> None:
    """Drop this process's copy (tests, and after a rebuild)."""
    global _ranker
    with _ranker_lock:
        _ranker = None


#: Optimistic saves of one online step before it waits for the row's lock (see :func:`ranker_train`).
RANKER_SAVE_ATTEMPTS = 3


def ranker_train(rows: list[list[tuple[str, float]]], labels: list[float]) -> int:
    """One online step, saved at once; returns the saved version. No update is lost: the step is learned on the
    saved state outside any transaction, and saved only if no other worker saved since it was read (else learned
    again on the newer state). On SQLite a transaction that writes holds the whole database's write lock, and the
    worker runs at a lower CPU priority: learning inside it made the web's writes (watch events, likes) wait for
    the worker's numpy. After :data:`RANKER_SAVE_ATTEMPTS` lost races it learns under the row's lock."""
    for _ in range(RANKER_SAVE_ATTEMPTS):
        state = _ranker_state()
        if _ranker_save_if_unchanged(state.version, _learned(state, rows, labels)):
            break
    else:
        with transaction.atomic():
            state = ModelState.objects.select_for_update().get(name=RANKER)
            _ranker_save_if_unchanged(state.version, _learned(state, rows, labels))  # locked: nobody else saves
    cache.set(RANKER_VERSION_KEY, state.version + 1, None)
    return state.version + 1


def _ranker_state() -> ModelState:
    state = ModelState.objects.filter(name=RANKER).first()
    if state is None:
        state, _ = ModelState.objects.get_or_create(name=RANKER, defaults={"data": model.Ranker().dump()})
    return state


def _learned(state: ModelState, rows: list[list[tuple[str, float]]], labels: list[float]) -> bytes:
    try:
        ranker = model.Ranker.load(bytes(state.data))
    except Exception:
        log.warning("the saved ranker could not be read; starting a new one")
        ranker = model.Ranker()
    ranker.learn(rows, labels)
    return ranker.dump()


def _ranker_save_if_unchanged(version: int, data: bytes) -> bool:
    """Save ``data`` as the next version if the saved one is still ``version``; False if another save came first."""
    saved = ModelState.objects.filter(name=RANKER, version=version).update(
        data=data, version=version + 1, updated_at=timezone.now()
    )
    return saved == 1


# --- "not interested" and settings --------------------------------------------------------------------------------


def not_interested_add(user: Any, *, scope: str, target: str, video_id: uuid.UUID | None = None) -> NotInterested:
    """Remember the choice (idempotent); the video that prompted it also teaches the viewer's vector to avoid it."""
    choice, _ = NotInterested.objects.get_or_create(owner_id=user.id, scope=scope, target=target[:64])
    if video_id is not None:
        learn_action(user, video_id, "not_interested")
    return choice


def not_interested_remove(user: Any, choice_id: uuid.UUID) -> bool:
    return NotInterested.objects.filter(owner_id=user.id, id=choice_id).delete()[0] > 0


def not_interested_sets(user: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {s: set() for s in NotInterestedScope.values}
    for scope, target in _not_interested_rows(user.id):
        out[scope].add(target)
    return out


# Compiled once (For You asks on every page).
_not_interested_rows = PreparedRead(
    lambda owner_id: NotInterested.objects.order_by().filter(owner_id=owner_id).values_list("scope", "target")
)


def taste_settings_set(
    user: Any,
    *,
    personalised: bool | None = None,
    more_following: int | None = None,
    more_new_creators: int | None = None,
    interests: list[str] | None = None,
    languages: list[str] | None = None,
) -> Taste:
    taste = taste_get(user)
    if personalised is not None:
        taste.personalised = personalised
    if more_following is not None:
        taste.more_following = max(0, min(100, more_following))
    if more_new_creators is not None:
        taste.more_new_creators = max(0, min(100, more_new_creators))
    if interests is not None:
        taste.interests = sorted({name.lower().lstrip("#")[:64] for name in interests if name.strip()})[:20]
    if languages is not None:
        taste.languages = languages_clean(languages)
        taste.languages_chosen = True  # even none: a choice that no browser guess overrides
    taste.save()
    return taste


def languages_infer(user: Any, accept_language: str) -> bool:
    """Guess the account's languages from its browser's Accept-Language header while it has never chosen any (an
    old account, or one made through the API or by an operator): stored, still unchosen, so the next sign-in from a
    browser in another language guesses again. A header with no known language guesses nothing (a script or a
    private browser says nothing about the viewer). Whether the languages changed."""
    guessed = accept_languages(accept_language)
    if not guessed:
        return False  # before any query: every sign-in without the header costs nothing
    taste = taste_get(user)
    if taste.languages == guessed:
        return False
    # "Not chosen" is checked by the UPDATE itself, so even a choice saved since the read is never guessed over.
    # ``updated_at`` is left alone: a rebuild forgets stale tastes' vectors, and a sign-in is not a use of For You.
    return Taste.objects.filter(id=taste.id, languages_chosen=False).update(languages=guessed) > 0


def languages_infer_at_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``'s receiver (connected in ``apps.py``): web sign-in and signup. Token-authenticated API
    requests never sign in, so neither they nor a For You page pay for this."""
    if request is not None:
        languages_infer(user, request.headers.get("Accept-Language", ""))


def languages_clean(codes: Iterable[str]) -> list[str]:
    """A viewer's languages as kept: known codes only, each once, in the order given, at most
    :data:`~reelm.core.languages.MAX_PREFERRED` (an unknown one is a 400)."""
    cleaned = [clean_language(code) for code in codes]
    return list(dict.fromkeys(code for code in cleaned if code))[:MAX_PREFERRED]
