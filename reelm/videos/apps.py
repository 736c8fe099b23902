from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "reelm.videos"
    label = "videos"
