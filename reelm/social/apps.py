from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "reelm.social"
    label = "social"
    verbose_name = "Social"
