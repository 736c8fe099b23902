"""Signing in where realms are configured: the directory says which realm holds the account, the password is
checked there, and the rest of the request works for that realm (so the new session is kept there)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from reelm.core import realms
from reelm.directory.selectors import entry_for_handle


class RealmBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        entry = entry_for_handle(username) if username else None
        if entry is None:
            # Unknown anywhere: still spend a password hash's time, so the answer does not tell who exists.
            return super().authenticate(request, username=username, password=password, **kwargs)
        with realms.working_for(entry.realm):
            user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            realms.bind(entry.realm)
        return user
