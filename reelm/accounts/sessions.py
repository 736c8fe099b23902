"""Sessions where realms are configured: each lives in its account's home realm, and its key starts with that
realm's name, so a request knows which realm it works for before it reads anything."""

from __future__ import annotations

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
    def _get_new_session_key(self) -> str:
        prefix = f"{realms.current_realm()}-"
        while True:
            key = prefix + get_random_string(RANDOM_LENGTH, VALID_KEY_CHARS)
            if not self.exists(key):
                return key
