"""The ranker's inputs for a page's candidates, computed in one batch, are what one candidate's would be."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from reelm.accounts.models import User
from reelm.recommend import pool
from reelm.recommend.features import Stats, item_for, pool_items
from reelm.recommend.models import VideoSignal
from reelm.recommend.taste import taste_get
from reelm.videos.models import Video
from tests.feed.conftest import follow
from tests.recommend.conftest import embedded, taste_along


def test_a_page_scores_its_candidates_from_the_columns_item_for_would_make(viewer: User, creators: list[User]) -> None:
    made = [embedded(creators[i % 6], axis=i % 3, tags=("cats",) if i % 2 else ()) for i in range(12)]
    Video.objects.filter(id=made[0].id).update(created_at=timezone.now() - timezone.timedelta(days=40))
    VideoSignal.objects.filter(video=made[0]).update(impressions=90, completions=45)
    follow(viewer, creators[0])
    taste = taste_along(viewer, 0)
    taste.tag_affinity = {"cats": 0.7}
    taste.author_affinity = {creators[1].id.hex: 0.4}
    taste.save()
    ctx = pool.viewer_context(viewer, taste_get(viewer))
    kept = pool.pool_gather(ctx)
    assert made[0].id.bytes in kept.ids, "the old video, whose recent completions are spread over its age"
    rows = np.arange(len(kept))
    follows = {a.bytes for a in ctx.follows}
    columns = pool_items(kept, rows, ctx.vector, taste, follows)
    now = timezone.now().timestamp()
    for at in rows.tolist():
        owner = kept.owners[at]
        rank = int(kept.trending_rank[at])
        expected = item_for(
            source=kept.sources[at],
            user_vector=ctx.vector,
            video_vector=kept.vectors[at],
            stats=Stats(int(kept.impressions[at]), int(kept.completions[at])),
            likes=int(kept.likes[at]),
            age_hours=(now - float(kept.created[at])) / 3600,
            author_affinity=taste.author_affinity.get(owner.hex(), 0.0),
            tag_affinity=max((taste.tag_affinity.get(t, 0.0) for t in kept.tags[at]), default=0.0),
            follows_author=owner in follows,
            trending_rank=rank if rank >= 0 else None,
        )
        got = columns.item(at)
        assert got.age_hours == pytest.approx(expected.age_hours, abs=0.01)
        assert got.cosine == pytest.approx(expected.cosine, abs=1e-6)
        assert {**vars(got), "age_hours": 0, "cosine": 0} == {**vars(expected), "age_hours": 0, "cosine": 0}
    assert {c.follows_author for c in map(columns.item, rows.tolist())} == {True, False}
    assert max(columns.numeric["recent_completions"]) > 0 and max(columns.numeric["tag_affinity"]) == 0.7
