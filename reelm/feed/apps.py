from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "reelm.feed"
    label = "feed"
