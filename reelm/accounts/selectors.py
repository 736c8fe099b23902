from __future__ import annotations

from django.db.models import Q, QuerySet

from reelm.accounts.models import AccessToken, User
from reelm.core.errors import NotFound


def user_get_by_username(username: str) -> User:
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise NotFound("No such account.")
    return user


def users_by_usernames(usernames: set[str]) -> QuerySet[User]:
    """Accounts named in @mentions, matched without regard to case."""
    query = Q(pk__in=[])
    for name in usernames:
        query |= Q(username__iexact=name)
    return User.objects.filter(query, is_active=True)


def token_list(user: User) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(owner=user)


def avatar_url(user: User) -> str | None:
    if not user.avatar_key:
        return None
    return f"/media/{user.avatar_key}"
