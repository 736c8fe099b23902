"""Anonymous For You pages, rendered once and shared for a couple of seconds.

Every anonymous visitor gets the same page for the same cursor, so the front page of a busy site is rendered
about once per interval instead of once per visitor. Any saved or deleted video or account moves a generation
number (``VideoChanged``, ``AccountChanged``, ``AccountPrivacyChanged``), which retires every cached page at once: a
video made private, deleted or whose author went private is never listed from the cache after the change commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache

from reelm.core import realms
from reelm.core.cache import generation as current_generation
from reelm.core.cache import generation_bump

SECONDS = 2
_PREFIX = "feed:anonymous:"


def _database() -> str:
    # Never share pages between databases (parallel test processes, say).
    return hashlib.sha256(str(realms.connection().settings_dict["NAME"]).encode()).hexdigest()[:16]


def _generation_key() -> str:
    return f"{_PREFIX}{_database()}:generation"


def anonymous_page(cursor: str | None, render: Callable[[], str]) -> str:
    generation = current_generation(_generation_key())
    digest = hashlib.sha256((cursor or "").encode()).hexdigest()[:32]
    key = f"{_PREFIX}{_database()}:{generation}:{digest}"
    body: str | None = cache.get(key)
    if body is None:
        body = render()
        cache.set(key, body, SECONDS)
    return body


def listing_changed(event: object = None) -> None:
    """A video or account changed (and committed): retire every cached page at once."""
    generation_bump(_generation_key())
