"""Read-only views of the store configuration and of migration runs: an operator sees progress and failed objects.
Changes go through ``reelm storage migrate``, which keeps the two stores and the routing consistent."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from reelm.storage.models import MigrationObject, MigrationRun, StoreConfig, StoreProcess


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StoreConfig)
class StoreConfigAdmin(ReadOnlyAdmin):
    list_display = ("realm", "phase", "primary_url", "other_url", "version", "changed_at")


@admin.register(MigrationRun)
class MigrationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "realm", "source_url", "target_url", "state", "objects_verified", "objects_total", "objects_failed",
        "created_at", "switched_at", "aborted_at", "purged_at",
    )  # fmt: skip
    list_filter = ("state", "realm")


@admin.register(MigrationObject)
class MigrationObjectAdmin(ReadOnlyAdmin):
    list_display = ("key", "state", "size", "attempts", "error", "updated_at")
    list_filter = ("state", "run")
    search_fields = ("key", "error")
    list_select_related = ("run",)


@admin.register(StoreProcess)
class StoreProcessAdmin(ReadOnlyAdmin):
    """The running processes as they last reported, and whether each could use the store a migration asked about."""

    list_display = ("name", "role", "started_at", "seen_at", "answered", "answer_ok", "answer_error")
    list_filter = ("role", "answer_ok")
    list_select_related = ("answered",)
