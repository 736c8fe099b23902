"""Draining: each waiting message of this realm's outbox is applied in its target realm, oldest first per target.
Its effect and its receipt commit together there; only then is it marked delivered here. A worker killed between
the two delivers it again on the next drain, and the receipt makes that a no-op: at least once, once in effect."""

from __future__ import annotations

import logging
import os
import signal

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone

from reelm.core import realms
from reelm.gateway.kinds import Delivery, kind_get
from reelm.gateway.models import InboxReceipt, OutboxMessage

log = logging.getLogger("reelm.gateway")

#: Messages delivered per target in one drain (the next drain takes the rest).
BATCH = 500
#: Attempts before a message is set aside as failing (``reelm realm gateway`` shows it), so one that cannot be
#: applied does not hold back the others to its realm for ever.
MAX_ATTEMPTS = 10


def drain(*, batch: int = BATCH) -> int:
    """Deliver this realm's waiting messages; returns how many were delivered. A message that fails stops its
    target's queue (messages to one realm keep their order) and is tried again by a later drain, up to
    ``MAX_ATTEMPTS`` times."""
    source = realms.current_realm()
    delivered = 0
    for target in realms.realm_names():
        if target == source:
            continue
        queued = OutboxMessage.objects.filter(target=target, delivered_at=None, attempts__lt=MAX_ATTEMPTS)
        waiting = list(queued.order_by("id")[:batch])
        for message in waiting:
            try:
                applied = _apply(message, source)
            except Exception as exc:
                OutboxMessage.objects.filter(id=message.id).update(
                    attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
                log.warning("gateway: %s %s → %s failed, will retry: %s", message.kind, source, target, exc)
                break
            _stop_here_for_tests(source, delivered + 1)
            OutboxMessage.objects.filter(id=message.id).update(delivered_at=timezone.now(), attempts=F("attempts") + 1)
            delivered += 1
            log.info(
                "gateway: %s %s %s → %s, %d bytes%s",
                message.kind,
                message.id,
                source,
                target,
                message.size,
                "" if applied else " (received before)",
            )
    return delivered


def _stop_here_for_tests(source: str, applied: int) -> None:
    """``REELM_TEST_GATEWAY_KILL_AT=N``: the process kills itself after the Nth message took effect in its target
    and before it is marked delivered here, the window where only the receipt prevents a second effect;
    ``REELM_TEST_GATEWAY_KILL_FROM=REALM`` counts only the drains of that realm's outbox."""
    if applied == settings.REELM_TEST_GATEWAY_KILL_AT and settings.REELM_TEST_GATEWAY_KILL_FROM in ("", source):
        os.kill(os.getpid(), signal.SIGKILL)


def _apply(message: OutboxMessage, source: str) -> bool:
    """Apply ``message`` in its target realm unless it was applied before; True if it was applied now."""
    kind = kind_get(message.kind)
    kind.check(message.payload)  # the rules of the receiving code, not only of the sender's
    delivery = Delivery(message.id, source, message.created_at)
    with realms.working_for(message.target):
        if InboxReceipt.objects.filter(message_id=message.id).exists():
            return False
        try:
            with realms.atomic():
                kind.handler(delivery, message.payload)
                InboxReceipt.objects.create(
                    message_id=message.id,
                    source=source,
                    kind=message.kind,
                    size=message.size,
                    sent_at=message.created_at,
                )
        except IntegrityError:
            # Another drain applied it meanwhile (its receipt won): this attempt's effect was rolled back.
            if InboxReceipt.objects.filter(message_id=message.id).exists():
                return False
            raise
    return True
