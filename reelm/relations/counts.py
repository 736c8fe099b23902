"""Follow counts, kept on both accounts with F() updates; the home realm's copy of each goes to the others."""

from __future__ import annotations

import uuid

from django.db.models import F

from reelm.accounts.models import User
from reelm.accounts.replication import account_replicate
from reelm.core import realms


def count_follow(*, follower_id: uuid.UUID, followee_id: uuid.UUID, delta: int, home_only: bool = False) -> None:
    """Count a follow on both accounts. A replica's count here is provisional (its home realm sends the true one);
    ``home_only`` leaves replicas alone, for a follow that came from the other account's realm, whose count has
    already been sent."""
    accounts = User.objects.filter(home_realm=realms.current_realm()) if home_only else User.objects.all()
    accounts.filter(id=follower_id).update(following_count=F("following_count") + delta)
    accounts.filter(id=followee_id).update(follower_count=F("follower_count") + delta)
    account_replicate([follower_id, followee_id])  # update() sends no signal: the new counts go out here
