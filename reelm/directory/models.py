from __future__ import annotations

from django.db import models

from reelm.core.scopes import Scope, scoped


@scoped(Scope.DIRECTORY, "handle uniqueness, a keyed hash of each e-mail, each account's home realm")
class Entry(models.Model):
    """One per account. The e-mail address itself stays in the home realm; only its keyed hash is here."""

    account_id = models.UUIDField(primary_key=True)
    #: The username in lower case: unique across every realm, whatever the case it was typed in.
    # NULL, not "", for "none": unique columns hold many NULLs but only one "".
    handle = models.CharField(max_length=30, unique=True, null=True)  # noqa: DJ001
    email_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    realm = models.CharField(max_length=12, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"@{self.handle} in {self.realm}"
