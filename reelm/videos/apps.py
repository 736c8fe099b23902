from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from reelm.core import bus


class VideosConfig(AppConfig):
    name = "reelm.videos"
    label = "videos"

    def ready(self) -> None:
        from reelm.videos import replication
        from reelm.videos.models import Video

        replication.subscribe()
        post_save.connect(_video_changed, sender=Video, dispatch_uid="videos-changed-save")
        post_delete.connect(_video_changed, sender=Video, dispatch_uid="videos-changed-delete")


def _video_changed(instance: Any, **_: Any) -> None:
    bus.emit(bus.VideoChanged(video_id=instance.id, owner_id=instance.owner_id))
