"""Relation reads: who follows whom, and the one place that decides who is hidden from whom.

A block hides two accounts from each other whoever blocked whom, so every check here is symmetric. A mute is
one-way and soft: it only takes the muted account out of the muter's feeds and notifications.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet, Value

from reelm.accounts.models import User
from reelm.accounts.selectors import user_get_by_username
from reelm.core.cache import generation, generation_bump
from reelm.core.errors import Forbidden, NotFound
from reelm.relations.models import Block, Follow, FollowStatus, Mute


def _signed_in(viewer: Any) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def blocked_between(a_id: Any, b_id: Any) -> bool:
    """Either account blocks the other: one query."""
    if a_id is None or b_id is None or a_id == b_id:
        return False
    return Block.objects.filter(Q(owner_id=a_id, blocked_id=b_id) | Q(owner_id=b_id, blocked_id=a_id)).exists()


def muted_by(muter_id: Any, muted_id: Any) -> bool:
    return Mute.objects.filter(owner_id=muter_id, muted_id=muted_id).exists()


def blocked_ids(viewer: Any) -> set[Any]:
    """Accounts the viewer blocked or is blocked by: one query (none when signed out)."""
    return hidden_author_ids(viewer, muted=False)


def hidden_author_ids(viewer: Any, *, muted: bool = True) -> set[Any]:
    """Accounts whose videos leave this viewer's feeds: blocked either way and, with ``muted``, muted by the
    viewer (then from the cache, as :func:`followed_and_hidden`). One query (a UNION) for any number of blocks and
    mutes."""
    if not _signed_in(viewer):
        return set()
    if muted:
        return followed_and_hidden(viewer)[1]
    return _relations_of(viewer, follows=False, muted=False)[1]


#: Seconds a viewer's relations stay cached unread (a change retires them at once, whatever this is).
RELATIONS_TTL = 300


def followed_and_hidden(viewer: Any) -> tuple[set[Any], set[Any]]:
    """The accounts a signed-in viewer follows (accepted), and :func:`hidden_author_ids`: from the shared cache,
    else one query (a UNION), for a feed that needs both on every page.

    Lists never check pair by pair: :func:`not_hidden` is an SQL condition (two correlated ``NOT EXISTS``) added
    to a queryset, and :func:`hidden_author_ids` is one query for a viewer, whatever the number of blocks.

    Feeds read a viewer's follows, blocks and mutes on every page, so :func:`followed_and_hidden` keeps them in
    the shared cache under the viewer's relations generation. Every follow, block or mute saved or deleted (a
    signal, whoever writes it) and every follow accepted in bulk (:func:`relations_changed`) moves the
    generation of the accounts it concerns (both, for a block) once the change commits, so a page never misses a
    new block."""
    key = f"social:relations:{viewer.id.hex}:{generation(_generation_key(viewer.id))}"
    packed = cache.get(key)
    if packed is not None:
        return _unpack(packed[0]), _unpack(packed[1])
    followed, hidden = _relations_of(viewer, follows=True, muted=True)
    cache.set(key, (_pack(followed), _pack(hidden)), RELATIONS_TTL)
    return followed, hidden


def relations_changed(account_ids: Iterable[Any]) -> None:
    """Retire the cached relations of these accounts: call it after writing follows, blocks or mutes without a
    model signal (``QuerySet.update``)."""
    for account_id in set(account_ids):
        generation_bump(_generation_key(account_id))


def relation_saved_or_deleted(instance: Follow | Block | Mute, **_: Any) -> None:
    """Signal receiver: a follow or a mute changes what its owner's feeds show; a block, both accounts'."""
    relations_changed([instance.owner_id, instance.blocked_id] if isinstance(instance, Block) else [instance.owner_id])


def _generation_key(account_id: Any) -> str:
    # The "social:" prefix predates this app: processes still running the old code bump the same keys.
    return f"social:relations:{account_id.hex}:generation"


def _pack(ids: set[Any]) -> bytes:
    return b"".join(i.bytes for i in ids)


def _unpack(packed: bytes) -> set[uuid.UUID]:
    return {uuid.UUID(bytes=packed[at : at + 16]) for at in range(0, len(packed), 16)}


_FOLLOWS, _HIDES = 0, 1


def _relations_of(viewer: Any, *, follows: bool, muted: bool) -> tuple[set[Any], set[Any]]:
    """(followed, hidden) for the viewer, from one query over the parts asked for; blocks always."""
    follow_rows, block_rows, mute_rows = _relations()
    parts = [block_rows.filter(Q(owner_id=viewer.id) | Q(blocked_id=viewer.id))]
    if follows:
        parts.append(follow_rows.filter(owner_id=viewer.id))
    if muted:
        parts.append(mute_rows.filter(owner_id=viewer.id))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    followed: set[Any] = set()
    hidden: set[Any] = set()
    for owner, other, kind in rows:
        if kind == _FOLLOWS:
            followed.add(other)
        else:
            hidden.add(other if owner == viewer.id else owner)
    return followed, hidden


@functools.cache
def _relations() -> tuple[QuerySet[Any, tuple[Any, Any, int]], ...]:
    """Accepted follows, blocks and mutes as (owner, other, kind) rows, built once: each call only adds its filter
    (For You asks on every page, and building the values costs about as much as the filter)."""
    return (
        Follow.objects.order_by()
        .filter(status=FollowStatus.ACCEPTED)
        .values_list("owner_id", "followee_id", Value(_FOLLOWS)),
        Block.objects.order_by().values_list("owner_id", "blocked_id", Value(_HIDES)),
        Mute.objects.order_by().values_list("owner_id", "muted_id", Value(_HIDES)),
    )


def not_hidden(viewer: Any, field: str = "owner_id", *, muted: bool = False) -> Q:
    """An SQL condition on a queryset whose ``field`` is an account id: that account and the viewer do not block
    each other (and, with ``muted``, the viewer did not mute it). Always true when signed out."""
    if not _signed_in(viewer):
        return Q()
    condition = Q(~Exists(Block.objects.filter(owner_id=viewer.id, blocked_id=OuterRef(field)))) & Q(
        ~Exists(Block.objects.filter(owner_id=OuterRef(field), blocked_id=viewer.id))
    )
    if muted:
        condition &= Q(~Exists(Mute.objects.filter(owner_id=viewer.id, muted_id=OuterRef(field))))
    return condition


def account_get_for_viewer(username: str, viewer: Any) -> User:
    """An active account, unless it and the viewer block each other: then it is reported as missing."""
    account = user_get_by_username(username)
    if _signed_in(viewer) and blocked_between(viewer.id, account.id):
        raise NotFound("No such account.")
    return account


def blocks_of(account: User) -> QuerySet[Block]:
    return Block.objects.select_related("blocked").filter(owner=account).order_by("-id")


def mutes_of(account: User) -> QuerySet[Mute]:
    return Mute.objects.select_related("muted").filter(owner=account).order_by("-id")


# --- follows -------------------------------------------------------------------------------------------------


def follows(viewer: Any, account_id: Any) -> bool:
    """The viewer is an approved follower of the account."""
    if not _signed_in(viewer):
        return False
    return Follow.objects.filter(owner_id=viewer.id, followee_id=account_id, status=FollowStatus.ACCEPTED).exists()


def follow_status(viewer: Any, account: User) -> str | None:
    if not _signed_in(viewer):
        return None
    return Follow.objects.filter(owner_id=viewer.id, followee=account).values_list("status", flat=True).first()


def _check_lists_visible(account: User, viewer: Any) -> None:
    if not account.is_private:
        return
    if _signed_in(viewer) and (viewer.id == account.id or viewer.is_staff):
        return
    if not follows(viewer, account.id):
        raise Forbidden("This account is private.", code="private_account")


def followers_of(account: User, viewer: Any, *, before: uuid.UUID | None = None, limit: int = 50) -> list[Follow]:
    """Accepted follows of ``account`` (newest first); private accounts show them only to approved followers."""
    _check_lists_visible(account, viewer)
    queryset = Follow.objects.select_related("owner").filter(
        not_hidden(viewer, "owner_id"), followee=account, status=FollowStatus.ACCEPTED
    )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id")[:limit])


def following_of(account: User, viewer: Any, *, before: uuid.UUID | None = None, limit: int = 50) -> list[Follow]:
    _check_lists_visible(account, viewer)
    queryset = Follow.objects.select_related("followee").filter(
        not_hidden(viewer, "followee_id"), owner=account, status=FollowStatus.ACCEPTED
    )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id")[:limit])


def follow_requests_pending(account: User) -> QuerySet[Follow]:
    return Follow.objects.select_related("owner").filter(followee=account, status=FollowStatus.PENDING).order_by("-id")
