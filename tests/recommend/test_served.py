"""The "served" memory: which source put each video on a viewer's page and the features it was ranked with."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from django.core.cache import cache

from reelm.recommend import served
from reelm.recommend.features import item_for
from reelm.recommend.ranker import features, seeded_vector


def shown(n: int, source: str = "similar") -> dict[str, Any]:
    item = item_for(
        source=source,
        user_vector=seeded_vector("u"),
        video_vector=seeded_vector(str(n)),
        stats=None,
        likes=n,
        age_hours=n + 0.5,
        author_affinity=0.25,
        tag_affinity=n / 10,
        follows_author=n % 2 == 0,
    )
    return {"source": source, "features": features(item)}


def test_what_was_served_is_recalled_exactly_newest_kept() -> None:
    viewer = uuid.uuid4()
    pages = [{uuid.uuid4().hex: shown(p * 20 + i, source=f"s{i % 3}") for i in range(20)} for p in range(12)]
    for page in pages:
        served.served_remember(viewer, page)
    everything = {video: served for page in pages for video, served in page.items()}
    kept = dict(list(everything.items())[-served.SERVED_KEEP :])
    recalled = served.served_recall(viewer)
    assert recalled == kept and list(recalled) == list(kept)
    first = next(iter(kept))
    assert all(type(name) is str and type(value) is float for name, value in recalled[first]["features"])
    assert served.served_recall(uuid.uuid4()) == {}


def test_entries_of_any_other_shape_are_kept_as_they_are() -> None:
    viewer = uuid.uuid4()
    odd = {
        "a": {"source": "fresh", "features": [("bias", 1)]},  # an int is not packed: it comes back an int
        "b": {"source": "fresh", "features": [("cosine", np.float64(0.5))]},
        "c": {"source": "fresh", "features": [["bias", 1.0]]},
        "d": {"source": "fresh", "features": [], "extra": True},
        "e": {"source": None, "features": [("bias", 1.0)]},
        "f": {"features": [("bias", 1.0)]},
        "g": {"source": "fresh", "features": []},
        "h": None,
    }
    served.served_remember(viewer, odd)
    recalled = served.served_recall(viewer)
    assert recalled == odd
    assert type(recalled["a"]["features"][0][1]) is int and type(recalled["c"]["features"][0]) is list


def test_a_memory_kept_before_entries_were_packed_is_still_recalled_and_extended() -> None:
    viewer = uuid.uuid4()
    earlier = {uuid.uuid4().hex: shown(i) for i in range(5)}
    cache.set(served._served_key(viewer), dict(earlier), served.SERVED_TTL)  # as the previous version kept it
    later = {uuid.uuid4().hex: shown(i) for i in range(5, 8)}
    served.served_remember(viewer, later)
    assert served.served_recall(viewer) == earlier | later


def test_showing_a_video_again_keeps_its_place_and_takes_the_new_features() -> None:
    viewer = uuid.uuid4()
    video = uuid.uuid4().hex
    served.served_remember(viewer, {video: shown(1), "other": shown(2)})
    served.served_remember(viewer, {video: shown(3, source="fresh")})
    recalled = served.served_recall(viewer)
    assert list(recalled) == [video, "other"] and recalled[video] == shown(3, source="fresh")
