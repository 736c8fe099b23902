from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "reelm.notifications"
    label = "notifications"

    def ready(self) -> None:
        from reelm.notifications import subscribers

        subscribers.subscribe()
