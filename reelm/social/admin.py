"""Reactions and comments in the admin (follows, blocks and mutes are ``reelm.relations.admin``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from reelm.relations.admin import ReadOnlyAdmin
from reelm.social import services
from reelm.social.models import Bookmark, Comment, CommentLike, Like


class VideoReactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "video", "created_at")
    search_fields = ("owner__username", "video__id")
    list_filter = ("video__visibility",)
    list_select_related = ("owner", "video")
    raw_id_fields = ("owner", "video")
    date_hierarchy = "created_at"


admin.site.register([Like, Bookmark], VideoReactionAdmin)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "video", "short_body", "is_reply", "pinned", "like_count", "created_at")
    list_filter = ("pinned", ("parent", admin.EmptyFieldListFilter))
    search_fields = ("body", "owner__username", "video__id")
    list_select_related = ("owner", "video")
    raw_id_fields = ("owner", "video", "parent")
    readonly_fields = ("like_count", "created_at")
    date_hierarchy = "created_at"

    def delete_model(self, request: HttpRequest, obj: Comment) -> None:
        # Through the service, so the video's comment count follows.
        services.comment_delete(actor=request.user, comment=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment in queryset.select_related("video"):
            if Comment.objects.filter(id=comment.id).exists():  # a reply may have gone with its parent
                services.comment_delete(actor=request.user, comment=comment)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # counters are kept by the services

    @admin.display(description="body")
    def short_body(self, comment: Comment) -> str:
        return comment.body[:80]

    @admin.display(description="reply", boolean=True)
    def is_reply(self, comment: Comment) -> bool:
        return comment.parent_id is not None


@admin.register(CommentLike)
class CommentLikeAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "comment", "created_at")
    search_fields = ("owner__username", "comment__body")
    list_select_related = ("owner", "comment")
    raw_id_fields = ("owner", "comment")
