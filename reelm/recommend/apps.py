from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "reelm.recommend"
    label = "recommend"
    verbose_name = "Recommendations"
