from django.contrib import admin

from reelm.recommend.models import CoEngagement, ModelState, NotInterested, Taste, VideoSignal


@admin.register(Taste)
class TasteAdmin(admin.ModelAdmin):
    list_display = ("owner", "personalised", "more_following", "more_new_creators", "impressions", "updated_at")
    list_filter = ("personalised", "languages_chosen")
    search_fields = ("owner__username",)
    raw_id_fields = ("owner",)
    readonly_fields = ("vector", "tag_affinity", "author_affinity", "impressions", "updated_at")


@admin.register(VideoSignal)
class VideoSignalAdmin(admin.ModelAdmin):
    list_display = ("video", "owner", "impressions", "completions", "skips", "updated_at")
    search_fields = ("video__caption", "owner__username")
    raw_id_fields = ("video", "owner")
    readonly_fields = ("vector", "impressions", "completions", "skips", "watched_ms", "updated_at")


@admin.register(NotInterested)
class NotInterestedAdmin(admin.ModelAdmin):
    list_display = ("owner", "scope", "target", "created_at")
    list_filter = ("scope",)
    search_fields = ("owner__username", "target")
    raw_id_fields = ("owner",)


@admin.register(CoEngagement)
class CoEngagementAdmin(admin.ModelAdmin):
    list_display = ("video", "neighbour", "score")
    raw_id_fields = ("video", "neighbour")


@admin.register(ModelState)
class ModelStateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "updated_at")
    readonly_fields = ("name", "data", "version", "updated_at")
