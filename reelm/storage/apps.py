from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "reelm.storage"
    label = "storage"
