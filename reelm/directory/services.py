"""Writes to the directory: reserving an account's handle and e-mail hash in its home realm, and letting them go."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from reelm.directory.models import Entry
from reelm.directory.selectors import email_hash


class Taken(ValueError):
    """The handle or the e-mail address belongs to another account (in any realm)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def entry_reserve(*, account_id: uuid.UUID, handle: str, email: str, realm: str) -> Entry:
    """Reserve ``handle`` and ``email`` for a new account whose home is ``realm``; :class:`Taken` if another
    account has either. Committed on its own: the account's own rows are written in its realm afterwards."""
    hashed = email_hash(email)
    if Entry.objects.filter(handle=handle.lower()).exists():
        raise Taken("username", "That username is taken.")
    if hashed and Entry.objects.filter(email_hash=hashed).exists():
        raise Taken("email", "That e-mail address is already used by another account.")
    try:
        with transaction.atomic(using=Entry.objects.db):
            return Entry.objects.create(account_id=account_id, handle=handle.lower(), email_hash=hashed, realm=realm)
    except IntegrityError:
        # Another sign-up took it between the check and the insert.
        raise Taken("username", "That username is taken.") from None


def entry_release(account_id: uuid.UUID) -> None:
    """Free an account's handle and e-mail (its sign-up failed, or the account was deleted)."""
    Entry.objects.filter(account_id=account_id).delete()


def entry_release_all(account_ids: list[uuid.UUID]) -> None:
    Entry.objects.filter(account_id__in=account_ids).delete()


def entry_sync(*, account_id: uuid.UUID, handle: str, email: str, realm: str) -> Entry:
    """Make the account's entry say ``handle`` and ``email`` (an operator changed them in the admin, or made the
    account there); :class:`Taken` if another account holds either."""
    hashed = email_hash(email)
    others = Entry.objects.exclude(account_id=account_id)
    if others.filter(handle=handle.lower()).exists():
        raise Taken("username", "That username is taken.")
    if hashed and others.filter(email_hash=hashed).exists():
        raise Taken("email", "That e-mail address is already used by another account.")
    try:
        with transaction.atomic(using=Entry.objects.db):
            entry, _ = Entry.objects.update_or_create(
                account_id=account_id,
                defaults={"handle": handle.lower(), "email_hash": hashed},
                create_defaults={"handle": handle.lower(), "email_hash": hashed, "realm": realm},
            )
            return entry
    except IntegrityError:
        raise Taken("username", "That username or e-mail address is taken.") from None
