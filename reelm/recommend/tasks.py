"""Background work for the recommender: the ranker's online lessons, viewers' candidate pools and the nightly
refit."""

from __future__ import annotations

import uuid

from huey import crontab

from reelm.accounts.models import User
from reelm.core.queues import RECOMMEND
from reelm.recommend import rebuild
from reelm.recommend.index import warm_in_background
from reelm.recommend.pool import pool_gather, viewer_context
from reelm.recommend.ranker_store import ranker_train
from reelm.recommend.taste import taste_get


@RECOMMEND.db_task(retries=2, retry_delay=1)
def ranker_learn(rows: list[list[list[object]]], labels: list[float]) -> None:
    ranker_train([[(str(n), float(x)) for n, x in row] for row in rows], labels)  # type: ignore[arg-type]


@RECOMMEND.db_task()
def pool_refresh(user_id: uuid.UUID) -> None:
    """Gather a viewer's candidate pool again, off the request that found it old or drifted."""
    user = User.objects.filter(id=user_id, is_active=True).first()
    if user is not None:
        pool_gather(viewer_context(user, taste_get(user)))


@RECOMMEND.db_periodic_task(crontab(hour="4", minute="17"))
def nightly_rebuild() -> None:
    rebuild.rebuild()


_warming = False


@RECOMMEND.on_startup()
def warm_index_on_startup() -> None:
    """The worker gathers viewers' candidate pools, which search the video index: build it at start-up (once per
    process, whatever the number of worker threads) rather than in the first pool's task."""
    global _warming
    if RECOMMEND.immediate or _warming:
        return
    _warming = True
    warm_in_background()
