"""Background work for the recommender: the ranker's online lessons and the nightly refit."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from reelm.recommend import rebuild, services


@db_task(retries=2, retry_delay=1)
def ranker_learn(rows: list[list[list[object]]], labels: list[float]) -> None:
    services.ranker_train([[(str(n), float(x)) for n, x in row] for row in rows], labels)  # type: ignore[arg-type]


@db_periodic_task(crontab(hour="4", minute="17"))
def nightly_rebuild() -> None:
    rebuild.rebuild()
