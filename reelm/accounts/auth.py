"""API authentication: a personal access token, or the browser's session (with its CSRF check)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from reelm.accounts.models import User
from reelm.accounts.services import token_authenticate


class AccessTokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


api_auth = [AccessTokenAuth(), django_auth]


def current_user(request: HttpRequest) -> User:
    """The authenticated account of a request that passed authentication."""
    user = request.user
    if not isinstance(user, User):
        raise AuthenticationError()
    return user


def viewer(request: HttpRequest) -> Any:
    """Who is looking, on endpoints open to everyone: the bearer of a valid token, else the session's user.

    Lets API clients read their own private videos and play their media with the token they already use.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = token_authenticate(header[7:].strip())
        if user is not None:
            request.user = user
    return request.user
