from django.apps import AppConfig


class TranscodeConfig(AppConfig):
    name = "reelm.transcode"
    label = "transcode"
