"""What For You served each viewer lately: which source put each video on their page and the features it was
ranked with, so its impression is learned from exactly those (see ``learning.learn``)."""

from __future__ import annotations

import sys
from array import array
from typing import Any

from django.core.cache import cache

#: Entries kept per viewer, and for how long.
SERVED_KEEP = 200
SERVED_TTL = 24 * 3600


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
