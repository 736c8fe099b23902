"""Sending: a message is written to the outbox of the realm being worked for, in its current transaction, and the
drain is queued for when that transaction commits. Nothing is sent where realms are not configured."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from reelm.core import realms
from reelm.gateway.kinds import MAX_BYTES, GatewayRefused, kind_get
from reelm.gateway.models import OutboxMessage


def send(name: str, *, to: Iterable[str] | None = None, **payload: Any) -> list[OutboxMessage]:
    """Queue a ``name`` message carrying ``payload`` for the realms ``to`` (default: every other realm)."""
    kind = kind_get(name)
    # As JSON, exactly as the receiving realm will read it: ids and times become strings.
    body = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)
    payload = json.loads(body)
    kind.check(payload)
    if len(body.encode()) > MAX_BYTES:
        raise GatewayRefused(f"a {name} message of {len(body.encode())} bytes is over the gateway's {MAX_BYTES}")
    if not realms.configured():
        return []
    here = realms.current_realm()
    targets = [realms.realm(t).name for t in to] if to is not None else realms.realm_names()
    rows = [
        OutboxMessage(kind=name, target=target, payload=payload, size=len(body.encode()))
        for target in targets
        if target != here
    ]
    if not rows:
        return []
    OutboxMessage.objects.bulk_create(rows)
    realms.on_commit(_drain_soon)
    return rows


def _drain_soon() -> None:
    from reelm.gateway.tasks import gateway_drain

    gateway_drain()
