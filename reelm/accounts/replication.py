"""An account's public profile, replicated read-only into every other realm through the gateway, so their pages,
search, mentions and feeds can show it. Its credentials, e-mail address and staff roles never leave its realm: the
kinds below cannot even carry them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.hashers import make_password

from reelm.accounts.models import User
from reelm.core import realms
from reelm.gateway.kinds import Delivery, GatewayRefused, kind
from reelm.gateway.services import send

#: What a replica shows of an account: its public profile and counts.
PROFILE_FIELDS = (
    "id",
    "username",
    "display_name",
    "bio",
    "avatar_key",
    "is_private",
    "is_active",
    "follower_count",
    "following_count",
)


def account_replicate(account_ids: Iterable[uuid.UUID]) -> None:
    """Send the current public profile of each account at home here to every other realm (in the transaction
    that changed it, so the outbox and the change commit together)."""
    if not realms.configured():
        return
    here = realms.current_realm()
    for row in User.objects.filter(id__in=list(account_ids), home_realm=here).values(*PROFILE_FIELDS):
        send("account.profile", **row)


def account_forget(account_id: uuid.UUID, home_realm: str) -> None:
    """The account is gone: every other realm drops its replica."""
    if realms.configured() and home_realm == realms.current_realm():
        send("account.gone", id=str(account_id))


def _sender_owns(delivery: Delivery, account: User | None) -> None:
    if account is not None and account.home_realm != delivery.source:
        raise GatewayRefused(
            f"realm {delivery.source!r} sent the profile of @{account.username}, who lives in {account.home_realm!r}"
        )


@kind(
    "account.profile",
    why="an account's public profile and counts, so other realms can show it and its public videos",
    fields={name: f"accounts.User.{name}" for name in PROFILE_FIELDS},
)
def profile_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    account_id = uuid.UUID(payload["id"])
    replica = User.objects.filter(id=account_id).first()
    _sender_owns(delivery, replica)
    if replica is not None and replica.replicated_at is not None and replica.replicated_at >= delivery.sent_at:
        return  # a newer state arrived first
    if replica is None:
        # No password (it can never sign in here), no address: the home realm keeps those.
        replica = User(id=account_id, email="", password=make_password(None))
    for name in PROFILE_FIELDS[1:]:
        setattr(replica, name, payload[name])
    replica.home_realm = delivery.source
    replica.replicated_at = delivery.sent_at
    replica.save()


@kind("account.gone", why="an account was deleted: its replicas go", fields={"id": "accounts.User.id"})
def gone_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    replica = User.objects.filter(id=uuid.UUID(payload["id"])).first()
    _sender_owns(delivery, replica)
    if replica is not None:
        replica.delete()
