from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reelm.core"
    label = "core"
