from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "reelm.notifications"
    label = "notifications"
