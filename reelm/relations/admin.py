"""Follows, blocks and mutes in the admin: browse only, since the services keep counters and side effects."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reelm.relations.models import Block, Follow, Mute


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows whose counters the services keep: browse them here, change them through the API."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "followee", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("owner__username", "followee__username")
    list_select_related = ("owner", "followee")
    raw_id_fields = ("owner", "followee")
    date_hierarchy = "created_at"


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are made and undone by the accounts themselves (``block_create`` also removes follows)."""

    list_display = ("id", "owner", "blocked", "created_at")
    search_fields = ("owner__username", "blocked__username")
    list_select_related = ("owner", "blocked")
    raw_id_fields = ("owner", "blocked")
    date_hierarchy = "created_at"


@admin.register(Mute)
class MuteAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "muted", "created_at")
    search_fields = ("owner__username", "muted__username")
    list_select_related = ("owner", "muted")
    raw_id_fields = ("owner", "muted")
    date_hierarchy = "created_at"
