"""Reads of the directory: where an account lives, who holds a handle, and the keyed hash of an e-mail address."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from functools import cache

from django.conf import settings

from reelm.directory.models import Entry


@cache
def _email_key() -> bytes:
    configured: str = settings.REELM_DIRECTORY_KEY
    if configured:
        return configured.encode()
    # Derived rather than stored, so every process of a deployment computes the same hashes.
    return hmac.new(settings.SECRET_KEY.encode(), b"reelm directory e-mail", hashlib.sha256).digest()


def email_hash(email: str) -> str | None:
    """The keyed hash of ``email`` (trimmed, lower case), or None for no address. Without the key, the hash tells
    nothing about the address, not even whether a guessed one is in the directory."""
    normalised = email.strip().lower()
    if not normalised:
        return None
    return hmac.new(_email_key(), normalised.encode(), hashlib.sha256).hexdigest()


def home_realm(account_id: uuid.UUID | str) -> str | None:
    """The realm that holds the account's rows, or None for an account the directory does not know."""
    return Entry.objects.filter(account_id=account_id).values_list("realm", flat=True).first()


def entry_for_handle(handle: str) -> Entry | None:
    return Entry.objects.filter(handle=handle.strip().lower()).first()


def entry_for_email(email: str) -> Entry | None:
    hashed = email_hash(email)
    return Entry.objects.filter(email_hash=hashed).first() if hashed else None
