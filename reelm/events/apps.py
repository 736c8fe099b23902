from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "reelm.events"
    label = "events"
