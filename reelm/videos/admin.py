from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from reelm.core.errors import Conflict
from reelm.videos import services
from reelm.videos.models import Hashtag, Video
from reelm.videos.states import InvalidTransition, VideoState


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "short_caption",
        "state",
        "failure_reason",
        "visibility",
        "language",
        "duration",
        "created_at",
    )
    list_filter = ("state", "visibility", "language", "owner__home_realm")

    # A replica of another realm's video is that realm's to change: here it is read-only.
    def has_change_permission(self, request: HttpRequest, obj: Video | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.owner.is_replica)

    def has_delete_permission(self, request: HttpRequest, obj: Video | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.owner.is_replica)

    search_fields = ("id", "caption", "owner__username", "failure_reason")
    list_select_related = ("owner",)
    readonly_fields = (
        "id", "owner", "state", "failure_reason", "watch_link", "source_key", "source_size", "source_sha256",
        "source_container", "source_codecs", "duration", "width", "height", "media_prefix", "attempt_prefix",
        "attempts", "lease_until", "playable_at", "ready_at", "renditions", "created_at", "updated_at",
    )  # fmt: skip
    fields = ("caption", "visibility", "language", *readonly_fields)
    actions = ["retry_transcode"]
    date_hierarchy = "created_at"

    @admin.display(description="caption")
    def short_caption(self, video: Video) -> str:
        return video.caption[:60]

    @admin.display(description="watch")
    def watch_link(self, video: Video) -> str:
        return format_html('<a href="/v/{}">/v/{}</a>', video.id, video.id)

    @admin.action(description="Retry transcoding of the selected failed videos")
    def retry_transcode(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        retried = skipped = 0
        for video in queryset:
            if video.state != VideoState.FAILED:
                skipped += 1
                continue
            try:
                services.video_retry(video=video)
                retried += 1
            except (Conflict, InvalidTransition):
                skipped += 1
        self.message_user(request, f"Queued {retried} video(s) for transcoding.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} video(s) that were not failed.", messages.WARNING)


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
