from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from reelm.accounts.models import AccessToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "is_private")
    search_fields = ("username", "display_name", "email")
    # Privacy and the follow counters change only through reelm.social's services, which keep them consistent.
    readonly_fields = (
        "id", "avatar_key", "date_joined", "last_login", "is_private", "follower_count", "following_count",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("id", "username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "bio", "avatar_key")}),
        ("Social", {"fields": ("is_private", "follower_count", "following_count")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "owner__username", "prefix")
    readonly_fields = ("id", "owner", "prefix", "token_hash", "created_at", "last_used_at")
    list_select_related = ("owner",)
