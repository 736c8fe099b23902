"""Block and mute reads: the one place that decides who is hidden from whom.

A block hides two accounts from each other whoever blocked whom, so every check here is symmetric. A mute is
one-way and soft: it only takes the muted account out of the muter's feeds and notifications.

Lists never check pair by pair: :func:`not_hidden` is an SQL condition (two correlated ``NOT EXISTS``) added to a
queryset, and :func:`hidden_author_ids` is one query for a viewer, whatever the number of blocks.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Value

from reelm.accounts.models import User
from reelm.accounts.selectors import user_get_by_username
from reelm.core.errors import NotFound
from reelm.social.models import Block, Follow, FollowStatus, Mute


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
    viewer. One query (a UNION) for any number of blocks and mutes."""
    if not _signed_in(viewer):
        return set()
    return _relations_of(viewer, follows=False, muted=muted)[1]


def followed_and_hidden(viewer: Any) -> tuple[set[Any], set[Any]]:
    """The accounts a signed-in viewer follows (accepted), and :func:`hidden_author_ids`: one query (a UNION),
    for a feed that needs both on every page."""
    return _relations_of(viewer, follows=True, muted=True)


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
