"""Which store each realm uses, and the bookkeeping of a migration between two stores.

A realm with no ``StoreConfig`` row uses the store its settings name. The row appears when a migration starts and
stays afterwards: once a realm has been switched to a new store, the row (not the environment) says where its
media live.
"""

from __future__ import annotations

from django.db import models

from reelm.core.models import UUIDModel
from reelm.core.scopes import Scope, scoped

DEFAULT_REALM = "default"


class StorePhase(models.TextChoices):
    STEADY = "steady", "Steady: one store"
    MIGRATING = "migrating", "Migrating: writes go to both stores, reads fall back to the old one"
    SWITCHED = "switched", "Switched: the new store is primary, reads fall back to the old one until purge"


@scoped(Scope.PROTECTED, "the realm's own object store")
class StoreConfig(UUIDModel):
    realm = models.CharField(max_length=64, unique=True, default=DEFAULT_REALM)
    #: The store that holds everything: the old store while migrating, the new one once switched.
    primary_url = models.CharField(max_length=1000)
    #: While migrating: the new store. Once switched: the old store, kept as a read fallback until purge.
    other_url = models.CharField(max_length=1000, blank=True)
    phase = models.CharField(max_length=12, choices=StorePhase.choices, default=StorePhase.STEADY)
    #: Bumped on every change, so an operator (and a process) can tell one state from the next.
    version = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "store configuration"

    def __str__(self) -> str:
        return f"{self.realm}: {self.phase} v{self.version}"


class RunState(models.TextChoices):
    COPYING = "copying", "Copying"
    VERIFIED = "verified", "Copied and verified"
    SWITCHED = "switched", "Switched"
    PURGED = "purged", "Old copies purged (done)"
    ABORTED = "aborted", "Aborted: the realm went back to the old store"


@scoped(Scope.PROTECTED, "a move of the realm's media between stores")
class MigrationRun(UUIDModel):
    realm = models.CharField(max_length=64, default=DEFAULT_REALM)
    source_url = models.CharField(max_length=1000)
    target_url = models.CharField(max_length=1000)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.COPYING)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    switched_at = models.DateTimeField(null=True, blank=True)
    aborted_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    objects_total = models.PositiveBigIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(default=0)
    objects_verified = models.PositiveBigIntegerField(default=0)
    objects_failed = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["realm", "state"])]

    def __str__(self) -> str:
        return f"{self.realm}: {self.source_url} → {self.target_url} ({self.state})"


class ObjectState(models.TextChoices):
    PENDING = "pending", "Pending"
    COPIED = "copied", "Copied, not yet verified"
    VERIFIED = "verified", "Verified"
    FAILED = "failed", "Failed"
    GONE = "gone", "Deleted from the source during the migration"


@scoped(Scope.PROTECTED, "the objects of a move of the realm's media")
class MigrationObject(UUIDModel):
    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=1024)
    size = models.PositiveBigIntegerField(default=0)
    #: The source's ETag when listed: a changed ETag means the object was overwritten and must be copied again.
    source_etag = models.CharField(max_length=200, blank=True)
    #: SHA-256 of the bytes read from the source, computed while copying (ETags are not content hashes everywhere).
    sha256 = models.CharField(max_length=64, blank=True)
    #: The copy's ETag once verified: unchanged ETags on both sides let a later check skip re-reading the bytes.
    target_etag = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=ObjectState.choices, default=ObjectState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="storage_object_unique_key")]
        indexes = [models.Index(fields=["run", "state"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


@scoped(Scope.DIRECTORY, "a deployment-wide request that every process try a store (no user data)")
class StoreCheck(UUIDModel):
    """A request from ``reelm storage migrate`` that every running process try the store at ``url``."""

    url = models.CharField(max_length=1000)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"check of {self.url}"


@scoped(Scope.DIRECTORY, "the deployment's running processes and their answers (no user data)")
class StoreProcess(UUIDModel):
    """A running web or worker process, as it last reported itself, and its answer to the latest store check."""

    name = models.CharField(max_length=200, unique=True, help_text="host:pid")
    role = models.CharField(max_length=20)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    answered = models.ForeignKey(StoreCheck, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    answer_ok = models.BooleanField(null=True)
    answer_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "store processes"

    def __str__(self) -> str:
        return f"{self.role} {self.name}"
