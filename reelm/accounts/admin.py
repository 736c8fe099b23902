from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from reelm.accounts.models import AccessToken, User
from reelm.core import realms
from reelm.directory.services import entry_release, entry_release_all, entry_sync


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username", "display_name", "email", "home_realm", "is_active", "is_staff", "date_joined", "last_login",
    )  # fmt: skip
    list_filter = ("home_realm", "is_active", "is_staff", "is_superuser", "is_private")
    search_fields = ("username", "display_name", "email")
    # Privacy and the follow counters change only through reelm.social's services, which keep them consistent.
    readonly_fields = (
        "id", "home_realm", "avatar_key", "date_joined", "last_login", "is_private", "follower_count",
        "following_count",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("id", "home_realm", "username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "bio", "avatar_key")}),
        ("Social", {"fields": ("is_private", "follower_count", "following_count")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    # A replica of an account of another realm is that realm's to change: here it is read-only.
    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_replica)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_replica)

    # The form checked the directory (User.clean). The admin saves in a transaction on the realm's database, and
    # no transaction spans two databases: the directory follows once the account's change is committed.
    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        account_id, handle, email, realm = obj.id, obj.username, obj.email, realms.current_realm()
        realms.on_commit(lambda: entry_sync(account_id=account_id, handle=handle, email=email, realm=realm))

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        account_id = obj.id
        super().delete_model(request, obj)
        realms.on_commit(lambda: entry_release(account_id))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        super().delete_queryset(request, queryset)
        realms.on_commit(lambda: entry_release_all(ids))


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "owner__username", "prefix")
    readonly_fields = ("id", "owner", "prefix", "token_hash", "created_at", "last_used_at")
    list_select_related = ("owner",)
