from django.apps import AppConfig


class SiteConfig(AppConfig):
    """What composes several apps: the front page, video and profile pages, settings, export and deletion, health."""

    name = "reelm.site"
    label = "site"
