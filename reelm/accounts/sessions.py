"""Sessions where realms are configured: each lives in its account's home realm, and its key starts with that
realm's name, so a request knows which realm it works for before it reads anything. The session is read and
written in the realm its key names, whatever realm the request goes on to work for (staff with emergency access
work for another realm; their session stays home)."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string

from reelm.core import realms

#: Session keys are at most 40 characters: the realm's name (at most 12), a dash, then this many random ones.
RANDOM_LENGTH = 27


def realm_of_key(key: str | None) -> str | None:
    """The realm a session key names, if it names a configured one."""
    name, dash, _rest = (key or "").partition("-")
    return name if dash and name in realms.config().realms else None


class SessionStore(DatabaseSessionStore):
    def _home(self, key: str | None = None) -> str:
        return realm_of_key(key or self._session_key) or realms.current_realm()

    def _get_new_session_key(self) -> str:
        prefix = f"{realms.current_realm()}-"
        while True:
            key = prefix + get_random_string(RANDOM_LENGTH, VALID_KEY_CHARS)
            if not self.exists(key):
                return key

    def _get_session_from_db(self) -> Any:
        with realms.working_for(self._home()):
            return super()._get_session_from_db()  # type: ignore[misc]

    def exists(self, session_key: str) -> bool:
        with realms.working_for(self._home(session_key)):
            return super().exists(session_key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        with realms.working_for(self._home()):
            return super().save(must_create=must_create)

    def delete(self, session_key: str | None = None) -> None:
        with realms.working_for(self._home(session_key)):
            return super().delete(session_key)
