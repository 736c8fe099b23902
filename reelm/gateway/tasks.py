"""The gateway's queue: a drain after each send, and one a minute for what a failure or a dead worker left."""

from __future__ import annotations

from huey import crontab

from reelm.core.queues import GATEWAY
from reelm.gateway.drain import drain


@GATEWAY.db_task(retries=3, retry_delay=2)
def gateway_drain() -> None:
    drain()


@GATEWAY.db_periodic_task(crontab(minute="*"))
def gateway_drain_periodic() -> None:
    drain()
