from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "reelm.search"
    label = "search"
