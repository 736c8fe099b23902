"""Follows between accounts of two realms. A follow is authored in the follower's realm and replicated into the
followed account's realm, so each side sees it, counts it and is told of it in its own realm. Either side may
change it (the follower unfollows; the followed account approves, declines or blocks): each change sends the
pair's state, ``follow.state``, to the other side's realm, which applies it."""

from __future__ import annotations

import uuid
from typing import Any

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.gateway.kinds import Delivery, GatewayRefused, kind
from reelm.gateway.services import send
from reelm.relations.counts import count_follow
from reelm.relations.models import Follow, FollowStatus
from reelm.relations.selectors import blocked_between, relations_changed

#: The state of a pair with no follow between them.
NONE = "none"
STATES = {NONE, FollowStatus.PENDING, FollowStatus.ACCEPTED}


def follow_replicate(*, follower_id: uuid.UUID, followee_id: uuid.UUID) -> None:
    """If either account lives in another realm, send it the pair's state as it is now (in this transaction)."""
    if not realms.configured():
        return
    here = realms.current_realm()
    homes = dict(User.objects.filter(id__in=[follower_id, followee_id]).values_list("id", "home_realm"))
    others = {realm for realm in homes.values() if realm != here}
    if not others:
        return
    status = Follow.objects.filter(owner_id=follower_id, followee_id=followee_id).values_list("status", flat=True)
    state = status.first() or NONE
    send("follow.state", to=others, follower=str(follower_id), followee=str(followee_id), status=state)


@kind(
    "follow.state",
    why="a follow between accounts of two realms: both realms keep it, count it and tell their account of it",
    fields={"follower": "relations.Follow.owner", "followee": "relations.Follow.followee", "status": "str"},
)
def follow_state_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    new = payload["status"]
    if new not in STATES:
        raise GatewayRefused(f"no follow state is called {new!r}")
    follower = User.objects.filter(id=uuid.UUID(payload["follower"])).first()
    followee = User.objects.filter(id=uuid.UUID(payload["followee"])).first()
    if follower is None or followee is None:
        raise GatewayRefused("an account of this follow has not arrived yet")
    here = realms.current_realm()
    if {follower.home_realm, followee.home_realm} != {here, delivery.source}:
        raise GatewayRefused(f"realm {delivery.source!r} sent a follow between accounts it does not share with us")
    existing = Follow.objects.filter(owner=follower, followee=followee).first()
    old = existing.status if existing else NONE
    if old == new:
        return
    if new != NONE and followee.home_realm == here and blocked_between(follower.id, followee.id):
        # Blocked here: the follow does not stand, and the follower's realm hears so.
        send("follow.state", to=[delivery.source], follower=str(follower.id), followee=str(followee.id), status=old)
        return
    if new == NONE:
        Follow.objects.filter(owner=follower, followee=followee).delete()
    elif existing is not None:
        Follow.objects.filter(id=existing.id).update(status=new)
    else:
        Follow.objects.create(owner=follower, followee=followee, status=new)
    relations_changed([follower.id, followee.id])
    delta = int(new == FollowStatus.ACCEPTED) - int(old == FollowStatus.ACCEPTED)
    if delta:
        count_follow(follower_id=follower.id, followee_id=followee.id, delta=delta, home_only=True)
    pair = {"follower_id": follower.id, "followee_id": followee.id}
    if old == NONE:
        bus.emit(bus.FollowAdded(**pair, pending=new == FollowStatus.PENDING))
    elif new == FollowStatus.ACCEPTED:
        bus.emit(bus.FollowApproved(**pair))
    elif old == FollowStatus.PENDING and delivery.source == followee.home_realm:
        bus.emit(bus.FollowDeclined(**pair))
    else:
        bus.emit(bus.FollowRemoved(**pair))
