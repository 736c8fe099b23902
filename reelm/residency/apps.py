from django.apps import AppConfig


class ResidencyConfig(AppConfig):
    name = "reelm.residency"
    label = "residency"
